// SPDX-License-Identifier: Apache-2.0
#include "control/agent/datapath_collector.h"

#include <netinet/in.h>

#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "control/common/ipv4.h"
#include "control/common/log.h"
#include "control/kernel/map_usage.h"
#include "control/names/protocol_names.h"
#include "control/names/reason_names.h"
#include "control/translate/frontend_key_abi.h"

namespace switchyard::agent {
namespace {

// What the collector keeps between scrapes.
struct State {
  absl::Mutex mu;
  std::map<translate::FrontendKey, std::string> names ABSL_GUARDED_BY(mu);
  std::optional<kernel::MapCapacity> capacity ABSL_GUARDED_BY(mu);
  std::optional<uint64_t> ct_entries ABSL_GUARDED_BY(mu);
  absl::Time ct_sampled ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  absl::Time last_error_log ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  double read_errors ABSL_GUARDED_BY(mu) = 0;
};

// One scrape's families and the reads that failed on the way.
struct Scrape {
  metrics::MetricFamily entries{
      "switchyard_datapath_map_entries",
      "Entries in use in each datapath map (yard_ct4: "
      "sampled, at most every --metrics_ct_interval).",
      metrics::MetricType::kGauge,
      {}};
  metrics::MetricFamily capacity{"switchyard_datapath_map_capacity",
                                 "max_entries of each datapath map.",
                                 metrics::MetricType::kGauge,
                                 {}};
  metrics::MetricFamily packets{
      "switchyard_datapath_service_packets_total",
      "Packets translated per frontend: forward (client to "
      "service) and reply (backend to client).",
      metrics::MetricType::kCounter,
      {}};
  metrics::MetricFamily bytes{
      "switchyard_datapath_service_bytes_total",
      "Bytes (L2 headers included) translated per frontend.",
      metrics::MetricType::kCounter,
      {}};
  metrics::MetricFamily reason_packets{
      "switchyard_datapath_reason_packets_total",
      "Packets the datapath counted under a reason instead of translating "
      "them, by reason and verdict (pass, drop, reject).",
      metrics::MetricType::kCounter,
      {}};
  metrics::MetricFamily reason_bytes{"switchyard_datapath_reason_bytes_total",
                                     "Bytes of those packets, by reason.",
                                     metrics::MetricType::kCounter,
                                     {}};
  int errors = 0;
  absl::Status first_error;

  void Failed(const absl::Status& status) {
    if (errors++ == 0) first_error = status;
  }
};

class Collector {
 public:
  explicit Collector(DatapathCollectorConfig config)
      : config_(std::move(config)), state_(std::make_shared<State>()) {}

  void operator()(std::vector<metrics::MetricFamily>& out) const {
    State& s = *state_;
    absl::MutexLock lock(&s.mu);
    Scrape scrape;
    AddTraffic(s, scrape);
    AddFill(s, scrape);
    AddReasons(scrape);

    metrics::MetricFamily read_errors{
        "switchyard_datapath_read_errors_total",
        "Datapath map reads that failed while scraping "
        "(details in the agent's log).",
        metrics::MetricType::kCounter,
        {}};
    s.read_errors += scrape.errors;
    read_errors.Add({}, s.read_errors);
    // At most once a minute: a broken map would otherwise log per scrape.
    if (scrape.errors > 0 &&
        absl::Now() - s.last_error_log > absl::Minutes(1)) {
      s.last_error_log = absl::Now();
      LOG(WARNING) << "metrics: " << scrape.errors
                   << " datapath reads failed; first: " << scrape.first_error;
    }
    for (metrics::MetricFamily* family :
         {&scrape.entries, &scrape.capacity, &scrape.packets, &scrape.bytes,
          &scrape.reason_packets, &scrape.reason_bytes, &read_errors}) {
      out.push_back(std::move(*family));
    }
  }

 private:
  // Per-frontend counters, and the entries of yard_svc4 and yard_rnat4
  // counted on the way.
  void AddTraffic(State& s, Scrape& scrape) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
    if (config_.service_names) config_.service_names(s.names);
    auto frontends = config_.maps->DumpFrontends();
    if (!frontends.ok()) {
      scrape.Failed(frontends.status());
      return;
    }
    std::set<uint32_t> rev_nat_ids;
    for (const auto& [key, value] : *frontends) {
      if (value.rev_nat_id == 0) continue;  // wildcard: never translates
      rev_nat_ids.insert(value.rev_nat_id);
      absl::StatusOr<yard_svc_stats> stats =
          config_.maps->ServiceStats(value.rev_nat_id);
      if (!stats.ok()) {
        scrape.Failed(stats.status());
        continue;
      }
      auto name = s.names.find(translate::FromSvc4Key(key));
      // Unknown for entries adopted from an earlier agent and not yet
      // matched by a snapshot.
      std::string service = name == s.names.end() ? "" : name->second;
      std::string frontend =
          absl::StrCat(FormatIpv4(key.addr), ":", ntohs(key.port), "/",
                       names::ProtoName(key.proto));
      for (auto [direction, counter] :
           {std::pair{"forward", stats->forward}, {"reply", stats->reply}}) {
        metrics::Labels labels = {{"service", service},
                                  {"frontend", frontend},
                                  {"direction", direction}};
        scrape.packets.Add(labels, counter.packets);
        scrape.bytes.Add(std::move(labels), counter.bytes);
      }
    }
    scrape.entries.Add({{"map", YARD_MAP_SVC4}}, frontends->size());
    scrape.entries.Add({{"map", YARD_MAP_RNAT4}}, rev_nat_ids.size());
  }

  void AddFill(State& s, Scrape& scrape) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
    scrape.entries.Add({{"map", YARD_MAP_SLOTS}},
                       config_.agent->slots->value());
    scrape.entries.Add({{"map", YARD_MAP_BACKEND4}},
                       config_.agent->backends->value());
    if (config_.ct_sample_interval > absl::ZeroDuration() &&
        absl::Now() - s.ct_sampled >= config_.ct_sample_interval) {
      s.ct_sampled = absl::Now();
      absl::StatusOr<std::vector<kernel::MapUsage>> usage =
          kernel::ReadMapUsage(config_.pin_dir);
      if (usage.ok()) {
        for (const kernel::MapUsage& map : *usage) {
          if (map.name == YARD_MAP_CT4 && map.entries) {
            s.ct_entries = *map.entries;
          }
        }
      } else {
        scrape.Failed(usage.status());
      }
    }
    if (s.ct_entries) {
      scrape.entries.Add({{"map", YARD_MAP_CT4}}, *s.ct_entries);
    }

    if (!s.capacity) {
      // Fixed once the maps exist: read once.
      absl::StatusOr<kernel::MapCapacity> c = config_.maps->Capacity();
      if (!c.ok()) {
        scrape.Failed(c.status());
        return;
      }
      s.capacity = *c;
    }
    // yard_rnat4 is sized as yard_svc4 (kernel/datapath.cc): at most one
    // reverse-NAT entry per frontend.
    for (auto [map, n] : {std::pair{YARD_MAP_SVC4, s.capacity->frontends},
                          {YARD_MAP_SLOTS, s.capacity->slots},
                          {YARD_MAP_BACKEND4, s.capacity->backends},
                          {YARD_MAP_RNAT4, s.capacity->frontends},
                          {YARD_MAP_CT4, s.capacity->ct_entries}}) {
      scrape.capacity.Add({{"map", map}}, n);
    }
  }

  void AddReasons(Scrape& scrape) const {
    for (int reason = YARD_REASON_NONE + 1; reason < YARD_REASON_MAX;
         ++reason) {
      absl::StatusOr<yard_counter> counter =
          config_.maps->ReasonCounter(static_cast<yard_reason>(reason));
      if (!counter.ok()) {
        scrape.Failed(counter.status());
        continue;
      }
      const names::ReasonInfo& info = names::DescribeReason(reason);
      metrics::Labels labels = {{"reason", std::string(info.name)},
                                {"verdict", std::string(info.action)}};
      scrape.reason_packets.Add(labels, counter->packets);
      scrape.reason_bytes.Add(std::move(labels), counter->bytes);
    }
  }

  DatapathCollectorConfig config_;
  // Shared: the registry copies its collectors when it renders.
  std::shared_ptr<State> state_;
};

}  // namespace

void AddDatapathCollector(metrics::Registry& registry,
                          DatapathCollectorConfig config) {
  registry.AddCollector(Collector(std::move(config)));
}

}  // namespace switchyard::agent
