// SPDX-License-Identifier: Apache-2.0
// yard-agent: the process around the reconciler (control/sync). It loads
// the datapath (adopting what an earlier agent pinned), attaches it to the
// node's interfaces as they appear, hands the controller's updates to the
// reconciler, serves the health-check node ports and metrics, and sweeps
// expired flows. What an update means for the maps is decided in the
// reconciler, which is tested without a kernel.
#ifndef SWITCHYARD_CONTROL_AGENT_AGENT_H_
#define SWITCHYARD_CONTROL_AGENT_AGENT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "control/agent/agent_metrics.h"
#include "control/agent/health_check_servers.h"
#include "control/agent/interface_attacher.h"
#include "control/agent/kernel_map_writer.h"
#include "control/agent/watch_client.h"
#include "control/kernel/datapath.h"
#include "control/metrics/http_server.h"
#include "control/metrics/registry.h"
#include "control/sync/reconciler.h"
#include "control/tls/tls_files.h"

namespace switchyard::agent {

struct AgentConfig {
  std::string node_name;
  // Controllers to watch, each "unix:///path" or "host:port"; the agent
  // fails over between them in this order (watch_client.h).
  std::vector<std::string> controllers;
  tls::TlsFiles controller_tls;  // see WatchClientConfig::tls
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
  // Endpoint selection of Services without switchyard.io/lb-policy (enum
  // yard_policy), and the Maglev table size of those without
  // switchyard.io/maglev-table-size (a prime).
  uint8_t default_lb_policy = YARD_POLICY_RANDOM;
  uint32_t maglev_table_size = YARD_DEFAULT_MAGLEV_TABLE_SIZE;
  kernel::DatapathConfig datapath;  // sizes; pin_dir is derived
  // Interfaces are attached as the kernel announces them (link events);
  // this full pass is the safety net for an announcement that was missed
  // (an overrun of the receive queue is caught at once; this catches
  // anything else, e.g. an attach that failed).
  absl::Duration interface_rescan = absl::Seconds(30);
  // Prometheus /metrics and /healthz ("host:port"); "" serves neither.
  // The agent is a gRPC client, not a server, so /healthz is its health
  // endpoint.
  std::string metrics_listen;
  // How often, at most, a scrape walks yard_ct4 to count its entries;
  // zero never does (see datapath_collector.h).
  absl::Duration ct_sample_interval = absl::Seconds(10);
  // How often expired flow entries are reclaimed (ct_sweeper.h); zero:
  // never (the datapath ignores them all the same).
  absl::Duration ct_sweep_interval = absl::Seconds(10);
};

class Agent {
 public:
  // Loads the datapath (adopting pinned maps and their contents) and
  // attaches it to the interfaces present now.
  static absl::StatusOr<std::unique_ptr<Agent>> Create(AgentConfig config);

  // Runs the watch stream, the interface watcher and the flow sweeper
  // until Stop().
  void Run();
  void Stop();

 private:
  Agent(AgentConfig config, std::unique_ptr<kernel::Datapath> datapath);

  // Fills in what the config leaves to be found (pin folder, NodePort and
  // SNAT addresses).
  static absl::Status Resolve(AgentConfig& config);
  // Adopts what the maps hold; attaches; starts health checks and metrics.
  absl::Status Start();
  // One update from the controller: reconciled, published to the metrics
  // and the health-check servers (what the node serves is current by the
  // ack), then logged after the ack.
  Applied HandleUpdate(const v1::WatchResponse& update);
  // Attaches to matching interfaces not attached yet.
  absl::Status AttachNewInterfaces();
  // The interface watcher's loop: link events as they come, a full pass
  // every interface_rescan, until Stop().
  void WatchInterfaces();
  // Publishes what an attach pass changed.
  absl::Status Report(const AttachResult& result);
  // Writes the datapath's features, with XDP's per-device failures, to
  // yard_features and the metrics.
  void PublishFeatures();
  void PublishCounts(const sync::ProgrammedCounts& counts);
  // Hands the reconciler's health checks to the servers.
  void ServeHealthChecks();
  // Registers the scrape-time datapath metrics and starts serving them.
  absl::Status StartMetrics();
  // The flow sweeper's loop (ct_sweeper.h), until Stop().
  void SweepFlows();

  AgentConfig config_;
  std::unique_ptr<kernel::Datapath> datapath_;
  KernelMapWriter writer_;
  // The reconciler writes through batches; writer_ is their fallback.
  KernelMapBatches batches_;
  sync::BatchingMapWriter batching_writer_;
  sync::Reconciler reconciler_;
  // Touched by start-up, then by the interface watcher thread only.
  InterfaceAttacher interfaces_;
  // Opened before the first pass so nothing appears unseen in between.
  std::optional<kernel::LinkEventSocket> link_events_;
  std::unique_ptr<HealthCheckServers> health_checks_;
  std::unique_ptr<WatchClient> watch_;
  absl::Notification stop_;
  metrics::Registry registry_;
  AgentMetrics metrics_;
  // Last: its thread reads everything above, so it stops first.
  std::unique_ptr<metrics::HttpServer> metrics_server_;
};

}  // namespace switchyard::agent

#endif  // SWITCHYARD_CONTROL_AGENT_AGENT_H_
