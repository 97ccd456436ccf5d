// SPDX-License-Identifier: Apache-2.0
// yard-controller's gRPC edge: the writer API and the agents' watch
// stream, both over one ClusterStore. Validation and state live in the
// store; this file only translates between gRPC and it.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_SERVER_H_
#define SWITCHYARD_CONTROL_CONTROLLER_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "control/common/message_limits.h"
#include "control/controller/cluster_store.h"
#include "control/controller/controller_metrics.h"
#include "control/controller/kube_source.h"
#include "control/controller/node_sync_table.h"
#include "control/controller/peer_identity.h"
#include "control/controller/programming_latency.h"
#include "control/controller/update_cache.h"
#include "control/metrics/http_server.h"
#include "control/metrics/registry.h"
#include "control/tls/tls_files.h"
#include "switchyard/v1/controller.grpc.pb.h"

namespace switchyard::controller {

// The largest message either side accepts: room for a snapshot of about
// 100,000 services with their endpoints (the same number yardctl uses).
inline constexpr int kMaxMessageBytes = kMaxControlMessageBytes;

struct ServerConfig {
  // "host:port" served with mutual TLS (`tls` must be set); "" for none.
  std::string listen_tcp;
  tls::TlsFiles tls;
  // "host:port" served in plaintext, trusted with everything: only when
  // asked for by name (labs, tests); "" for none.
  std::string insecure_listen_tcp;
  std::string listen_unix;  // socket path; "" for none
  // The socket's permissions: owner-only unless a group is let in (0660).
  int socket_mode = 0600;
  // Prometheus /metrics and /healthz ("host:port"); "" serves neither.
  std::string metrics_listen;
  StoreConfig store;
  // Set: the cluster's state comes from this Kubernetes API server (the
  // store mirrors it; yardctl's writes are refused). Unset: standalone,
  // yardctl writes and the store keeps the state on disk.
  std::shared_ptr<kube::ApiTransport> kube_api;
  KubeSourceOptions kube;
};

class ClusterStateService final : public v1::ClusterState::Service {
 public:
  // `latency`, if given, is told when each write arrived.
  ClusterStateService(ClusterStore* store, NodeSyncTable* nodes,
                      const ControllerMetrics* metrics,
                      ProgrammingLatency* latency = nullptr)
      : store_(store), nodes_(nodes), metrics_(metrics), latency_(latency) {}
  grpc::Status Apply(grpc::ServerContext*, const v1::ApplyRequest*,
                     v1::ApplyResponse*) override;
  grpc::Status Delete(grpc::ServerContext*, const v1::DeleteRequest*,
                      v1::DeleteResponse*) override;
  grpc::Status Get(grpc::ServerContext*, const v1::GetRequest*,
                   v1::GetResponse*) override;
  grpc::Status List(grpc::ServerContext*, const v1::ListRequest*,
                    v1::ListResponse*) override;
  grpc::Status ListNodeSync(grpc::ServerContext*,
                            const v1::ListNodeSyncRequest*,
                            v1::ListNodeSyncResponse*) override;

 private:
  // Counts a write's outcome and time.
  void Record(const char* op, absl::Time start, const absl::Status& status);

  ClusterStore* store_;
  NodeSyncTable* nodes_;
  const ControllerMetrics* metrics_;
  ProgrammingLatency* latency_;
};

class AgentSyncService final : public v1::AgentSync::Service {
 public:
  // `latency`, if given, is told of every stream's acks.
  AgentSyncService(ClusterStore* store, NodeSyncTable* nodes,
                   const absl::Notification* stopping,
                   const ControllerMetrics* metrics,
                   ProgrammingLatency* latency = nullptr)
      : store_(store),
        nodes_(nodes),
        stopping_(stopping),
        metrics_(metrics),
        latency_(latency),
        updates_(std::make_unique<UpdateCache>(store)) {}
  grpc::Status Watch(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::WatchResponse, v1::WatchRequest>* stream)
      override;

 private:
  ClusterStore* store_;
  NodeSyncTable* nodes_;
  const absl::Notification* stopping_;
  const ControllerMetrics* metrics_;
  ProgrammingLatency* latency_;
  std::unique_ptr<UpdateCache> updates_;
};

class ControllerServer {
 public:
  static absl::StatusOr<std::unique_ptr<ControllerServer>> Start(
      const ServerConfig& config);
  ~ControllerServer();
  // Blocks until Shutdown().
  void Wait();
  // Stops accepting, ends watch streams, returns once handlers are done.
  void Shutdown();
  // The TCP ports bound (TLS first, then plaintext), for ":0" listeners.
  const std::vector<int>& tcp_ports() const { return tcp_ports_; }

 private:
  ControllerServer() = default;

  // Registers the scrape-time metrics and starts serving them.
  absl::Status StartMetrics(const std::string& listen);

  metrics::Registry registry_;
  ControllerMetrics metrics_;
  // Before the store and the services that tell it of writes and acks.
  std::unique_ptr<ProgrammingLatency> latency_;
  std::unique_ptr<ClusterStore> store_;
  // After the store, which it writes: destroyed (stopped) first.
  std::unique_ptr<KubeSource> kube_source_;
  NodeSyncTable nodes_;
  absl::Notification stopping_;
  std::unique_ptr<ClusterStateService> cluster_state_;
  std::unique_ptr<AgentSyncService> agent_sync_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<int> tcp_ports_;
  // Last: its thread reads the store and the node table, so it stops
  // before they go.
  std::unique_ptr<metrics::HttpServer> metrics_server_;
};

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_SERVER_H_
