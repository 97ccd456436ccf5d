// SPDX-License-Identifier: Apache-2.0
#include "control/controller/server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "control/common/errno_status.h"
#include "control/common/log.h"
#include "control/common/scoped_fd.h"
#include "control/controller/grpc_status.h"
#include "control/controller/kube_source_metrics.h"
#include "control/controller/validation.h"
#include "control/names/kind_names.h"
#include "google/protobuf/unknown_field_set.h"

namespace switchyard::controller {
namespace {

using RepeatedObjects = google::protobuf::RepeatedPtrField<v1::Object>;

// Checks the caller may call `method`; a refusal is logged with who, what
// and why, and returned as PERMISSION_DENIED.
grpc::Status Allow(const grpc::ServerContext& context, absl::string_view method,
                   absl::string_view node = "") {
  absl::Status allowed = Authorize(IdentifyPeer(context), method, node);
  if (allowed.ok()) return grpc::Status::OK;
  LOG(WARNING) << "refused: " << allowed.message();
  return ToGrpc(allowed);
}

// How long a watch waits for a mirror's first lists before it is refused:
// short, so an agent with another controller to try moves on.
constexpr absl::Duration kWaitForSync = absl::Seconds(5);

}  // namespace

void ClusterStateService::Record(const char* op, absl::Time start,
                                 const absl::Status& status) {
  metrics_->write_latency->With({op}).Observe(absl::Now() - start);
  if (status.ok()) {
    metrics_->writes_applied->With({op}).Increment();
  } else {
    metrics_->writes_rejected
        ->With({op, CodeName(static_cast<int>(status.code()))})
        .Increment();
  }
}

grpc::Status ClusterStateService::Apply(grpc::ServerContext* context,
                                        const v1::ApplyRequest* request,
                                        v1::ApplyResponse* response) {
  // The write's arrival, for programming latency.
  const absl::Time start = absl::Now();
  if (grpc::Status denied = Allow(*context, "Apply"); !denied.ok()) {
    return denied;
  }
  // What the client warned its user about (unknown fields dropped, kinds
  // skipped): logged, so the server side has a trace of meaning that never
  // reached it. Capped: the list is the client's to fill.
  constexpr int kMaxLoggedWarnings = 20;
  if (request->warnings_size() > 0) {
    const std::string who = IdentifyPeer(*context).description;
    for (int i = 0; i < std::min(request->warnings_size(), kMaxLoggedWarnings);
         ++i) {
      LOG(WARNING) << "apply from " << who
                   << ": client warning: " << request->warnings(i);
    }
    if (request->warnings_size() > kMaxLoggedWarnings) {
      LOG(WARNING) << "apply from " << who << ": "
                   << request->warnings_size() - kMaxLoggedWarnings
                   << " more client warnings";
    }
  }
  if (absl::Status limits = CheckWriteLimits(request->objects());
      !limits.ok()) {
    Record("apply", start, limits);
    return ToGrpc(limits);
  }
  // Taken over, not copied: a deep copy of 10,000 services and their
  // slices cost 0.8 s of a loaded machine's time, a third of the write. The
  // request is gRPC's, made for this call alone and read by nothing after
  // this handler (no interceptors), so emptying it is safe; gRPC hands it
  // over const only because its sync API has one signature for all.
  RepeatedObjects& taken =
      *const_cast<v1::ApplyRequest*>(request)->mutable_objects();
  std::vector<v1::Object> objects(taken.size());
  for (int i = 0; i < taken.size(); ++i) objects[i].Swap(taken.Mutable(i));
  absl::StatusOr<ApplyResult> result =
      store_->Apply(std::move(objects), ApplyOutput::kEncoded);
  Record("apply", start, result.status());
  if (!result.ok()) return ToGrpc(result.status());
  response->set_version(result->version);
  response->set_received_unix_us(absl::ToUnixMicros(start));
  if (latency_ != nullptr) latency_->Written(result->version, start);
  response->mutable_results()->Reserve(
      static_cast<int>(result->outcomes.size()));
  for (size_t i = 0; i < result->refs.size(); ++i) {
    v1::ApplyResult& outcome = *response->add_results();
    *outcome.mutable_ref() = std::move(result->refs[i]);
    outcome.set_outcome(result->outcomes[i]);
  }
  for (std::string& warning : result->warnings) {
    LOG(WARNING) << "apply: " << warning;
    response->add_warnings(std::move(warning));
  }
  if (request->omit_objects()) return grpc::Status::OK;
  // The objects as stored go back in their wire form, as encoded once by
  // the store (ApplyOutput::kEncoded): unknown fields under the objects
  // field's number, which the client reads as objects.
  google::protobuf::UnknownFieldSet& raw =
      *response->GetReflection()->MutableUnknownFields(response);
  for (std::string& object : result->encoded) {
    raw.AddLengthDelimited(v1::ApplyResponse::kObjectsFieldNumber)
        ->swap(object);
  }
  return grpc::Status::OK;
}

grpc::Status ClusterStateService::Delete(grpc::ServerContext* context,
                                         const v1::DeleteRequest* request,
                                         v1::DeleteResponse* response) {
  const absl::Time start = absl::Now();
  if (grpc::Status denied = Allow(*context, "Delete"); !denied.ok()) {
    return denied;
  }
  std::vector<v1::ObjectRef> refs(request->refs().begin(),
                                  request->refs().end());
  std::vector<v1::ObjectRef> deleted;
  absl::StatusOr<uint64_t> version =
      store_->Delete(refs, request->ignore_not_found(), &deleted);
  Record("delete", start, version.status());
  if (!version.ok()) return ToGrpc(version.status());
  response->set_version(*version);
  response->set_received_unix_us(absl::ToUnixMicros(start));
  if (latency_ != nullptr) latency_->Written(*version, start);
  for (v1::ObjectRef& ref : deleted) *response->add_deleted() = std::move(ref);
  return grpc::Status::OK;
}

grpc::Status ClusterStateService::Get(grpc::ServerContext* context,
                                      const v1::GetRequest* request,
                                      v1::GetResponse* response) {
  if (grpc::Status denied = Allow(*context, "Get"); !denied.ok()) {
    return denied;
  }
  absl::StatusOr<v1::Object> object = store_->Get(request->ref());
  if (!object.ok()) return ToGrpc(object.status());
  *response->mutable_object() = std::move(*object);
  response->set_version(store_->version());
  return grpc::Status::OK;
}

grpc::Status ClusterStateService::List(grpc::ServerContext* context,
                                       const v1::ListRequest* request,
                                       v1::ListResponse* response) {
  if (grpc::Status denied = Allow(*context, "List"); !denied.ok()) {
    return denied;
  }
  // Paged, so no reply outgrows what a client accepts (kMaxMessageBytes).
  absl::StatusOr<ListPage> page =
      store_->List(ListQuery{.kind = request->kind(),
                             .ns = request->namespace_(),
                             .limit = request->limit(),
                             .continue_token = request->continue_()});
  if (!page.ok()) return ToGrpc(page.status());
  response->set_version(page->version);
  response->mutable_objects()->Reserve(static_cast<int>(page->objects.size()));
  for (v1::Object& object : page->objects) {
    *response->add_objects() = std::move(object);
  }
  response->set_continue_(std::move(page->continue_token));
  response->set_remaining_item_count(page->remaining);
  return grpc::Status::OK;
}

grpc::Status ClusterStateService::ListNodeSync(
    grpc::ServerContext* context, const v1::ListNodeSyncRequest* request,
    v1::ListNodeSyncResponse* response) {
  if (grpc::Status denied = Allow(*context, "ListNodeSync"); !denied.ok()) {
    return denied;
  }
  if (request->wait_for_version() > 0) {
    // Capped, so a forgotten wait cannot hold a server thread for long; a
    // shutdown cancels the call, which ends it within 100 ms.
    constexpr int64_t kMaxWaitMs = 60'000;
    const int64_t wait_ms =
        std::clamp<int64_t>(request->wait_timeout_ms(), 0, kMaxWaitMs);
    std::vector<std::string> nodes(request->nodes().begin(),
                                   request->nodes().end());
    nodes_->WaitSynced(request->wait_for_version(), nodes,
                       absl::Now() + absl::Milliseconds(wait_ms),
                       [context] { return context->IsCancelled(); });
  }
  response->set_version(store_->version());
  for (v1::NodeSync& node : nodes_->List()) {
    *response->add_nodes() = std::move(node);
  }
  return grpc::Status::OK;
}

// One agent's stream. This thread writes (snapshot, then deltas as the
// store moves on); a second thread reads the agent's acks. The sync gRPC
// API allows one reader and one writer on a stream at the same time.
grpc::Status AgentSyncService::Watch(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::WatchResponse, v1::WatchRequest>* stream) {
  v1::WatchRequest first;
  if (!stream->Read(&first) || !first.has_hello() ||
      first.hello().node_name().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the first message must be a hello naming the node");
  }
  const std::string node = first.hello().node_name();
  if (grpc::Status denied = Allow(*context, "Watch", node); !denied.ok()) {
    return denied;
  }
  // A mirror that has not read the whole cluster yet would hand the agent
  // Services without their endpoints. Refusing sends the agent on to
  // another controller, or back after its backoff.
  if (!store_->WaitSynced(kWaitForSync)) {
    return grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        absl::StrCat("this controller is still reading the cluster from ",
                     store_->mirror_of(), "; try again shortly"));
  }
  nodes_->Connected(node);
  metrics_->watch_streams->With({node}).Increment();
  metrics_->node_rejections->With({node});  // shown as 0 until one comes
  metrics_->watching_agents->Add(1);
  std::atomic<bool> reader_done{false};
  std::thread reader([&] {
    v1::WatchRequest request;
    StreamAcks acks(latency_);
    while (stream->Read(&request)) {
      if (!request.has_ack()) continue;
      if (latency_ != nullptr) {
        acks.Ack(request.ack().version(), request.ack().applied(), absl::Now());
      }
      nodes_->Acked(node, request.ack());
      if (!request.ack().applied()) {
        metrics_->node_rejections->With({node}).Increment();
      }
    }
    reader_done = true;
  });

  uint64_t sent = first.hello().last_applied_version();
  bool snapshot = sent == 0;
  // A version is resumed only within the history it came from: from
  // another controller's (or this one's before its state was rebuilt) the
  // same number may mean other contents. The snapshot costs the agent a
  // full reconcile, which still writes only what differs.
  if (sent != 0 && first.hello().state_id() != store_->state_id()) {
    LOG(INFO) << "node " << node << " resumes from another controller's state"
              << " (id "
              << (first.hello().state_id().empty() ? "none"
                                                   : first.hello().state_id())
              << ", this one's is " << store_->state_id()
              << "): sending a snapshot";
    snapshot = true;
  }
  // Shared with every stream asking the same (update_cache.h).
  std::shared_ptr<const v1::WatchResponse> update =
      updates_->Update(sent, snapshot);
  LOG(INFO) << "node " << node << " watching from version " << sent << ": "
            << (update->snapshot() ? "snapshot" : "resumed") << " at "
            << update->version();
  bool ok = stream->Write(*update);
  sent = update->version();
  update.reset();  // see below: free it off the next path
  while (ok && !reader_done && !context->IsCancelled() &&
         !stopping_->HasBeenNotified()) {
    // Short waits so a vanished agent or a shutdown is noticed promptly.
    if (store_->WaitForChange(sent, absl::Milliseconds(500)) <= sent) continue;
    update = updates_->Update(sent, /*snapshot=*/false);
    if (update->version() <= sent) continue;
    ok = stream->Write(*update);
    sent = update->version();
    // Let go of a large message now, while the agent applies it, rather
    // than when the next update is assigned: tearing down a 10,000-service
    // message took ~170 ms on the path of the following change.
    update.reset();
  }
  context->TryCancel();  // unblocks the reader if the writer ended first
  reader.join();
  nodes_->Disconnected(node);
  metrics_->watching_agents->Add(-1);
  LOG(INFO) << "node " << node << " stream closed at version " << sent;
  return grpc::Status::OK;
}

namespace {

// A socket left by a controller that died cannot be bound over, so it is
// removed; one that a live controller serves (it accepts a connection) is
// left alone: removing it would leave that controller unreachable and
// hand its clients to this one, with different state.
absl::Status RemoveStaleSocket(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path ", path, " is longer than ",
                     sizeof(address.sun_path) - 1, " bytes"));
  }
  path.copy(address.sun_path, path.size());
  ScopedFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return ErrnoStatus(errno, "socket");
  if (connect(probe.get(), reinterpret_cast<const sockaddr*>(&address),
              sizeof(address)) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("another controller is serving ", path,
                     "; stop it or choose --socket"));
  }
  if (errno == ENOENT) return absl::OkStatus();
  if (errno != ECONNREFUSED) {
    return ErrnoStatus(errno, absl::StrCat("probe socket ", path));
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, absl::StrCat("remove stale socket ", path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ControllerServer>> ControllerServer::Start(
    const ServerConfig& config) {
  if (config.listen_tcp.empty() && config.insecure_listen_tcp.empty() &&
      config.listen_unix.empty()) {
    return absl::InvalidArgumentError("nothing to listen on");
  }
  if (!config.listen_tcp.empty()) {
    if (absl::Status s = tls::CheckTlsFiles(
            config.tls, "--tls_cert, --tls_key and --tls_client_ca");
        !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--listen=", config.listen_tcp, " is served with mutual TLS: ",
          s.message(), " (a plaintext port is --insecure_listen, for labs)"));
    }
  }
  std::unique_ptr<ControllerServer> server(new ControllerServer());
  server->metrics_ = ControllerMetrics::Register(server->registry_);
  server->latency_ = std::make_unique<ProgrammingLatency>(
      [histogram = &server->metrics_.programming_latency->With({})](
          absl::Duration d) { histogram->Observe(d); });
  StoreConfig store_config = config.store;
  if (config.kube_api != nullptr) {
    store_config.mirror_of = config.kube_api->server();
    store_config.state_dir.clear();  // the API server keeps the state
  }
  absl::StatusOr<std::unique_ptr<ClusterStore>> store =
      ClusterStore::Open(store_config);
  if (!store.ok()) return store.status();
  server->store_ = std::move(*store);
  if (config.kube_api != nullptr) {
    KubeSourceOptions kube = config.kube;
    kube.on_written = [latency = server->latency_.get()](uint64_t version,
                                                         absl::Time arrived) {
      latency->Written(version, arrived);
    };
    server->kube_source_ = std::make_unique<KubeSource>(
        server->store_.get(), config.kube_api, std::move(kube));
  }
  server->cluster_state_ = std::make_unique<ClusterStateService>(
      server->store_.get(), &server->nodes_, &server->metrics_,
      server->latency_.get());
  server->agent_sync_ = std::make_unique<AgentSyncService>(
      server->store_.get(), &server->nodes_, &server->stopping_,
      &server->metrics_, server->latency_.get());

  // grpc.health.v1.Health (Check and Watch), for load balancers and
  // orchestrators. Must be switched on before the builder exists.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // Reserved up front: AddListeningPort keeps a pointer to each element.
  std::vector<int> ports;
  ports.reserve(2);
  std::vector<std::string> tcp;
  if (!config.listen_tcp.empty()) {
    ports.push_back(0);
    tcp.push_back(config.listen_tcp);
    builder.AddListeningPort(config.listen_tcp,
                             tls::ServerCredentials(config.tls), &ports.back());
  }
  if (!config.insecure_listen_tcp.empty()) {
    ports.push_back(0);
    tcp.push_back(config.insecure_listen_tcp);
    builder.AddListeningPort(config.insecure_listen_tcp,
                             grpc::InsecureServerCredentials(), &ports.back());
  }
  if (!config.listen_unix.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(
        std::filesystem::path(config.listen_unix).parent_path(), ec);
    if (absl::Status s = RemoveStaleSocket(config.listen_unix); !s.ok()) {
      return s;
    }
    builder.AddListeningPort(absl::StrCat("unix:", config.listen_unix),
                             grpc::InsecureServerCredentials());
  }
  // A cluster's state travels in one message (a snapshot, a large apply):
  // gRPC's 4 MiB default is about 8,000 services.
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  // Agents ping every 10 s on quiet streams so that they notice a dead
  // controller (watch_client.cc); gRPC's default policy would call that
  // abuse and close the connection. The controller pings too, so a
  // vanished agent's stream (and its node's "connected") ends as well.
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  builder.RegisterService(server->cluster_state_.get());
  builder.RegisterService(server->agent_sync_.get());
  server->server_ = builder.BuildAndStart();
  bool bound = server->server_ != nullptr;
  for (int port : ports) bound &= port != 0;
  if (!bound) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", absl::StrJoin(tcp, " "), " ", config.listen_unix));
  }
  server->tcp_ports_ = ports;
  if (!config.listen_unix.empty() &&
      chmod(config.listen_unix.c_str(), config.socket_mode) != 0) {
    return ErrnoStatus(errno, absl::StrCat("chmod ", config.listen_unix));
  }
  // The store is open (state loaded from disk) by now: every RPC can be
  // answered, so the server as a whole ("" service) is SERVING.
  if (grpc::HealthCheckServiceInterface* health =
          server->server_->GetHealthCheckService()) {
    health->SetServingStatus(true);
  }
  if (absl::Status s = server->StartMetrics(config.metrics_listen); !s.ok()) {
    return s;
  }
  LOG(INFO) << "yard-controller serving version " << server->store_->version()
            << " on"
            << (config.listen_tcp.empty()
                    ? ""
                    : absl::StrCat(" ", config.listen_tcp, " (mutual TLS)"))
            << (config.insecure_listen_tcp.empty()
                    ? ""
                    : absl::StrCat(" ", config.insecure_listen_tcp,
                                   " (plaintext, trusted)"))
            << (config.listen_unix.empty()
                    ? ""
                    : absl::StrCat(" ", config.listen_unix));
  return server;
}

absl::Status ControllerServer::StartMetrics(const std::string& listen) {
  AddControllerCollector(
      registry_,
      {.version = [this] { return store_->version(); },
       .objects_by_kind =
           [this] {
             std::map<std::string, size_t> counts;
             for (v1::Kind kind :
                  {v1::KIND_SERVICE, v1::KIND_ENDPOINT_SLICE, v1::KIND_NODE}) {
               counts[std::string(names::KindName(kind))] = store_->Count(kind);
             }
             return counts;
           },
       .nodes = [this] { return nodes_.List(); }});
  if (kube_source_ != nullptr) {
    AddKubeSourceCollector(registry_, kube_source_.get());
  }
  if (absl::Status s = registry_.status(); !s.ok()) return s;
  if (listen.empty()) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<metrics::HttpServer>> server =
      metrics::StartMetricsServer(
          {.listen = listen}, &registry_, [this]() -> absl::Status {
            if (store_->synced()) return absl::OkStatus();
            return absl::UnavailableError(absl::StrCat(
                "still reading the cluster from ", store_->mirror_of()));
          });
  if (!server.ok()) return server.status();
  metrics_server_ = std::move(*server);
  return absl::OkStatus();
}

ControllerServer::~ControllerServer() { Shutdown(); }

void ControllerServer::Wait() {
  if (server_) server_->Wait();
}

void ControllerServer::Shutdown() {
  // Watch streams never end on their own; tell them to, so shutdown does
  // not wait out its deadline.
  if (!stopping_.HasBeenNotified()) stopping_.Notify();
  if (kube_source_) kube_source_->Stop();
  if (server_) {
    // NOT_SERVING to health checkers, and their Watch streams end, so
    // they do not hold the shutdown up.
    if (grpc::HealthCheckServiceInterface* health =
            server_->GetHealthCheckService()) {
      health->Shutdown();
    }
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(2));
  }
}

}  // namespace switchyard::controller
