// SPDX-License-Identifier: Apache-2.0
// Which node-side interface is a pod's: the one Switchyard's pod programs
// go on. Found two ways, because main plugins report it differently: the
// peer of the pod's interface (CNI_IFNAME in CNI_NETNS), which the kernel
// knows for a veth whatever the result says; and, when there is no peer
// to ask (not a veth), the one interface of prevResult without a sandbox.
// A bridge plugin lists the bridge itself without a sandbox too, which is
// why the peer is asked first.
#ifndef SWITCHYARD_CONTROL_CNI_HOST_INTERFACE_H_
#define SWITCHYARD_CONTROL_CNI_HOST_INTERFACE_H_

#include <string>

#include "absl/status/statusor.h"
#include "control/cni/cni_config.h"

namespace switchyard::cni {

struct HostInterface {
  std::string name;
  int ifindex = 0;
};

// In the calling thread's (the node's) network namespace.
absl::StatusOr<HostInterface> FindHostInterface(const PluginConfig& config,
                                                const CniRequest& request);

}  // namespace switchyard::cni

#endif  // SWITCHYARD_CONTROL_CNI_HOST_INTERFACE_H_
