// SPDX-License-Identifier: Apache-2.0
// Finds the node's pod-facing interfaces and external devices by name and
// attaches the datapath to those not attached yet, as the kernel announces
// them (link events) and at a full rescan: tc on pod interfaces;
// XDP (where it attaches) and tc on external devices. Remembers on which
// external devices XDP failed, which is what the agent reports as the xdp
// feature being "partly" in use.
#ifndef SWITCHYARD_CONTROL_AGENT_INTERFACE_ATTACHER_H_
#define SWITCHYARD_CONTROL_AGENT_INTERFACE_ATTACHER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "control/kernel/datapath.h"
#include "control/kernel/link_events.h"

namespace switchyard::agent {

// Every IPv4 address (network order) of the named devices, in the order
// found: the NodePort addresses when none are given.
std::vector<uint32_t> AddressesOf(const std::vector<std::string>& devices);

// True when `name` matches one of the shell patterns (fnmatch).
bool MatchesAny(const std::vector<std::string>& patterns,
                const std::string& name);

struct AttachResult {
  // Some attach failed (the interface may be vanishing); the next pass
  // tries it again.
  absl::Status status;
  // An external device was attached or went away: the XDP failures
  // (xdp_failed()) may have changed.
  bool external_changed = false;
};

// Not thread-safe: one thread at a time (start-up, then the watcher).
class InterfaceAttacher {
 public:
  InterfaceAttacher(kernel::Datapath* datapath,
                    std::vector<std::string> pod_patterns,
                    std::vector<std::string> external_patterns)
      : datapath_(datapath),
        pod_patterns_(std::move(pod_patterns)),
        external_patterns_(std::move(external_patterns)) {}

  // Attaches to matching interfaces present now and not attached yet, and
  // forgets those that went away.
  AttachResult AttachNew();

  // What the kernel announced: a new pod interface is attached at once,
  // on its own (no listing of every interface, so the delay stays the same
  // on a node with hundreds of pods); anything else that concerns us (an
  // external device, a removal, lost notifications) takes a full AttachNew.
  AttachResult OnLinkEvents(const kernel::LinkEvents& events);

  size_t pod_interfaces() const { return attached_.size(); }
  // External devices on which XDP could not attach (tc serves them): name
  // -> why.
  const std::map<std::string, std::string>& xdp_failed() const {
    return xdp_failed_;
  }

 private:
  // ifindex -> name of every interface present now.
  static absl::StatusOr<std::map<int, std::string>> Present();
  bool AttachExternal(const std::map<int, std::string>& present,
                      absl::Status& result);
  void AttachPods(const std::map<int, std::string>& present,
                  absl::Status& result);
  void AttachPod(int ifindex, const std::string& name, absl::Status& result);

  kernel::Datapath* datapath_;
  std::vector<std::string> pod_patterns_;
  std::vector<std::string> external_patterns_;
  std::map<int, std::string> attached_;           // ifindex -> name
  std::map<int, std::string> external_attached_;  // ifindex -> name
  std::map<std::string, std::string> xdp_failed_;
};

}  // namespace switchyard::agent

#endif  // SWITCHYARD_CONTROL_AGENT_INTERFACE_ATTACHER_H_
