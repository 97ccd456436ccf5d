// SPDX-License-Identifier: Apache-2.0
// yard-cni's commands, as a chained CNI plugin run after the main plugin
// (bridge, ptp ...) has made the pod's interface:
//   ADD      attaches Switchyard's pod programs (pinned by the agent) to the
//            pod's node-side interface, before the pod's first packet, and
//            passes prevResult on as its result. Fails with "try again
//            later" (code 11) while no agent has pinned them (the node is
//            starting): the kubelet then retries the pod, which is better
//            than a pod whose first packets leave untranslated.
//   CHECK    verifies the interface runs Switchyard's pod programs.
//   DEL      nothing: the filters go with the interface.
//   VERSION  0.4.0 and 1.0.0.
#ifndef SWITCHYARD_CONTROL_CNI_PLUGIN_H_
#define SWITCHYARD_CONTROL_CNI_PLUGIN_H_

#include <string>
#include <variant>

#include "absl/strings/string_view.h"
#include "control/cni/cni_config.h"

namespace switchyard::cni {

struct PluginOutput {
  std::string stdout_text;  // a result, an error object, or nothing
  int exit_code = 0;
};

// One invocation: the environment already read, stdin's configuration.
PluginOutput RunPlugin(const CniRequest& request, absl::string_view stdin_json);

// The folder the node's agent pins in: <bpffs_root>/<node_name>, or the
// only node folder under bpffs_root holding pinned pod programs.
std::variant<std::string, CniError> ResolvePinDir(const PluginConfig& config);

}  // namespace switchyard::cni

#endif  // SWITCHYARD_CONTROL_CNI_PLUGIN_H_
