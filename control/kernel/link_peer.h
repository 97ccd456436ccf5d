// SPDX-License-Identifier: Apache-2.0
// The other end of a veth (or the lower device of a macvlan/ipvlan):
// IFLA_LINK of an interface, asked of the kernel over rtnetlink. yard-cni
// uses it to find the node side of a pod's eth0 when the previous plugin's
// result does not say which host interface is the pod's.
#ifndef SWITCHYARD_CONTROL_KERNEL_LINK_PEER_H_
#define SWITCHYARD_CONTROL_KERNEL_LINK_PEER_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::kernel {

// IFLA_LINK of interface `name` in the calling thread's network namespace:
// for a veth, its peer's ifindex in the peer's namespace. NOT_FOUND when
// the interface does not exist or has no link (not a veth).
absl::StatusOr<int> LinkPeerIndex(absl::string_view name);

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_LINK_PEER_H_
