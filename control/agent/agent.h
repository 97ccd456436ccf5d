// SPDX-License-Identifier: Apache-2.0
// yard-agent's core: keeps one node's datapath in step with the cluster
// state the controller streams, and attaches the datapath to the node's
// pod-facing interfaces as they appear.
#ifndef SWITCHYARD_CONTROL_AGENT_AGENT_H_
#define SWITCHYARD_CONTROL_AGENT_AGENT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "control/agent/health_check_servers.h"
#include "control/agent/kernel_map_writer.h"
#include "control/agent/watch_client.h"
#include "control/kernel/datapath.h"
#include "control/metrics/agent_metrics.h"
#include "control/metrics/http_server.h"
#include "control/metrics/registry.h"
#include "control/sync/programmer.h"
#include "control/translate/cluster_state.h"
#include "control/translate/translate.h"

namespace switchyard::agent {

struct AgentConfig {
  std::string node_name;
  std::string controller;  // "unix:///path" or "host:port"
  // Maps are pinned in <pin_root>/<node_name>.
  std::string pin_root = "/sys/fs/bpf/switchyard";
  // Shell patterns (fnmatch) of pod-facing interfaces; any match attaches.
  std::vector<std::string> pod_interfaces = {"veth*"};
  // External devices (names) that outside clients' NodePort,
  // load-balancer and external-IP traffic arrives on: XDP goes there.
  std::vector<std::string> external_devices;
  // Addresses (network order) NodePorts are served on; empty: every IPv4
  // address of the external devices at start.
  std::vector<uint32_t> node_port_addrs_be;
  kernel::DatapathConfig datapath;  // sizes; pin_dir is derived
  absl::Duration interface_poll = absl::Seconds(1);
  // Prometheus /metrics and /healthz ("host:port"); "" serves neither.
  // The agent is a gRPC client, not a server, so /healthz is its health
  // endpoint.
  std::string metrics_listen;
  // How often, at most, a scrape walks yard_ct4 to count its entries;
  // zero never does (see control/metrics/datapath_collector.h).
  absl::Duration ct_sample_interval = absl::Seconds(10);
  // How often expired flow entries are reclaimed (ct_sweeper.h); zero:
  // never (the datapath ignores them all the same).
  absl::Duration ct_sweep_interval = absl::Seconds(10);
};

class Agent {
 public:
  // Loads the datapath (adopting pinned maps and their contents) and
  // attaches it to the pod interfaces present now.
  static absl::StatusOr<std::unique_ptr<Agent>> Create(AgentConfig config);

  // Runs the watch stream and the interface watcher until Stop().
  void Run();
  void Stop();

  // One update from the controller: state, translation, programming.
  absl::Status HandleUpdate(const v1::WatchResponse& update);
  // The version to resume from: 0 until a snapshot has been programmed, or
  // after a failed update (so the next connect brings a fresh snapshot).
  uint64_t ResumeVersion();

  // Attaches to matching interfaces not attached yet.
  absl::Status AttachNewInterfaces();
  // Writes the datapath's features, with XDP's per-device failures, to
  // yard_features and the metrics.
  void PublishFeatures();

  // The NodePort addresses in use (resolved at start).
  const std::vector<uint32_t>& node_port_addrs_be() const {
    return config_.node_port_addrs_be;
  }

 private:
  Agent(AgentConfig config, std::unique_ptr<kernel::Datapath> datapath);

  // Serves the health-check node ports the cluster state asks for.
  // `services` ("namespace/name") are those an update touched; a full
  // update looks at every service.
  void UpdateHealthChecks(bool full, const std::set<std::string>& services)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sets the programmed-entry gauges from the programmer's counts.
  void PublishCounts() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Registers the scrape-time datapath metrics and starts serving them.
  absl::Status StartMetrics();

  AgentConfig config_;
  std::unique_ptr<kernel::Datapath> datapath_;
  KernelMapWriter writer_;
  absl::Mutex mu_;
  translate::ClusterState state_ ABSL_GUARDED_BY(mu_);
  translate::DesiredStateCache desired_ ABSL_GUARDED_BY(mu_);
  // False until a full reconcile succeeded, and after any failure: then
  // the next update reconciles everything rather than trusting a scope.
  bool reconciled_ ABSL_GUARDED_BY(mu_) = false;
  sync::Programmer programmer_ ABSL_GUARDED_BY(mu_);
  uint64_t applied_version_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int, std::string> attached_;           // ifindex -> name
  std::map<int, std::string> external_attached_;  // ifindex -> name
  // External devices XDP could not attach to (tc serves them): name ->
  // why. Touched only by AttachNewInterfaces, which runs on one thread at
  // a time (start-up, then the interface watcher).
  std::map<std::string, std::string> xdp_failed_;
  std::unique_ptr<HealthCheckServers> health_checks_;
  // Health checks by service, kept per update like the desired state, so
  // an endpoint change costs work for its service only.
  std::map<std::string, translate::HealthCheck> checks_ ABSL_GUARDED_BY(mu_);
  bool checks_served_ ABSL_GUARDED_BY(mu_) = true;
  std::unique_ptr<WatchClient> watch_;
  absl::Notification stop_;
  metrics::Registry registry_;
  metrics::AgentMetrics metrics_;
  // Last: its thread reads everything above, so it stops first.
  std::unique_ptr<metrics::HttpServer> metrics_server_;
};

}  // namespace switchyard::agent

#endif  // SWITCHYARD_CONTROL_AGENT_AGENT_H_
