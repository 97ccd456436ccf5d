// SPDX-License-Identifier: Apache-2.0
#include "control/agent/agent.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <ifaddrs.h>
#include <malloc.h>
#include <net/if.h>
#include <netinet/in.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "control/agent/ct_sweeper.h"
#include "control/common/ipv4.h"
#include "control/common/log.h"
#include "control/metrics/datapath_collector.h"
#include "control/translate/translate.h"

namespace switchyard::agent {
namespace {

sync::Capacity CapacityOf(const kernel::DatapathConfig& c) {
  return {c.max_frontends, c.max_slots, c.max_backends, c.max_source_ranges};
}

// Every IPv4 address of the named devices, in the order found.
std::vector<uint32_t> AddressesOf(const std::vector<std::string>& devices) {
  std::vector<uint32_t> out;
  struct ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return out;
  for (const std::string& device : devices) {
    for (struct ifaddrs* a = all; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET ||
          device != a->ifa_name) {
        continue;
      }
      out.push_back(
          reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
    }
  }
  freeifaddrs(all);
  return out;
}

bool Matches(const std::vector<std::string>& patterns, const char* name) {
  for (const std::string& p : patterns) {
    if (fnmatch(p.c_str(), name, 0) == 0) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(AgentConfig config) {
  if (config.node_name.empty()) {
    return absl::InvalidArgumentError("the agent needs its node name");
  }
  config.datapath.pin_dir =
      absl::StrCat(config.pin_root, "/", config.node_name);
  if (!config.external_devices.empty()) {
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
  }
  absl::StatusOr<std::unique_ptr<kernel::Datapath>> datapath =
      kernel::Datapath::Load(config.datapath);
  if (!datapath.ok()) return datapath.status();
  std::unique_ptr<Agent> agent(new Agent(config, std::move(*datapath)));

  // Whatever an earlier agent programmed stays in force: adopted, not
  // flushed, so forwarding never pauses; the first snapshot removes only
  // what has gone stale meanwhile.
  absl::StatusOr<sync::ProgrammedEntries> programmed =
      ReadProgrammed(agent->datapath_->maps());
  if (!programmed.ok()) return programmed.status();
  {
    absl::MutexLock lock(&agent->mu_);
    agent->programmer_.Adopt(*programmed);
    agent->PublishCounts();
  }
  LOG(INFO) << "datapath features: " << agent->datapath_->features().Summary();
  agent->PublishFeatures();
  LOG(INFO) << "datapath loaded, maps in " << config.datapath.pin_dir
            << "; adopted " << programmed->frontends.size() << " frontends, "
            << programmed->backends.size() << " backends";
  // An interface that fails to attach now (it may be vanishing) is retried
  // by the interface watcher; it must not keep the agent from serving the
  // others.
  if (absl::Status s = agent->AttachNewInterfaces(); !s.ok()) {
    LOG(WARNING) << "not every pod interface attached yet: " << s;
  }
  if (!config.external_devices.empty()) {
    agent->health_checks_ =
        std::make_unique<HealthCheckServers>(config.node_port_addrs_be);
    std::vector<std::string> addrs;
    for (uint32_t a : config.node_port_addrs_be) {
      addrs.push_back(FormatIpv4(a));
    }
    LOG(INFO) << "NodePorts on " << absl::StrJoin(addrs, ", ")
              << "; flows to other nodes' endpoints leave from "
              << FormatIpv4(config.datapath.snat_addr_be);
  }
  if (absl::Status s = agent->StartMetrics(); !s.ok()) return s;
  return agent;
}

Agent::Agent(AgentConfig config, std::unique_ptr<kernel::Datapath> datapath)
    : config_(std::move(config)),
      datapath_(std::move(datapath)),
      writer_(&datapath_->maps()),
      programmer_(&writer_, CapacityOf(config_.datapath)),
      metrics_(metrics::AgentMetrics::Register(registry_)) {}

absl::Status Agent::StartMetrics() {
  metrics::AddDatapathCollector(
      registry_,
      {.maps = &datapath_->maps(),
       .pin_dir = config_.datapath.pin_dir,
       .service_names =
           [this](std::map<translate::FrontendKey, std::string>& names) {
             // Never wait behind an update being applied: a snapshot of a
             // large cluster takes seconds.
             if (!mu_.TryLock()) return false;
             names.clear();
             for (const auto& [key, frontend] : desired_.desired().frontends) {
               if (!frontend.service.empty()) names[key] = frontend.service;
             }
             mu_.Unlock();
             return true;
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

void Agent::PublishCounts() {
  sync::ProgrammedCounts counts = programmer_.counts();
  metrics_.frontends->Set(counts.frontends);
  metrics_.slots->Set(counts.slots);
  metrics_.backends->Set(counts.backends);
}

absl::Status Agent::HandleUpdate(const v1::WatchResponse& update) {
  absl::Time start = absl::Now();
  const std::vector<std::string> kind = {
      metrics::UpdateKind(update.snapshot())};
  absl::MutexLock lock(&mu_);
  std::set<std::string> affected = state_.AffectedServices(update);
  if (absl::Status s = state_.Apply(update); !s.ok()) {
    applied_version_ = 0;
    reconciled_ = false;
    metrics_.updates_rejected->With(kind).Increment();
    metrics_.applied_version->Set(0);
    return s;
  }
  translate::NodeContext node{config_.node_name, config_.node_port_addrs_be};
  // A snapshot, or anything after a failure, reconciles every entry; a
  // delta only the services it touches.
  bool full = update.snapshot() || !reconciled_;
  translate::DesiredChange change =
      full ? desired_.Rebuild(state_, node)
           : desired_.Update(state_, node, affected);
  absl::Status s = full ? programmer_.Apply(desired_.desired())
                        : programmer_.Apply(desired_.desired(), change);
  absl::Duration took = absl::Now() - start;
  reconciled_ = s.ok();
  metrics_.map_writes->Increment(programmer_.last_writes());
  PublishCounts();
  if (!s.ok()) {
    applied_version_ = 0;
    metrics_.updates_rejected->With(kind).Increment();
    metrics_.applied_version->Set(0);
    return s;
  }
  applied_version_ = update.version();
  UpdateHealthChecks(full, affected);
  metrics_.sync_latency->With(kind).Observe(took);
  metrics_.updates_applied->With(kind).Increment();
  metrics_.applied_version->Set(update.version());
  sync::ProgrammedCounts counts = programmer_.counts();
  LOG(INFO) << "applied version " << update.version() << (full ? " (full)" : "")
            << " in " << absl::FormatDuration(took) << ": "
            << programmer_.last_writes() << " map writes; " << counts.frontends
            << " frontends, " << counts.slots << " slots, " << counts.backends
            << " backends";
  if (full) {
    for (const std::string& skipped : desired_.skipped()) {
      LOG(WARNING) << "not programmed: " << skipped;
    }
  }
  // A large update's message and scratch space are freed by now, but glibc
  // keeps freed heap mapped unless asked; at 10,000 services that is most
  // of the agent's resident memory.
  if (full || update.upserts_size() + update.deletes_size() > 1000) {
    malloc_trim(0);
  }
  return absl::OkStatus();
}

void Agent::UpdateHealthChecks(bool full,
                               const std::set<std::string>& services) {
  if (!health_checks_) return;
  translate::NodeContext node{config_.node_name, config_.node_port_addrs_be};
  bool changed = false;
  auto refresh = [&](const std::string& key) {
    std::optional<translate::HealthCheck> check =
        translate::HealthCheckOf(state_, key, node);
    auto it = checks_.find(key);
    if (!check) {
      if (it != checks_.end()) {
        checks_.erase(it);
        changed = true;
      }
    } else if (it == checks_.end() || !(it->second == *check)) {
      checks_[key] = *std::move(check);
      changed = true;
    }
  };
  if (full) {
    std::set<std::string> keys;
    for (const auto& [key, check] : checks_) keys.insert(key);
    for (const auto& [key, service] : state_.services()) keys.insert(key);
    for (const std::string& key : keys) refresh(key);
  } else {
    for (const std::string& key : services) refresh(key);
  }
  if (!changed && checks_served_) return;
  std::vector<HealthCheckService> wanted;
  for (const auto& [key, check] : checks_) {
    std::vector<std::string> name = absl::StrSplit(key, '/');
    wanted.push_back(
        {name.front(), name.back(), check.port, check.local_endpoints});
  }
  // A port that cannot be bound is logged and tried again with the next
  // update; the datapath does not depend on it.
  absl::Status s = health_checks_->Update(wanted);
  checks_served_ = s.ok();
  if (!s.ok()) LOG(WARNING) << "health-check node ports: " << s;
}

void Agent::PublishFeatures() {
  kernel::FeatureSet features = datapath_->features();
  if (features.on(kernel::Feature::kXdp) && !xdp_failed_.empty()) {
    std::vector<std::string> failed;
    for (const auto& [name, error] : xdp_failed_) {
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

uint64_t Agent::ResumeVersion() {
  absl::MutexLock lock(&mu_);
  return applied_version_;
}

absl::Status Agent::AttachNewInterfaces() {
  struct if_nameindex* all = if_nameindex();
  if (all == nullptr) return absl::InternalError("if_nameindex failed");
  std::map<int, std::string> present;
  for (struct if_nameindex* i = all; i->if_index != 0; ++i) {
    present[i->if_index] = i->if_name;
  }
  if_freenameindex(all);

  absl::Status result = absl::OkStatus();
  bool features_changed = false;
  for (const auto& [ifindex, name] : present) {
    if (!Matches(config_.external_devices, name.c_str())) continue;
    auto it = external_attached_.find(ifindex);
    if (it != external_attached_.end() && it->second == name) continue;
    std::string xdp_error;
    absl::StatusOr<std::optional<kernel::XdpMode>> mode =
        datapath_->AttachExternalDevice(ifindex, &xdp_error);
    if (mode.ok()) {
      external_attached_[ifindex] = name;
      std::string how = "tc only";
      if (mode->has_value()) {
        how = **mode == kernel::XdpMode::kNative ? "XDP native" : "XDP generic";
        xdp_failed_.erase(name);
      } else if (!xdp_error.empty()) {
        xdp_failed_[name] = xdp_error;
        how = absl::StrCat("tc only: ", xdp_error);
      }
      LOG(INFO) << "attached to external device " << name << " (ifindex "
                << ifindex << ", " << how << ")";
      features_changed = true;
    } else {
      LOG(WARNING) << "attach to external device " << name << ": "
                   << mode.status();
      result.Update(mode.status());
    }
  }
  std::erase_if(external_attached_, [&](const auto& entry) {
    return !present.contains(entry.first);
  });
  // A device that went away no longer runs without XDP.
  features_changed |= std::erase_if(xdp_failed_, [&](const auto& entry) {
                        for (const auto& [ifindex, name] : external_attached_) {
                          if (name == entry.first) return false;
                        }
                        return true;
                      }) > 0;
  if (features_changed) PublishFeatures();
  for (const auto& [ifindex, name] : present) {
    if (!Matches(config_.pod_interfaces, name.c_str())) continue;
    auto it = attached_.find(ifindex);
    if (it != attached_.end() && it->second == name) continue;
    absl::Status s = datapath_->AttachPodInterface(ifindex);
    if (s.ok()) {
      attached_[ifindex] = name;
      LOG(INFO) << "attached to " << name << " (ifindex " << ifindex << ")";
    } else {
      // An interface that vanished between listing and attaching is not
      // an error worth more than a line; keep going with the others.
      LOG(WARNING) << "attach to " << name << ": " << s;
      result.Update(s);
    }
  }
  std::erase_if(attached_, [&](const auto& entry) {
    return !present.contains(entry.first);
  });
  metrics_.interfaces_attached->Set(attached_.size());
  return result;
}

void Agent::Run() {
  watch_ = std::make_unique<WatchClient>(
      WatchClientConfig{config_.controller, config_.node_name},
      [this](const v1::WatchResponse& u) { return HandleUpdate(u); },
      [this] { return ResumeVersion(); },
      WatchClientMetrics{metrics_.stream_connects,
                         metrics_.controller_connected});
  std::thread interfaces([this] {
    while (!stop_.WaitForNotificationWithTimeout(config_.interface_poll)) {
      AttachNewInterfaces().IgnoreError();
    }
  });
  std::thread sweeper([this] {
    if (config_.ct_sweep_interval <= absl::ZeroDuration()) return;
    const kernel::CtTimeouts timeouts{
        .udp_s = config_.datapath.udp_timeout_s,
        .tcp_idle_s = config_.datapath.tcp_idle_timeout_s,
        .tcp_close_s = config_.datapath.tcp_close_timeout_s};
    while (!stop_.WaitForNotificationWithTimeout(config_.ct_sweep_interval)) {
      absl::StatusOr<uint64_t> swept =
          SweepExpiredFlows(datapath_->maps(), timeouts, MonotonicNowNs());
      if (swept.ok()) {
        metrics_.ct_swept->Increment(*swept);
      } else {
        LOG(WARNING) << "sweeping expired flows: " << swept.status();
      }
    }
  });
  watch_->Run();
  interfaces.join();
  sweeper.join();
}

void Agent::Stop() {
  stop_.Notify();
  if (watch_) watch_->Stop();
}

}  // namespace switchyard::agent
