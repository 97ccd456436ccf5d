// SPDX-License-Identifier: Apache-2.0
// Cluster state -> the entries one node's datapath should hold. Pure C++:
// unit-tested without a kernel.
#ifndef SWITCHYARD_CONTROL_TRANSLATE_TRANSLATE_H_
#define SWITCHYARD_CONTROL_TRANSLATE_TRANSLATE_H_

#include <string>
#include <vector>

#include "control/translate/cluster_state.h"
#include "control/translate/desired_state.h"

namespace switchyard::translate {

struct NodeContext {
  std::string node_name;  // for internalTrafficPolicy: Local
};

struct Translation {
  DesiredState desired;
  // Objects or fields that could not be programmed and were skipped (an
  // IPv6 clusterIP, an SCTP port, ...), for logs and status, not errors:
  // the rest of the cluster must still be served.
  std::vector<std::string> skipped;
};

Translation Translate(const ClusterState& state, const NodeContext& node);

}  // namespace switchyard::translate

#endif  // SWITCHYARD_CONTROL_TRANSLATE_TRANSLATE_H_
