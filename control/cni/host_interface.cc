// SPDX-License-Identifier: Apache-2.0
#include "control/cni/host_interface.h"

#include <net/if.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/kernel/link_peer.h"
#include "control/kernel/netns_scope.h"

namespace switchyard::cni {
namespace {

// The pod interface's peer index, asked inside the pod's namespace.
absl::StatusOr<int> PeerOfPodInterface(const CniRequest& request) {
  absl::StatusOr<std::unique_ptr<kernel::NetnsScope>> scope =
      kernel::NetnsScope::Enter(request.netns);
  if (!scope.ok()) return scope.status();
  return kernel::LinkPeerIndex(request.ifname);
}

}  // namespace

absl::StatusOr<HostInterface> FindHostInterface(const PluginConfig& config,
                                                const CniRequest& request) {
  absl::StatusOr<int> peer = PeerOfPodInterface(request);
  if (peer.ok()) {
    char name[IF_NAMESIZE] = {};
    // The index is the peer's in the peer's namespace: in this one it may
    // name another device (a plugin that put the peer elsewhere). When
    // prevResult lists host interfaces, the peer must be one of them.
    if (if_indextoname(*peer, name) != nullptr &&
        (config.host_interfaces.empty() ||
         std::find(config.host_interfaces.begin(), config.host_interfaces.end(),
                   name) != config.host_interfaces.end())) {
      return HostInterface{name, *peer};
    }
  }
  if (config.host_interfaces.size() == 1) {
    const std::string& name = config.host_interfaces.front();
    int ifindex = static_cast<int>(if_nametoindex(name.c_str()));
    if (ifindex == 0) {
      return absl::NotFoundError(absl::StrCat(
          "prevResult names host interface ", name, ", which does not exist"));
    }
    return HostInterface{name, ifindex};
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "cannot tell the pod's host-side interface: ", request.ifname, " in ",
      request.netns, " has no peer in this namespace (",
      peer.ok() ? "it is elsewhere" : peer.status().message(),
      ") and prevResult lists ", config.host_interfaces.size(),
      " host interfaces (", absl::StrJoin(config.host_interfaces, ", "),
      ") where one was needed"));
}

}  // namespace switchyard::cni
