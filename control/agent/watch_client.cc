// SPDX-License-Identifier: Apache-2.0
#include "control/agent/watch_client.h"

#include <google/protobuf/arena.h>
#include <grpcpp/grpcpp.h>

#include "control/common/backoff.h"
#include "control/common/log.h"
#include "switchyard/v1/controller.grpc.pb.h"

namespace switchyard::agent {

WatchClient::WatchClient(WatchClientConfig config, Handler handler,
                         ResumeFrom resume, WatchClientMetrics metrics)
    : config_(std::move(config)),
      handler_(std::move(handler)),
      resume_(std::move(resume)),
      metrics_(metrics) {}

void WatchClient::Run() {
  Backoff backoff(config_.backoff_initial, config_.backoff_max);
  while (!stop_.HasBeenNotified()) {
    got_message_ = false;
    Session();
    if (got_message_) backoff.Reset();
    stop_.WaitForNotificationWithTimeout(backoff.Next());
  }
}

void WatchClient::Stop() {
  stop_.Notify();
  absl::MutexLock lock(&mu_);
  if (active_ != nullptr) active_->TryCancel();
}

void WatchClient::Session() {
  grpc::ChannelArguments args;
  // Snapshots of large clusters exceed gRPC's 4 MiB default.
  args.SetMaxReceiveMessageSize(-1);
  auto channel = grpc::CreateCustomChannel(
      config_.controller, grpc::InsecureChannelCredentials(), args);
  auto stub = v1::AgentSync::NewStub(channel);
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stop_.HasBeenNotified()) return;
    active_ = &context;
  }
  auto stream = stub->Watch(&context);
  ++connects_;
  if (metrics_.connects != nullptr) metrics_.connects->Increment();

  v1::WatchRequest hello;
  hello.mutable_hello()->set_node_name(config_.node_name);
  uint64_t resume = resume_();
  hello.mutable_hello()->set_last_applied_version(resume);
  if (stream->Write(hello)) {
    for (;;) {
      // Each message lives in an arena of large blocks: a snapshot parses
      // into tens of megabytes of small objects, and freeing them one by
      // one would leave the heap fragmented around the state kept from
      // them. The arena returns its blocks whole.
      google::protobuf::ArenaOptions options;
      options.start_block_size = 64 << 10;
      options.max_block_size = 8 << 20;
      google::protobuf::Arena arena(options);
      v1::WatchResponse& update =
          *google::protobuf::Arena::CreateMessage<v1::WatchResponse>(&arena);
      if (!stream->Read(&update)) break;
      if (!got_message_) {
        LOG(INFO) << "connected to controller " << config_.controller
                  << (update.snapshot() ? ": snapshot" : ": resumed")
                  << " at version " << update.version();
        if (metrics_.connected != nullptr) metrics_.connected->Set(1);
      }
      got_message_ = true;
      absl::Status applied = handler_(update);
      v1::WatchRequest ack;
      ack.mutable_ack()->set_version(update.version());
      ack.mutable_ack()->set_applied(applied.ok());
      if (!applied.ok()) {
        LOG(ERROR) << "rejected version " << update.version() << ": "
                   << applied;
        ack.mutable_ack()->set_error(std::string(applied.message()));
      }
      if (!stream->Write(ack)) break;
    }
  }
  if (metrics_.connected != nullptr) metrics_.connected->Set(0);
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    active_ = nullptr;
  }
  if (stop_.HasBeenNotified()) return;
  // The controller being away is expected (restarts, upgrades): say so
  // once per attempt at INFO, not as an error.
  if (status.ok()) {
    // The controller ends its streams itself when it shuts down.
    LOG(INFO) << "controller " << config_.controller
              << " closed the watch stream; dataplane unchanged, reconnecting";
  } else if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
             status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    LOG(INFO) << "controller " << config_.controller << " unavailable ("
              << status.error_message() << "); dataplane unchanged, retrying";
  } else {
    LOG(WARNING) << "watch stream ended: " << status.error_code() << " "
                 << status.error_message();
  }
}

}  // namespace switchyard::agent
