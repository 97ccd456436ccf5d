// SPDX-License-Identifier: Apache-2.0
#include "control/agent/watch_client.h"

#include <google/protobuf/arena.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/common/backoff.h"
#include "control/common/log.h"
#include "control/common/message_limits.h"
#include "switchyard/v1/controller.grpc.pb.h"

namespace switchyard::agent {

WatchClient::WatchClient(WatchClientConfig config, Handler handler,
                         ResumeFrom resume, WatchClientMetrics metrics)
    : config_(std::move(config)),
      handler_(std::move(handler)),
      resume_(std::move(resume)),
      metrics_(metrics) {
  for (const std::string& address : config_.controllers) {
    SetConnected(address, false);
  }
}

void WatchClient::Run() {
  if (config_.controllers.empty()) {
    LOG(ERROR) << "no controller to watch";
    return;
  }
  const size_t n = config_.controllers.size();
  Backoff backoff(config_.backoff_initial, config_.backoff_max);
  // Streams ended since the last pause or good stream. The backoff is
  // waited once this covers every address: a failed controller is
  // followed at once by the next one, which may well be up.
  size_t failed = 0;
  for (size_t i = 0; !stop_.HasBeenNotified(); i = (i + 1) % n) {
    got_message_ = false;
    grpc::Status ended = Session(config_.controllers[i]);
    if (stop_.HasBeenNotified()) break;
    if (got_message_) {
      backoff.Reset();
      failed = 0;
    }
    absl::Duration pause = absl::ZeroDuration();
    if (++failed >= n) {
      failed = 0;
      pause = backoff.Next();
    }
    LogEnd(config_.controllers[i], ended, config_.controllers[(i + 1) % n],
           pause);
    stop_.WaitForNotificationWithTimeout(pause);
  }
}

void WatchClient::Stop() {
  stop_.Notify();
  absl::MutexLock lock(&mu_);
  if (active_ != nullptr) active_->TryCancel();
}

grpc::Status WatchClient::Session(const std::string& address) {
  grpc::ChannelArguments args;
  // Snapshots of large clusters exceed gRPC's 4 MiB default; the
  // controller sends up to this shared limit, so the agent takes as much.
  args.SetMaxReceiveMessageSize(kMaxControlMessageBytes);
  // A controller whose machine vanished (power, a partition) closes
  // nothing: without pings the stream would wait on TCP's timeouts, many
  // minutes, before the agent tried another controller. Pinged every 10 s
  // and given 5 s to answer, a dead peer is noticed within about 15 s.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  const bool tls = !config_.tls.empty() && !absl::StartsWith(address, "unix:");
  auto channel =
      grpc::CreateCustomChannel(address,
                                tls ? tls::ChannelCredentials(config_.tls)
                                    : grpc::InsecureChannelCredentials(),
                                args);
  auto stub = v1::AgentSync::NewStub(channel);
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stop_.HasBeenNotified()) return grpc::Status::CANCELLED;
    active_ = &context;
  }
  auto stream = stub->Watch(&context);
  ++connects_;
  if (metrics_.connects != nullptr) metrics_.connects->Increment();

  v1::WatchRequest hello;
  hello.mutable_hello()->set_node_name(config_.node_name);
  sync::ResumePoint resume = resume_();
  hello.mutable_hello()->set_last_applied_version(resume.version);
  hello.mutable_hello()->set_state_id(resume.state_id);
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
        LOG(INFO) << "connected to controller " << address
                  << (update.snapshot() ? ": snapshot" : ": resumed")
                  << " at version " << update.version() << " (state "
                  << update.state_id() << ")";
        SetConnected(address, true);
      }
      got_message_ = true;
      Applied result = handler_(update);
      const absl::Status& applied = result.status;
      v1::WatchRequest ack;
      ack.mutable_ack()->set_version(update.version());
      ack.mutable_ack()->set_applied(applied.ok());
      if (!applied.ok()) {
        LOG(ERROR) << "rejected version " << update.version() << ": "
                   << applied;
        ack.mutable_ack()->set_error(std::string(applied.message()));
      }
      const bool sent = stream->Write(ack);
      if (result.after_ack) result.after_ack();
      if (!sent) break;
    }
  }
  SetConnected(address, false);
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    active_ = nullptr;
  }
  return status;
}

void WatchClient::LogEnd(const std::string& from, const grpc::Status& status,
                         const std::string& next, absl::Duration pause) const {
  // The controller being away is expected (restarts, upgrades, failover):
  // said once per attempt at INFO, not as an error. The controller ends
  // its streams itself (OK) when it shuts down.
  const bool away = status.ok() ||
                    status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                    status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  std::string why =
      status.ok() ? "closed the watch stream"
      : away      ? absl::StrCat("unavailable (", status.error_message(), ")")
                  : absl::StrCat("ended the watch stream (code ",
                                 static_cast<int>(status.error_code()), ": ",
                                 status.error_message(), ")");
  std::string then = next == from ? "dataplane unchanged, reconnecting"
                                  : absl::StrCat("watching ", next);
  if (pause > absl::ZeroDuration()) {
    // Milliseconds are enough; FormatDuration's full precision is noise.
    absl::StrAppend(
        &then, " in ",
        absl::FormatDuration(absl::Trunc(pause, absl::Milliseconds(1))));
  }
  if (away) {
    LOG(INFO) << "controller " << from << " " << why << "; " << then;
  } else {
    LOG(WARNING) << "controller " << from << " " << why << "; " << then;
  }
}

void WatchClient::SetConnected(const std::string& address, bool up) {
  if (metrics_.connected == nullptr) return;
  metrics_.connected->With({address}).Set(up ? 1 : 0);
}

}  // namespace switchyard::agent
