// SPDX-License-Identifier: Apache-2.0
// Wiring a pod the way a CNI plugin does, but from inside the test process
// over rtnetlink rather than by running `ip` (which takes ~12 ms a run on
// a loaded two-core machine): a veth whose peer goes straight into the
// pod's namespace, addresses, links up, routes. Each call acts in the
// calling thread's network namespace (run it inside Namespace::Run), so a
// pod can be made and sending within a millisecond or two of its veth's
// creation, as a fast runtime makes it.
#ifndef SWITCHYARD_TESTS_E2E_SUPPORT_FAST_LINKS_H_
#define SWITCHYARD_TESTS_E2E_SUPPORT_FAST_LINKS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::e2e {

// A veth `name` here whose peer `peer_name` is created directly in the
// network namespace at `peer_netns_path` (/run/netns/...). Returns the
// ifindex of `name`.
absl::StatusOr<int> AddVethInto(absl::string_view name,
                                absl::string_view peer_name,
                                const std::string& peer_netns_path);

// `address`/`prefix` on the interface (address in dotted form).
absl::Status AddAddress(int ifindex, absl::string_view address, int prefix);

absl::Status SetLinkUp(int ifindex);

// A route to `dst`/`prefix` out of `ifindex`; through `gateway` unless it
// is empty (then on-link, scope link).
absl::Status AddRoute(absl::string_view dst, int prefix, int ifindex,
                      absl::string_view gateway = "");

}  // namespace switchyard::e2e

#endif  // SWITCHYARD_TESTS_E2E_SUPPORT_FAST_LINKS_H_
