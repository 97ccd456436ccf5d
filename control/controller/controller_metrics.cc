// SPDX-License-Identifier: Apache-2.0
#include "control/controller/controller_metrics.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace switchyard::controller {
namespace {

// The object counts of the last version seen.
struct ObjectCache {
  absl::Mutex mu;
  std::optional<uint64_t> version ABSL_GUARDED_BY(mu);
  std::map<std::string, size_t> counts ABSL_GUARDED_BY(mu);
};

}  // namespace

std::string CodeName(int code) {
  // absl's names ("INVALID_ARGUMENT") are gRPC's too.
  std::string name =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? absl::StrCat("CODE_", code) : name;
}

ControllerMetrics ControllerMetrics::Register(metrics::Registry& registry) {
  ControllerMetrics m;
  m.writes_applied = &registry.AddCounter(
      "switchyard_controller_writes_applied_total",
      "Writes (Apply, Delete) accepted and made durable.", {"op"});
  m.writes_rejected = &registry.AddCounter(
      "switchyard_controller_writes_rejected_total",
      "Writes refused, by gRPC code (INVALID_ARGUMENT: validation).",
      {"op", "code"});
  m.write_latency = &registry.AddHistogram(
      "switchyard_controller_write_latency_seconds",
      "Time to validate, apply and durably record one write, rejected ones "
      "included.",
      metrics::LatencyBuckets(), {"op"});
  m.programming_latency = &registry.AddHistogram(
      "switchyard_controller_programming_latency_seconds",
      "From a write's arrival at this controller to a node's ack of it (its "
      "maps programmed), once per node and write; a write that reached a "
      "node folded into a later update counts at that update's ack.",
      metrics::LatencyBuckets());
  m.programming_latency->With({});  // shown empty until the first ack
  m.watching_agents = &registry
                           .AddGauge("switchyard_controller_watching_agents",
                                     "Agents' watch streams open now.")
                           .Get();
  m.watch_streams = &registry.AddCounter(
      "switchyard_controller_watch_streams_total",
      "Watch streams an agent opened (its first connect and every "
      "reconnect), by node.",
      {"node"});
  m.node_rejections = &registry.AddCounter(
      "switchyard_controller_node_rejected_versions_total",
      "Updates a node's agent failed to apply and rejected.", {"node"});
  // Both operations exist from the start, so rate() has a zero to start
  // from.
  for (const char* op : {"apply", "delete"}) {
    m.writes_applied->With({op});
    m.write_latency->With({op});
  }
  return m;
}

void AddControllerCollector(metrics::Registry& registry,
                            ControllerSources sources) {
  auto cache = std::make_shared<ObjectCache>();
  registry.AddCollector([sources = std::move(sources),
                         cache](std::vector<metrics::MetricFamily>& out) {
    const uint64_t version = sources.version();
    metrics::MetricFamily current{"switchyard_controller_version",
                                  "The cluster state's current version.",
                                  metrics::MetricType::kGauge,
                                  {}};
    current.Add({}, version);
    out.push_back(std::move(current));

    metrics::MetricFamily objects{"switchyard_controller_objects",
                                  "Objects stored, by kind.",
                                  metrics::MetricType::kGauge,
                                  {}};
    {
      absl::MutexLock lock(&cache->mu);
      if (cache->version != version) {
        cache->counts = sources.objects_by_kind();
        cache->version = version;
      }
      for (const auto& [kind, n] : cache->counts) {
        objects.Add({{"kind", kind}}, n);
      }
    }
    out.push_back(std::move(objects));

    metrics::MetricFamily acked{"switchyard_controller_node_acked_version",
                                "The last version each node's agent applied.",
                                metrics::MetricType::kGauge,
                                {}};
    metrics::MetricFamily lag{
        "switchyard_controller_node_lag_versions",
        "Versions each node's agent is behind the current one.",
        metrics::MetricType::kGauge,
        {}};
    metrics::MetricFamily connected{
        "switchyard_controller_node_connected",
        "1 while the node's agent has a watch stream open.",
        metrics::MetricType::kGauge,
        {}};
    for (const v1::NodeSync& node : sources.nodes()) {
      metrics::Labels labels = {{"node", node.node_name()}};
      acked.Add(labels, node.acked_version());
      lag.Add(labels, version > node.acked_version()
                          ? version - node.acked_version()
                          : 0);
      connected.Add(std::move(labels), node.connected() ? 1 : 0);
    }
    out.push_back(std::move(acked));
    out.push_back(std::move(lag));
    out.push_back(std::move(connected));
  });
}

}  // namespace switchyard::controller
