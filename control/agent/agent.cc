// SPDX-License-Identifier: Apache-2.0
#include "control/agent/agent.h"

#include <malloc.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "control/agent/ct_sweeper.h"
#include "control/agent/datapath_collector.h"
#include "control/agent/lc_recount.h"
#include "control/common/ipv4.h"
#include "control/common/log.h"
#include "control/kernel/pod_program_pins.h"

namespace switchyard::agent {
namespace {

sync::Capacity CapacityOf(const kernel::DatapathConfig& c) {
  return {c.max_frontends, c.max_slots, c.max_backends, c.max_source_ranges,
          c.max_maglev_tables};
}

}  // namespace

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(AgentConfig config) {
  if (absl::Status s = Resolve(config); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<kernel::Datapath>> datapath =
      kernel::Datapath::Load(config.datapath);
  if (!datapath.ok()) return datapath.status();
  std::unique_ptr<Agent> agent(new Agent(config, std::move(*datapath)));
  if (absl::Status s = agent->Start(); !s.ok()) return s;
  return agent;
}

absl::Status Agent::Resolve(AgentConfig& config) {
  if (config.node_name.empty()) {
    return absl::InvalidArgumentError("the agent needs its node name");
  }
  config.datapath.pin_dir =
      absl::StrCat(config.pin_root, "/", config.node_name);
  if (config.external_devices.empty()) return absl::OkStatus();
  if (config.node_port_addrs_be.empty()) {
    config.node_port_addrs_be = AddressesOf(config.external_devices);
  }
  if (config.node_port_addrs_be.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "external devices ", absl::StrJoin(config.external_devices, ","),
        " have no IPv4 address to serve NodePorts on; give "
        "--node_port_addresses"));
  }
  // Flows sent on to another node's endpoint leave with the first
  // NodePort address, so the replies come back to this node.
  if (config.datapath.snat_addr_be == 0) {
    config.datapath.snat_addr_be = config.node_port_addrs_be.front();
  }
  return absl::OkStatus();
}

Agent::Agent(AgentConfig config, std::unique_ptr<kernel::Datapath> datapath)
    : config_(std::move(config)),
      datapath_(std::move(datapath)),
      writer_(&datapath_->maps()),
      batches_(&datapath_->maps()),
      batching_writer_(&writer_, &batches_),
      reconciler_(&batching_writer_, CapacityOf(config_.datapath),
                  {config_.node_name, config_.node_port_addrs_be,
                   config_.default_lb_policy, config_.maglev_table_size},
                  /*health_checks=*/!config_.external_devices.empty()),
      interfaces_(datapath_.get(), config_.pod_interfaces,
                  config_.external_devices),
      metrics_(AgentMetrics::Register(registry_)) {}

absl::Status Agent::Start() {
  // Whatever an earlier agent programmed stays in force: adopted, not
  // flushed, so forwarding never pauses; the first snapshot removes only
  // what has gone stale meanwhile.
  absl::StatusOr<sync::ProgrammedEntries> programmed =
      ReadProgrammed(datapath_->maps());
  if (!programmed.ok()) return programmed.status();
  reconciler_.Adopt(*programmed);
  PublishCounts(reconciler_.counts());
  LOG(INFO) << "datapath features: " << datapath_->features().Summary();
  PublishFeatures();
  LOG(INFO) << "datapath loaded, maps in " << config_.datapath.pin_dir
            << "; adopted " << programmed->frontends.size() << " frontends, "
            << programmed->backends.size() << " backends";
  // yard-cni attaches these to a pod's interface before the pod runs;
  // pinned at every start so it always finds this agent's build.
  if (!config_.datapath.pin_dir.empty()) {
    if (absl::Status s = kernel::PinPodPrograms(config_.datapath.pin_dir,
                                                datapath_->from_pod_fd(),
                                                datapath_->to_pod_fd());
        !s.ok()) {
      return s;
    }
  }
  // Subscribed before the first pass: an interface created meanwhile is
  // announced, not missed until the next rescan.
  absl::StatusOr<kernel::LinkEventSocket> link_events =
      kernel::LinkEventSocket::Open();
  if (!link_events.ok()) return link_events.status();
  link_events_ = std::move(*link_events);
  // An interface that fails to attach now (it may be vanishing) is retried
  // by the interface watcher; it must not keep the agent from serving the
  // others.
  if (absl::Status s = AttachNewInterfaces(); !s.ok()) {
    LOG(WARNING) << "not every pod interface attached yet: " << s;
  }
  if (!config_.external_devices.empty()) {
    health_checks_ =
        std::make_unique<HealthCheckServers>(config_.node_port_addrs_be);
    std::vector<std::string> addrs;
    for (uint32_t a : config_.node_port_addrs_be) {
      addrs.push_back(FormatIpv4(a));
    }
    LOG(INFO) << "NodePorts on " << absl::StrJoin(addrs, ", ")
              << "; flows to other nodes' endpoints leave from "
              << FormatIpv4(config_.datapath.snat_addr_be);
  }
  return StartMetrics();
}

absl::Status Agent::StartMetrics() {
  AddDatapathCollector(
      registry_,
      {.maps = &datapath_->maps(),
       .pin_dir = config_.datapath.pin_dir,
       .service_names =
           [this](std::map<translate::FrontendKey, std::string>& names) {
             return reconciler_.TryServiceNames(names);
           },
       .agent = &metrics_,
       .ct_sample_interval = config_.ct_sample_interval});
  if (absl::Status s = registry_.status(); !s.ok()) return s;
  if (config_.metrics_listen.empty()) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<metrics::HttpServer>> server =
      metrics::StartMetricsServer({.listen = config_.metrics_listen},
                                  &registry_);
  if (!server.ok()) return server.status();
  metrics_server_ = std::move(*server);
  return absl::OkStatus();
}

void Agent::PublishCounts(const sync::ProgrammedCounts& counts) {
  metrics_.frontends->Set(counts.frontends);
  metrics_.slots->Set(counts.slots);
  metrics_.backends->Set(counts.backends);
}

Applied Agent::HandleUpdate(const v1::WatchResponse& update) {
  const std::vector<std::string> kind = {UpdateKind(update.snapshot())};
  sync::ReconcileOutcome out = reconciler_.Apply(update);
  metrics_.map_writes->Increment(out.writes);
  PublishCounts(out.counts);
  if (!out.status.ok()) {
    metrics_.updates_rejected->With(kind).Increment();
    metrics_.applied_version->Set(0);
    return out.status;
  }
  if (out.health_checks_changed) ServeHealthChecks();
  metrics_.sync_latency->With(kind).Observe(out.took);
  metrics_.updates_applied->With(kind).Increment();
  metrics_.applied_version->Set(out.version);
  // A large update's scratch space is freed by now, but glibc keeps freed
  // heap mapped unless asked; at 10,000 services that is most of the
  // agent's resident memory. Trimming takes milliseconds there.
  const bool trim =
      out.full || update.upserts_size() + update.deletes_size() > 1000;
  return {absl::OkStatus(), [out = std::move(out), trim] {
            LOG(INFO) << "applied version " << out.version
                      << (out.full ? " (full)" : "") << " in "
                      << absl::FormatDuration(out.took) << ": " << out.writes
                      << " map writes; " << out.counts.frontends
                      << " frontends, " << out.counts.slots << " slots, "
                      << out.counts.backends << " backends";
            for (const std::string& skipped : out.skipped) {
              LOG(WARNING) << "not programmed: " << skipped;
            }
            if (trim) malloc_trim(0);
          }};
}

void Agent::ServeHealthChecks() {
  if (!health_checks_) return;
  std::vector<HealthCheckService> wanted;
  for (const translate::HealthCheck& check : reconciler_.health_checks()) {
    std::vector<std::string> name = absl::StrSplit(check.service, '/');
    wanted.push_back(
        {name.front(), name.back(), check.port, check.local_endpoints});
  }
  // A port that cannot be bound is logged and tried again with the next
  // update; the datapath does not depend on it.
  if (absl::Status s = health_checks_->Update(wanted); !s.ok()) {
    reconciler_.HealthChecksNotServed();
    LOG(WARNING) << "health-check node ports: " << s;
  }
}

void Agent::PublishFeatures() {
  kernel::FeatureSet features = datapath_->features();
  const std::map<std::string, std::string>& xdp_failed =
      interfaces_.xdp_failed();
  if (features.on(kernel::Feature::kXdp) && !xdp_failed.empty()) {
    std::vector<std::string> failed;
    for (const auto& [name, error] : xdp_failed) {
      failed.push_back(absl::StrCat(name, ": ", error));
    }
    features.Set(kernel::Feature::kXdp, YARD_FEATURE_OFF_PARTLY,
                 absl::StrCat("tc only on ", absl::StrJoin(failed, "; ")));
  }
  if (absl::Status s = datapath_->PublishFeatures(features); !s.ok()) {
    LOG(WARNING) << "datapath features: " << s;
  }
  for (kernel::Feature f : kernel::AllFeatures()) {
    bool in_use = features.state(f) == YARD_FEATURE_ON;
    metrics_.datapath_feature->With({std::string(kernel::FeatureName(f))})
        .Set(in_use ? 1 : 0);
  }
}

absl::Status Agent::AttachNewInterfaces() {
  return Report(interfaces_.AttachNew());
}

absl::Status Agent::Report(const AttachResult& result) {
  if (result.external_changed) PublishFeatures();
  metrics_.interfaces_attached->Set(interfaces_.pod_interfaces());
  return result.status;
}

void Agent::WatchInterfaces() {
  // How long one wait for link events lasts: also how soon Stop() is
  // noticed.
  constexpr absl::Duration kWait = absl::Milliseconds(200);
  absl::Time next_rescan = absl::Now() + config_.interface_rescan;
  while (!stop_.HasBeenNotified()) {
    absl::StatusOr<kernel::LinkEvents> events = link_events_->Read(kWait);
    if (!events.ok()) {
      // Not expected of a netlink socket; the rescan still finds
      // interfaces, only later.
      LOG(WARNING) << "link events: " << events.status();
      stop_.WaitForNotificationWithTimeout(kWait);
    } else if (events->overrun || !events->events.empty()) {
      Report(interfaces_.OnLinkEvents(*events)).IgnoreError();
    }
    if (absl::Now() >= next_rescan) {
      AttachNewInterfaces().IgnoreError();
      next_rescan = absl::Now() + config_.interface_rescan;
    }
  }
}

void Agent::SweepFlows() {
  if (config_.ct_sweep_interval <= absl::ZeroDuration()) return;
  const kernel::CtTimeouts timeouts{
      .udp_s = config_.datapath.udp_timeout_s,
      .tcp_idle_s = config_.datapath.tcp_idle_timeout_s,
      .tcp_close_s = config_.datapath.tcp_close_timeout_s};
  LeastConnRecount recount;
  while (!stop_.WaitForNotificationWithTimeout(config_.ct_sweep_interval)) {
    absl::StatusOr<uint64_t> swept =
        SweepExpiredFlows(datapath_->maps(), timeouts, MonotonicNowNs());
    if (swept.ok()) {
      metrics_.ct_swept->Increment(*swept);
    } else {
      LOG(WARNING) << "sweeping expired flows: " << swept.status();
    }
    // Flows that expired or were evicted leave their least-connection
    // counts behind: put them right (lc_recount.h).
    absl::StatusOr<std::vector<LcCorrection>> corrected = RecountLeastConn(
        datapath_->maps(), recount, timeouts, MonotonicNowNs());
    if (!corrected.ok()) {
      LOG(WARNING) << "recounting least-connection flows: "
                   << corrected.status();
    }
  }
}

void Agent::Run() {
  watch_ = std::make_unique<WatchClient>(
      WatchClientConfig{.controllers = config_.controllers,
                        .node_name = config_.node_name,
                        .tls = config_.controller_tls},
      [this](const v1::WatchResponse& u) { return HandleUpdate(u); },
      [this] { return reconciler_.Resume(); },
      WatchClientMetrics{metrics_.stream_connects,
                         metrics_.controller_connected});
  std::thread interfaces([this] { WatchInterfaces(); });
  std::thread sweeper([this] { SweepFlows(); });
  watch_->Run();
  interfaces.join();
  sweeper.join();
}

void Agent::Stop() {
  stop_.Notify();
  if (watch_) watch_->Stop();
}

}  // namespace switchyard::agent
