// SPDX-License-Identifier: Apache-2.0
#include "control/controller/kube_source_metrics.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "control/kube/resources.h"

namespace switchyard::controller {
namespace {

metrics::MetricFamily Family(const char* name, const char* help,
                             metrics::MetricType type) {
  return metrics::MetricFamily{name, help, type, {}};
}

}  // namespace

void AddKubeSourceCollector(metrics::Registry& registry,
                            const KubeSource* source) {
  registry.AddCollector([source](std::vector<metrics::MetricFamily>& out) {
    using metrics::MetricType;
    KubeSourceStats stats = source->stats();
    auto synced = Family("switchyard_controller_kube_synced",
                         "1 once the resource has been listed from the "
                         "Kubernetes API server.",
                         MetricType::kGauge);
    auto version = Family(
        "switchyard_controller_kube_resource_version",
        "The resourceVersion the resource's watch resumes from (when it is "
        "a number, as etcd's are).",
        MetricType::kGauge);
    auto lists = Family("switchyard_controller_kube_lists_total",
                        "Complete lists (every page) of the resource.",
                        MetricType::kCounter);
    auto relists = Family(
        "switchyard_controller_kube_relists_total",
        "Lists forced by 410 Gone: the watch's version was compacted away.",
        MetricType::kCounter);
    auto watches =
        Family("switchyard_controller_kube_watch_requests_total",
               "Watch requests made to the API server.", MetricType::kCounter);
    auto events = Family("switchyard_controller_kube_events_total",
                         "ADDED, MODIFIED and DELETED events applied.",
                         MetricType::kCounter);
    auto failures = Family(
        "switchyard_controller_kube_failures_total",
        "Failed lists and watches, and events that could not be decoded.",
        MetricType::kCounter);
    for (size_t i = 0; i < stats.resources.size(); ++i) {
      const kube::ReflectorStats& r = stats.resources[i];
      metrics::Labels labels = {
          {"resource", std::string(kube::kResources[i].plural)}};
      synced.Add(labels, r.synced ? 1 : 0);
      double number = 0;
      if (absl::SimpleAtod(r.resource_version, &number)) {
        version.Add(labels, number);
      }
      lists.Add(labels, static_cast<double>(r.lists));
      relists.Add(labels, static_cast<double>(r.relists));
      watches.Add(labels, static_cast<double>(r.watches));
      events.Add(labels, static_cast<double>(r.events));
      failures.Add(std::move(labels), static_cast<double>(r.failures));
    }
    auto skipped =
        Family("switchyard_controller_kube_objects_skipped_total",
               "Objects this proxy does not serve (another proxy's, IPv6, "
               "headless), as listed or watched.",
               MetricType::kCounter);
    skipped.Add({}, static_cast<double>(stats.skipped));
    auto rejected = Family(
        "switchyard_controller_kube_objects_rejected_total",
        "Objects the controller could not take (logged with the reason).",
        MetricType::kCounter);
    rejected.Add({}, static_cast<double>(stats.rejected));
    for (auto* family : {&synced, &version, &lists, &relists, &watches, &events,
                         &failures, &skipped, &rejected}) {
      out.push_back(std::move(*family));
    }
  });
}

}  // namespace switchyard::controller
