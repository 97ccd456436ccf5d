// SPDX-License-Identifier: Apache-2.0
// Node and pod namespaces as the e2e tests wire them: a node that forwards,
// and pods joined to it by a veth, each with a /32 and routes both ways.
#ifndef SWITCHYARD_TESTS_E2E_SUPPORT_TOPOLOGY_H_
#define SWITCHYARD_TESTS_E2E_SUPPORT_TOPOLOGY_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tests/netns/netns.h"

namespace switchyard::e2e {

// ip_forward on, rp_filter off: rp_filter may be inherited from the host,
// and a node must forward whatever its pods (and other nodes) send.
absl::Status EnableForwarding(const netns::Namespace& node);

// Joins `pod` to `node` the way a CNI would: a veth `host_dev` (node side)
// / eth0 (pod side); `gateway`/32 on host_dev and a /32 route to `pod_ip`
// through it; `pod_ip`/32 on eth0 with an on-link route to the gateway and
// the default route via it. Every pod shares the gateway address, so no
// per-pod subnet is needed.
absl::Status WirePod(const netns::Namespace& node, const std::string& host_dev,
                     const netns::Namespace& pod, absl::string_view pod_ip,
                     absl::string_view gateway);

// A node namespace NamePrefix() + `name` that forwards (EnableForwarding).
absl::StatusOr<std::unique_ptr<netns::Namespace>> CreateNode(
    absl::string_view name);

// A pod namespace NamePrefix() + `name`, wired to `node` by WirePod.
absl::StatusOr<std::unique_ptr<netns::Namespace>> CreatePod(
    const netns::Namespace& node, absl::string_view name,
    const std::string& host_dev, absl::string_view pod_ip,
    absl::string_view gateway);

}  // namespace switchyard::e2e

#endif  // SWITCHYARD_TESTS_E2E_SUPPORT_TOPOLOGY_H_
