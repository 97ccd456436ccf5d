// SPDX-License-Identifier: Apache-2.0
// yard-agent's metrics that change as things happen: updates from the
// controller, map writes, the watch stream, attached interfaces. The agent
// updates them in place; values read from the kernel at scrape time are in
// datapath_collector.h.
#ifndef SWITCHYARD_CONTROL_AGENT_AGENT_METRICS_H_
#define SWITCHYARD_CONTROL_AGENT_AGENT_METRICS_H_

#include "control/metrics/registry.h"

namespace switchyard::agent {

struct AgentMetrics {
  // Registers them all in `registry` (which must outlive the pointers).
  static AgentMetrics Register(metrics::Registry& registry);

  // Label `update`: "snapshot" or "delta", as the controller sent it.
  metrics::Family<metrics::Histogram>* sync_latency = nullptr;
  metrics::Family<metrics::Counter>* updates_applied = nullptr;
  metrics::Family<metrics::Counter>* updates_rejected = nullptr;
  metrics::Gauge* applied_version = nullptr;
  metrics::Counter* map_writes = nullptr;
  // What the programmer holds (adopted entries included).
  metrics::Gauge* frontends = nullptr;
  metrics::Gauge* slots = nullptr;
  metrics::Gauge* backends = nullptr;
  metrics::Counter* stream_connects = nullptr;
  // Label `address`: each configured controller, 1 for the one whose
  // watch stream is up.
  metrics::Family<metrics::Gauge>* controller_connected = nullptr;
  metrics::Gauge* interfaces_attached = nullptr;
  // Label `feature` (xdp, coarse_clock, north_south, stack_bypass): 1
  // while the datapath uses it (on every device, for xdp), else 0.
  metrics::Family<metrics::Gauge>* datapath_feature = nullptr;
  // Expired flow entries the sweeper deleted from yard_ct4.
  metrics::Counter* ct_swept = nullptr;
};

// The `update` label of a message from the controller.
inline const char* UpdateKind(bool snapshot) {
  return snapshot ? "snapshot" : "delta";
}

}  // namespace switchyard::agent

#endif  // SWITCHYARD_CONTROL_AGENT_AGENT_METRICS_H_
