// SPDX-License-Identifier: Apache-2.0
// yard-agent's metrics that change as things happen: updates from the
// controller, map writes, the watch stream, attached interfaces. The agent
// updates them in place; values read from the kernel at scrape time are in
// datapath_collector.h.
#ifndef SWITCHYARD_CONTROL_METRICS_AGENT_METRICS_H_
#define SWITCHYARD_CONTROL_METRICS_AGENT_METRICS_H_

#include "control/metrics/registry.h"

namespace switchyard::metrics {

struct AgentMetrics {
  // Registers them all in `registry` (which must outlive the pointers).
  static AgentMetrics Register(Registry& registry);

  // Label `update`: "snapshot" or "delta", as the controller sent it.
  Family<Histogram>* sync_latency = nullptr;
  Family<Counter>* updates_applied = nullptr;
  Family<Counter>* updates_rejected = nullptr;
  Gauge* applied_version = nullptr;
  Counter* map_writes = nullptr;
  // What the programmer holds (adopted entries included).
  Gauge* frontends = nullptr;
  Gauge* slots = nullptr;
  Gauge* backends = nullptr;
  Counter* stream_connects = nullptr;
  Gauge* controller_connected = nullptr;
  Gauge* interfaces_attached = nullptr;
  // Label `feature` (xdp, coarse_clock, north_south): 1 while the
  // datapath uses it (on every device, for xdp), else 0.
  Family<Gauge>* datapath_feature = nullptr;
  // Expired flow entries the sweeper deleted from yard_ct4.
  Counter* ct_swept = nullptr;
};

// The `update` label of a message from the controller.
inline const char* UpdateKind(bool snapshot) {
  return snapshot ? "snapshot" : "delta";
}

}  // namespace switchyard::metrics

#endif  // SWITCHYARD_CONTROL_METRICS_AGENT_METRICS_H_
