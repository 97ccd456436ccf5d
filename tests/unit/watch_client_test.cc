// SPDX-License-Identifier: Apache-2.0
// The agent's watch client against a fake controller served in this
// process on a unix socket in a fresh /tmp folder: the hello, acks and
// rejections, reconnecting after a dropped stream, Stop() in every state,
// and the connects counter and connected gauge. Backoffs are milliseconds
// (or long where a test checks that Stop cuts one short); every wait is
// for an event, bounded by kWait.
#include "control/agent/watch_client.h"

#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/metrics/registry.h"
#include "switchyard/v1/controller.grpc.pb.h"

namespace switchyard::agent {
namespace {

// Every wait for something the client or the fake does. Events take
// milliseconds; this only bounds a broken run.
constexpr absl::Duration kWait = absl::Seconds(2);
// How soon after Stop() Run() must return. A connected stream is
// cancelled, a backoff wait is interrupted: both take milliseconds.
constexpr absl::Duration kPromptStop = absl::Milliseconds(500);

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
  void SetResumeVersion(uint64_t version) {
    absl::MutexLock lock(&mu_);
    applied_version_ = version;
  }

  absl::Status Apply(const v1::WatchResponse& update) {
    absl::MutexLock lock(&mu_);
    handed_.push_back(update);
    auto failure = failures_.find(update.version());
    if (failure != failures_.end()) return failure->second;
    applied_version_ = update.version();
    return absl::OkStatus();
  }
  uint64_t ResumeFrom() {
    absl::MutexLock lock(&mu_);
    ++resume_calls_;
    return applied_version_;
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
  int resume_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

v1::WatchResponse Update(uint64_t version, bool snapshot = false,
                         const std::string& service = "") {
  v1::WatchResponse update;
  update.set_version(version);
  update.set_snapshot(snapshot);
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
bool Eventually(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + kWait;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

class WatchClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/yard-watch-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    socket_ = dir_ + "/controller.sock";
  }

  void TearDown() override {
    if (client_thread_.joinable()) StopClient();
    StopServer();
    unlink(socket_.c_str());
    rmdir(dir_.c_str());
  }

  void StartServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket_,
                             grpc::InsecureServerCredentials());
    builder.RegisterService(&controller_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void StopServer() {
    if (server_ == nullptr) return;
    controller_.Close();
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(1));
    server_.reset();
  }

  // Runs a client for node-a against the socket in its own thread.
  void StartClient(absl::Duration backoff_initial = absl::Milliseconds(5),
                   absl::Duration backoff_max = absl::Milliseconds(50)) {
    client_ = std::make_unique<WatchClient>(
        WatchClientConfig{.controller = "unix://" + socket_,
                          .node_name = "node-a",
                          .backoff_initial = backoff_initial,
                          .backoff_max = backoff_max},
        [this](const v1::WatchResponse& u) { return agent_.Apply(u); },
        [this] { return agent_.ResumeFrom(); },
        WatchClientMetrics{.connects = &connects_, .connected = &connected_});
    client_thread_ = std::thread([this] {
      client_->Run();
      run_returned_.Notify();
    });
  }

  // Stops the client; how long Run() took to return. If it did not within
  // kWait, the server goes away to end the stream, so the test fails
  // rather than hangs.
  absl::Duration StopClient() {
    const absl::Time start = absl::Now();
    client_->Stop();
    bool returned = run_returned_.WaitForNotificationWithTimeout(kWait);
    absl::Duration took = absl::Now() - start;
    EXPECT_TRUE(returned) << "Run() still running " << kWait << " after Stop()";
    if (!returned) StopServer();
    client_thread_.join();
    return took;
  }

  std::string dir_;
  std::string socket_;
  FakeController controller_;
  std::unique_ptr<grpc::Server> server_;
  FakeAgent agent_;
  metrics::Counter connects_;
  metrics::Gauge connected_;
  std::unique_ptr<WatchClient> client_;
  std::thread client_thread_;
  absl::Notification run_returned_;
};

TEST_F(WatchClientTest, HelloNamesTheNodeAndTheResumeVersion) {
  StartServer();
  agent_.SetResumeVersion(42);
  StartClient();
  ASSERT_TRUE(controller_.WaitForStreams(1));
  const v1::WatchHello hello = controller_.streams()[0].hello;
  EXPECT_EQ(hello.node_name(), "node-a");
  EXPECT_EQ(hello.last_applied_version(), 42u);
  EXPECT_EQ(agent_.resume_calls(), 1);
}

TEST_F(WatchClientTest, HandsEveryUpdateToTheHandlerAndAcksItsVersion) {
  StartServer();
  StartClient();
  std::vector<v1::WatchResponse> sent = {Update(7, /*snapshot=*/true, "web"),
                                         Update(8, false, "db"), Update(9)};
  for (const v1::WatchResponse& update : sent) controller_.Send(update);
  ASSERT_TRUE(controller_.WaitForAcks(0, 3));

  std::vector<v1::WatchResponse> handed = agent_.handed();
  ASSERT_EQ(handed.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(handed[i], sent[i]))
        << "update " << i << ": handed " << handed[i].ShortDebugString()
        << ", sent " << sent[i].ShortDebugString();
  }
  std::vector<v1::WatchAck> acks = controller_.streams()[0].acks;
  ASSERT_EQ(acks.size(), 3u);
  for (size_t i = 0; i < acks.size(); ++i) {
    EXPECT_EQ(acks[i].version(), sent[i].version());
    EXPECT_TRUE(acks[i].applied()) << acks[i].ShortDebugString();
    EXPECT_EQ(acks[i].error(), "");
  }
  EXPECT_EQ(controller_.streams().size(), 1u);
}

TEST_F(WatchClientTest, HandlerErrorIsSentAsRejectionAndTheStreamGoesOn) {
  StartServer();
  agent_.FailVersion(
      2, absl::InvalidArgumentError("service default/web: no free slot"));
  StartClient();
  controller_.Send(Update(1, /*snapshot=*/true, "web"));
  controller_.Send(Update(2, false, "web"));
  controller_.Send(Update(3, false, "db"));
  ASSERT_TRUE(controller_.WaitForAcks(0, 3));

  std::vector<v1::WatchAck> acks = controller_.streams()[0].acks;
  ASSERT_EQ(acks.size(), 3u);
  EXPECT_EQ(acks[0].version(), 1u);
  EXPECT_TRUE(acks[0].applied());
  // The rejection: the version, applied false, and the handler's message
  // as it was (what `yardctl status --cluster` shows).
  EXPECT_EQ(acks[1].version(), 2u);
  EXPECT_FALSE(acks[1].applied());
  EXPECT_EQ(acks[1].error(), "service default/web: no free slot");
  EXPECT_EQ(acks[2].version(), 3u);
  EXPECT_TRUE(acks[2].applied());
  EXPECT_EQ(acks[2].error(), "");
  EXPECT_EQ(controller_.streams().size(), 1u) << "a rejection reconnected";
}

TEST_F(WatchClientTest, ReconnectsAfterADroppedStreamFromTheCurrentVersion) {
  StartServer();
  StartClient();
  controller_.Send(Update(5, /*snapshot=*/true, "web"));
  controller_.DropStream();
  ASSERT_TRUE(controller_.WaitForStreams(2));

  std::vector<SeenStream> streams = controller_.streams();
  EXPECT_EQ(streams[0].hello.last_applied_version(), 0u);
  ASSERT_EQ(streams[0].acks.size(), 1u);
  EXPECT_EQ(streams[0].acks[0].version(), 5u);
  EXPECT_TRUE(streams[0].ended);
  // Asked again at reconnect, not remembered from the first hello.
  EXPECT_EQ(streams[1].hello.node_name(), "node-a");
  EXPECT_EQ(streams[1].hello.last_applied_version(), 5u);
  EXPECT_EQ(agent_.resume_calls(), 2);

  // And the new stream carries on as the first did.
  controller_.Send(Update(6, false, "db"));
  ASSERT_TRUE(controller_.WaitForAcks(1, 1));
  v1::WatchAck ack = controller_.streams()[1].acks[0];
  EXPECT_EQ(ack.version(), 6u);
  EXPECT_TRUE(ack.applied());
  EXPECT_EQ(client_->connects(), 2);
}

TEST_F(WatchClientTest, BacksOffOnlyUntilAStreamDeliversAnUpdate) {
  // Five streams end before any update: the waits between them double
  // (20, 40, 80, 160, 320 ms, each at least 80% of that). The sixth
  // delivers an update and then ends: the backoff starts over, so the
  // seventh comes after about 20 ms, not the 640 ms due next otherwise.
  StartServer();
  controller_.DropNextStreamsAtOnce(5);
  controller_.Send(Update(1, /*snapshot=*/true));
  controller_.DropStream();
  StartClient(/*backoff_initial=*/absl::Milliseconds(20),
              /*backoff_max=*/absl::Seconds(1));
  ASSERT_TRUE(controller_.WaitForStreams(7));

  std::vector<SeenStream> streams = controller_.streams();
  EXPECT_TRUE(streams[5].acks.size() == 1 && streams[5].acks[0].applied());
  // A gap between hellos is the backoff wait plus a reconnect, so only
  // its lower bound is exact; load can only lengthen it.
  const absl::Duration slack = absl::Milliseconds(1);
  absl::Duration base = absl::Milliseconds(20);
  for (int i = 1; i <= 5; ++i) {
    absl::Duration gap = streams[i].opened - streams[i - 1].opened;
    EXPECT_GE(gap, base * 0.8 - slack)
        << "between streams " << i - 1 << " and " << i;
    base *= 2;
  }
  EXPECT_LT(streams[6].opened - streams[5].opened, base * 0.8)
      << "no reset after a stream that delivered an update";
}

TEST_F(WatchClientTest, AcceptsUpdatesLargerThanGrpcsDefaultLimit) {
  // A large cluster's snapshot is beyond gRPC's 4 MiB receive default.
  StartServer();
  StartClient();
  v1::WatchResponse big = Update(1, /*snapshot=*/true, "web");
  (*big.mutable_upserts(0)
        ->mutable_service()
        ->mutable_metadata()
        ->mutable_annotations())["filler"] =
      std::string((4 << 20) + (256 << 10), 'x');
  controller_.Send(big);
  ASSERT_TRUE(controller_.WaitForAcks(0, 1));
  EXPECT_TRUE(controller_.streams()[0].acks[0].applied());
  std::vector<v1::WatchResponse> handed = agent_.handed();
  ASSERT_EQ(handed.size(), 1u);
  EXPECT_EQ(handed[0].ByteSizeLong(), big.ByteSizeLong());
}

TEST_F(WatchClientTest, KeepsRetryingUntilTheControllerIsThere) {
  // Nothing listens yet: every attempt fails and is retried after a
  // backoff; once the controller is up the next attempt connects.
  StartClient();
  ASSERT_TRUE(Eventually([&] { return client_->connects() >= 3; }));
  EXPECT_EQ(connected_.value(), 0);
  StartServer();
  ASSERT_TRUE(controller_.WaitForStreams(1));
  controller_.Send(Update(1, /*snapshot=*/true));
  ASSERT_TRUE(controller_.WaitForAcks(0, 1));
  EXPECT_TRUE(controller_.streams()[0].acks[0].applied());
}

TEST_F(WatchClientTest, StopEndsRunPromptlyWhileConnected) {
  StartServer();
  StartClient();
  controller_.Send(Update(1, /*snapshot=*/true));
  ASSERT_TRUE(controller_.WaitForAcks(0, 1));

  EXPECT_LT(StopClient(), kPromptStop);
  // The controller sees the agent go (the call cancelled).
  EXPECT_TRUE(controller_.WaitForEnd(0));
  EXPECT_EQ(controller_.streams().size(), 1u);
}

TEST_F(WatchClientTest, StopEndsRunPromptlyWhileWaitingForTheFirstUpdate) {
  // Connected, but the controller has said nothing yet.
  StartServer();
  StartClient();
  ASSERT_TRUE(controller_.WaitForStreams(1));
  EXPECT_LT(StopClient(), kPromptStop);
  EXPECT_TRUE(controller_.WaitForEnd(0));
}

TEST_F(WatchClientTest, StopEndsRunPromptlyWhileBackingOff) {
  // No controller, and a 30 s backoff: after the first failed attempt the
  // client waits, and Stop() must cut that wait short.
  StartClient(/*backoff_initial=*/absl::Seconds(30),
              /*backoff_max=*/absl::Seconds(30));
  ASSERT_TRUE(Eventually([&] { return client_->connects() >= 1; }));
  // A refused connect on a unix socket fails within a millisecond or two;
  // give it ample time to be in the backoff wait.
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(client_->connects(), 1) << "retried without backing off";
  EXPECT_LT(StopClient(), kPromptStop);
  EXPECT_EQ(client_->connects(), 1);
}

TEST_F(WatchClientTest, StopBeforeRunMeansRunReturnsAtOnce) {
  StartServer();
  client_ = std::make_unique<WatchClient>(
      WatchClientConfig{.controller = "unix://" + socket_,
                        .node_name = "node-a"},
      [this](const v1::WatchResponse& u) { return agent_.Apply(u); },
      [this] { return agent_.ResumeFrom(); });
  client_->Stop();
  const absl::Time start = absl::Now();
  client_->Run();
  EXPECT_LT(absl::Now() - start, kPromptStop);
  EXPECT_EQ(client_->connects(), 0);
  EXPECT_TRUE(controller_.streams().empty());
}

TEST_F(WatchClientTest, ConnectsCounterAndConnectedGaugeFollowTheStream) {
  StartServer();
  EXPECT_EQ(connects_.value(), 0);
  EXPECT_EQ(connected_.value(), 0);
  StartClient();

  // Stream open, nothing received: counted, not yet "connected" (the
  // gauge means the controller has answered).
  ASSERT_TRUE(controller_.WaitForStreams(1));
  EXPECT_EQ(connects_.value(), 1);
  EXPECT_EQ(connected_.value(), 0);

  controller_.Send(Update(1, /*snapshot=*/true));
  ASSERT_TRUE(controller_.WaitForAcks(0, 1));
  EXPECT_EQ(connected_.value(), 1);

  // Dropped: back to 0 before the next stream opens, and the reconnect
  // counted.
  controller_.DropStream();
  ASSERT_TRUE(controller_.WaitForStreams(2));
  EXPECT_EQ(connects_.value(), 2);
  EXPECT_EQ(client_->connects(), 2);
  EXPECT_EQ(connected_.value(), 0);

  controller_.Send(Update(2));
  ASSERT_TRUE(controller_.WaitForAcks(1, 1));
  EXPECT_EQ(connected_.value(), 1);

  EXPECT_LT(StopClient(), kPromptStop);
  EXPECT_EQ(connected_.value(), 0);
  EXPECT_EQ(connects_.value(), 2);
}

}  // namespace
}  // namespace switchyard::agent
