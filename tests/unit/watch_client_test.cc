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
#include "tests/unit/watch_client_fakes.h"

namespace switchyard::agent {
namespace {

using testing::Eventually;
using testing::FakeAgent;
using testing::FakeController;
using testing::kPromptStop;
using testing::kWait;
using testing::SeenStream;
using testing::Update;

class WatchClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/yard-watch-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    socket_ = dir_ + "/controller.sock";
    connected_gauge_ = &connected_.With({"unix://" + socket_});
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

  // Runs a client for node-a against the socket in its own thread,
  // handing updates to agent_ unless `handler` is given.
  void StartClient(absl::Duration backoff_initial = absl::Milliseconds(5),
                   absl::Duration backoff_max = absl::Milliseconds(50),
                   WatchClient::Handler handler = nullptr) {
    if (!handler) {
      handler = [this](const v1::WatchResponse& u) { return agent_.Apply(u); };
    }
    client_ = std::make_unique<WatchClient>(
        WatchClientConfig{.controllers = {"unix://" + socket_},
                          .node_name = "node-a",
                          .backoff_initial = backoff_initial,
                          .backoff_max = backoff_max},
        std::move(handler), [this] { return agent_.ResumeFrom(); },
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
  metrics::Registry registry_;
  metrics::Family<metrics::Gauge>& connected_ =
      registry_.AddGauge("test_connected", "", {"address"});
  // connected_'s one series, for the socket's address.
  metrics::Gauge* connected_gauge_ = nullptr;
  std::unique_ptr<WatchClient> client_;
  std::thread client_thread_;
  absl::Notification run_returned_;
};

TEST_F(WatchClientTest, HelloNamesTheNodeTheResumeVersionAndItsState) {
  StartServer();
  agent_.SetResumeVersion(42, "0123456789abcdef0123456789abcdef");
  StartClient();
  ASSERT_TRUE(controller_.WaitForStreams(1));
  const v1::WatchHello hello = controller_.streams()[0].hello;
  EXPECT_EQ(hello.node_name(), "node-a");
  EXPECT_EQ(hello.last_applied_version(), 42u);
  EXPECT_EQ(hello.state_id(), "0123456789abcdef0123456789abcdef");
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

// What a handler leaves for after the ack (the agent's log line, returning
// memory) runs once the controller has the ack, for applied and rejected
// updates alike: run before, it would wait here for an ack not yet sent.
TEST_F(WatchClientTest, AfterAckWorkRunsOnceTheControllerHasTheAck) {
  StartServer();
  absl::Mutex mu;
  std::vector<bool> ack_was_in;  // per update, in order
  StartClient(absl::Milliseconds(5), absl::Milliseconds(50),
              [&](const v1::WatchResponse& u) -> Applied {
                const size_t acks_before = u.version();
                absl::Status status =
                    u.version() == 2 ? absl::InvalidArgumentError("refused")
                                     : absl::OkStatus();
                return {status, [&, acks_before] {
                          bool in = controller_.WaitForAcks(0, acks_before);
                          absl::MutexLock lock(&mu);
                          ack_was_in.push_back(in);
                        }};
              });
  controller_.Send(Update(1, /*snapshot=*/true, "web"));
  controller_.Send(Update(2, false, "web"));
  ASSERT_TRUE(controller_.WaitForAcks(0, 2));
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return ack_was_in.size() == 2;
  }));
  absl::MutexLock lock(&mu);
  EXPECT_TRUE(ack_was_in[0]) << "ran before the controller had ack 1";
  EXPECT_TRUE(ack_was_in[1]) << "ran before the controller had rejection 2";
  EXPECT_FALSE(controller_.streams()[0].acks[1].applied());
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
  EXPECT_EQ(connected_gauge_->value(), 0);
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
      WatchClientConfig{.controllers = {"unix://" + socket_},
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
  EXPECT_EQ(connected_gauge_->value(), 0);
  StartClient();

  // Stream open, nothing received: counted, not yet "connected" (the
  // gauge means the controller has answered).
  ASSERT_TRUE(controller_.WaitForStreams(1));
  EXPECT_EQ(connects_.value(), 1);
  EXPECT_EQ(connected_gauge_->value(), 0);

  controller_.Send(Update(1, /*snapshot=*/true));
  ASSERT_TRUE(controller_.WaitForAcks(0, 1));
  EXPECT_EQ(connected_gauge_->value(), 1);

  // Dropped: back to 0 before the next stream opens, and the reconnect
  // counted.
  controller_.DropStream();
  ASSERT_TRUE(controller_.WaitForStreams(2));
  EXPECT_EQ(connects_.value(), 2);
  EXPECT_EQ(client_->connects(), 2);
  EXPECT_EQ(connected_gauge_->value(), 0);

  controller_.Send(Update(2));
  ASSERT_TRUE(controller_.WaitForAcks(1, 1));
  EXPECT_EQ(connected_gauge_->value(), 1);

  EXPECT_LT(StopClient(), kPromptStop);
  EXPECT_EQ(connected_gauge_->value(), 0);
  EXPECT_EQ(connects_.value(), 2);
}

}  // namespace
}  // namespace switchyard::agent
