// SPDX-License-Identifier: Apache-2.0
// yard-controller's metrics: writes as they happen, and at scrape time the
// store's version, its objects and every node's sync state. The sources
// are functions so this library needs neither the store nor the server.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_CONTROLLER_METRICS_H_
#define SWITCHYARD_CONTROL_CONTROLLER_CONTROLLER_METRICS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "control/metrics/registry.h"
#include "switchyard/v1/controller.pb.h"

namespace switchyard::controller {

struct ControllerMetrics {
  // Registers them all in `registry` (which must outlive the pointers).
  static ControllerMetrics Register(metrics::Registry& registry);

  // Label `op`: "apply" or "delete"; `code`: the gRPC code name.
  metrics::Family<metrics::Counter>* writes_applied = nullptr;   // {op}
  metrics::Family<metrics::Counter>* writes_rejected = nullptr;  // {op, code}
  metrics::Family<metrics::Histogram>* write_latency = nullptr;  // {op}
  metrics::Gauge* watching_agents = nullptr;  // open watch streams
  metrics::Family<metrics::Counter>* watch_streams =
      nullptr;  // {node}: (re)connects
  metrics::Family<metrics::Counter>* node_rejections = nullptr;  // {node}
  // No labels: per node it would be a histogram per node on every scrape.
  metrics::Family<metrics::Histogram>* programming_latency = nullptr;
};

struct ControllerSources {
  std::function<uint64_t()> version;
  // Objects by kind ("Service", "EndpointSlice", "Node") at `version`.
  // Called only when the version moved since the last scrape: counting
  // means listing the store.
  std::function<std::map<std::string, size_t>()> objects_by_kind;
  std::function<std::vector<v1::NodeSync>()> nodes;
};

// Adds the scrape-time families; the sources must outlive the registry's
// last Render().
void AddControllerCollector(metrics::Registry& registry,
                            ControllerSources sources);

// "INVALID_ARGUMENT", "UNAVAILABLE"...: the `code` label of a status code
// (absl and gRPC share the numbers).
std::string CodeName(int code);

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_CONTROLLER_METRICS_H_
