// SPDX-License-Identifier: Apache-2.0
#include "control/agent/agent_metrics.h"

#include <string>
#include <vector>

namespace switchyard::agent {

AgentMetrics AgentMetrics::Register(metrics::Registry& registry) {
  AgentMetrics m;
  m.sync_latency = &registry.AddHistogram(
      "switchyard_agent_sync_latency_seconds",
      "Time to apply one update from the controller (state, translation, map "
      "writes), for updates that were applied.",
      metrics::LatencyBuckets(), {"update"});
  m.updates_applied = &registry.AddCounter(
      "switchyard_agent_updates_applied_total",
      "Updates from the controller applied and acknowledged.", {"update"});
  m.updates_rejected = &registry.AddCounter(
      "switchyard_agent_updates_rejected_total",
      "Updates from the controller that failed and were rejected (the next "
      "connection asks for a snapshot).",
      {"update"});
  m.applied_version = &registry
                           .AddGauge("switchyard_agent_applied_version",
                                     "Cluster-state version the datapath "
                                     "holds; 0 before the first snapshot and "
                                     "after a failed update.")
                           .Get();
  m.map_writes = &registry
                      .AddCounter("switchyard_agent_map_writes_total",
                                  "BPF map writes (updates and deletes) made "
                                  "to program updates.")
                      .Get();
  m.frontends = &registry
                     .AddGauge("switchyard_agent_programmed_frontends",
                               "Frontends programmed in yard_svc4, wildcard "
                               "entries of service addresses included.")
                     .Get();
  m.slots = &registry
                 .AddGauge("switchyard_agent_programmed_slots",
                           "Endpoint slots programmed in yard_slots.")
                 .Get();
  m.backends = &registry
                    .AddGauge("switchyard_agent_programmed_backends",
                              "Backends programmed in yard_be4.")
                    .Get();
  m.stream_connects = &registry
                           .AddCounter("switchyard_agent_stream_connects_total",
                                       "Watch streams opened to the "
                                       "controller: the first, then every "
                                       "reconnect.")
                           .Get();
  m.controller_connected = &registry.AddGauge(
      "switchyard_agent_controller_connected",
      "1 while the watch stream to this controller is up (it has answered "
      "on it), else 0; one series per configured controller address.",
      {"address"});
  m.interfaces_attached =
      &registry
           .AddGauge("switchyard_agent_interfaces_attached",
                     "Pod-facing interfaces the datapath is attached to.")
           .Get();
  m.datapath_feature = &registry.AddGauge(
      "switchyard_agent_datapath_feature",
      "1 while the datapath uses this optional kernel feature, else 0 (off "
      "by configuration, refused by the kernel, or for xdp not attached on "
      "every external device); yardctl status says why.",
      {"feature"});
  m.ct_swept = &registry
                    .AddCounter("switchyard_agent_ct_swept_total",
                                "Expired connection-tracking entries "
                                "reclaimed from yard_ct4 by the sweeper.")
                    .Get();
  // Both kinds exist from the start, so rate() has a zero to start from.
  for (bool snapshot : {true, false}) {
    const std::vector<std::string> kind = {UpdateKind(snapshot)};
    m.sync_latency->With(kind);
    m.updates_applied->With(kind);
    m.updates_rejected->With(kind);
  }
  return m;
}

}  // namespace switchyard::agent
