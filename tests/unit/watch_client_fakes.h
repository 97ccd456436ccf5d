// SPDX-License-Identifier: Apache-2.0
// The watch client tests' stand-ins: a fake controller (the AgentSync
// service, scripted by the test, served in-process) and a fake agent (the
// handler and resume point the client is given), shared by the
// single-controller tests and the failover ones.
#ifndef SWITCHYARD_TESTS_UNIT_WATCH_CLIENT_FAKES_H_
#define SWITCHYARD_TESTS_UNIT_WATCH_CLIENT_FAKES_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/sync/resume_point.h"
#include "switchyard/v1/controller.grpc.pb.h"

namespace switchyard::agent::testing {

// Every wait for something the client or the fake does. Events take
// milliseconds; this only bounds a broken run.
inline constexpr absl::Duration kWait = absl::Seconds(2);
// How soon after Stop() Run() must return. A connected stream is
// cancelled, a backoff wait is interrupted: both take milliseconds.
inline constexpr absl::Duration kPromptStop = absl::Milliseconds(500);

// What the fake controller saw on one stream.
struct SeenStream {
  v1::WatchHello hello;
  absl::Time opened;  // when the hello arrived
  std::vector<v1::WatchAck> acks;
  bool ended = false;  // the handler has returned
};

// The controller's AgentSync service, scripted by the test: updates are
// sent one at a time, each followed by reading the agent's answer (the
// client acks before it reads on, so lock-step is enough), and a stream
// can be dropped the way a restarting controller drops it.
class FakeController final : public v1::AgentSync::Service {
 public:
  // Queues an update for the current stream, or the next one.
  void Send(v1::WatchResponse update) {
    absl::MutexLock lock(&mu_);
    pending_.push_back(std::move(update));
  }
  // Ends the current stream (status OK, as the real controller's handler
  // returns) once what is queued has been sent and answered.
  void DropStream() {
    absl::MutexLock lock(&mu_);
    drop_ = true;
  }
  // The next `n` streams end as soon as their hello is read, before any
  // update: a controller that accepts and then fails.
  void DropNextStreamsAtOnce(int n) {
    absl::MutexLock lock(&mu_);
    drop_at_once_ = n;
  }
  // Ends every stream, for shutting the server down.
  void Close() {
    absl::MutexLock lock(&mu_);
    closing_ = true;
  }

  // Waits until `done` holds for the streams seen so far.
  bool WaitUntil(std::function<bool(const std::vector<SeenStream>&)> done) {
    absl::MutexLock lock(&mu_);
    auto ready = [&] { return done(streams_); };
    return mu_.AwaitWithTimeout(absl::Condition(&ready), kWait);
  }
  bool WaitForStreams(size_t n) {
    return WaitUntil([n](const auto& s) { return s.size() >= n; });
  }
  bool WaitForAcks(size_t stream, size_t n) {
    return WaitUntil([=](const auto& s) {
      return s.size() > stream && s[stream].acks.size() >= n;
    });
  }
  bool WaitForEnd(size_t stream) {
    return WaitUntil(
        [=](const auto& s) { return s.size() > stream && s[stream].ended; });
  }

  std::vector<SeenStream> streams() {
    absl::MutexLock lock(&mu_);
    return streams_;
  }

  grpc::Status Watch(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::WatchResponse, v1::WatchRequest>* stream)
      override {
    v1::WatchRequest first;
    if (!stream->Read(&first) || !first.has_hello()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no hello");
    }
    size_t index;
    {
      absl::MutexLock lock(&mu_);
      index = streams_.size();
      streams_.push_back({.hello = first.hello(), .opened = absl::Now()});
      if (drop_at_once_ > 0) {
        --drop_at_once_;
        streams_[index].ended = true;
        return grpc::Status::OK;
      }
    }
    Serve(context, stream, index);
    absl::MutexLock lock(&mu_);
    streams_[index].ended = true;
    return grpc::Status::OK;
  }

 private:
  void Serve(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::WatchResponse, v1::WatchRequest>* stream,
      size_t index) {
    for (;;) {
      v1::WatchResponse update;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this] { return !pending_.empty() || drop_ || closing_; };
        // Short waits: a cancelled call (the agent stopping) only shows
        // in IsCancelled().
        while (!mu_.AwaitWithTimeout(absl::Condition(&ready),
                                     absl::Milliseconds(5))) {
          if (context->IsCancelled()) return;
        }
        if (closing_) return;
        if (pending_.empty()) {  // drop_, with nothing left to send
          drop_ = false;
          return;
        }
        update = std::move(pending_.front());
        pending_.pop_front();
      }
      if (!stream->Write(update)) return;
      v1::WatchRequest answer;
      if (!stream->Read(&answer)) return;
      absl::MutexLock lock(&mu_);
      streams_[index].acks.push_back(answer.ack());
    }
  }

  absl::Mutex mu_;
  std::deque<v1::WatchResponse> pending_ ABSL_GUARDED_BY(mu_);
  bool drop_ ABSL_GUARDED_BY(mu_) = false;
  int drop_at_once_ ABSL_GUARDED_BY(mu_) = 0;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<SeenStream> streams_ ABSL_GUARDED_BY(mu_);
};

// The agent's side: applies updates (failing the versions it is told to),
// remembers what it was handed, and resumes from the last version applied,
// as the agent does.
class FakeAgent {
 public:
  void FailVersion(uint64_t version, absl::Status status) {
    absl::MutexLock lock(&mu_);
    failures_[version] = std::move(status);
  }
  void SetResumeVersion(uint64_t version, const std::string& state_id = "") {
    absl::MutexLock lock(&mu_);
    applied_version_ = version;
    applied_state_id_ = state_id;
  }

  absl::Status Apply(const v1::WatchResponse& update) {
    absl::MutexLock lock(&mu_);
    handed_.push_back(update);
    auto failure = failures_.find(update.version());
    if (failure != failures_.end()) return failure->second;
    applied_version_ = update.version();
    applied_state_id_ = update.state_id();
    return absl::OkStatus();
  }
  sync::ResumePoint ResumeFrom() {
    absl::MutexLock lock(&mu_);
    ++resume_calls_;
    return {applied_version_, applied_state_id_};
  }

  std::vector<v1::WatchResponse> handed() {
    absl::MutexLock lock(&mu_);
    return handed_;
  }
  int resume_calls() {
    absl::MutexLock lock(&mu_);
    return resume_calls_;
  }

 private:
  absl::Mutex mu_;
  std::map<uint64_t, absl::Status> failures_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::WatchResponse> handed_ ABSL_GUARDED_BY(mu_);
  uint64_t applied_version_ ABSL_GUARDED_BY(mu_) = 0;
  std::string applied_state_id_ ABSL_GUARDED_BY(mu_);
  int resume_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

inline v1::WatchResponse Update(uint64_t version, bool snapshot = false,
                                const std::string& service = "",
                                const std::string& state_id = "") {
  v1::WatchResponse update;
  update.set_version(version);
  update.set_snapshot(snapshot);
  update.set_state_id(state_id);
  if (!service.empty()) {
    v1::ObjectMeta* meta =
        update.add_upserts()->mutable_service()->mutable_metadata();
    meta->set_namespace_("default");
    meta->set_name(service);
  }
  return update;
}

// Polls `done` until it holds or kWait passes; for client-side state that
// has no event to wait on (the counter, the gauge).
inline bool Eventually(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + kWait;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

}  // namespace switchyard::agent::testing

#endif  // SWITCHYARD_TESTS_UNIT_WATCH_CLIENT_FAKES_H_
