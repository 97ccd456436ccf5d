// SPDX-License-Identifier: Apache-2.0
// The agent's watch client given two controllers (fake ones, served in
// this process on unix sockets in a fresh /tmp folder): it moves to the
// second as soon as the first goes, without waiting a backoff step, and
// tells it the version and state id it holds; with both down it backs off
// per round of addresses and takes whichever comes back; the connected
// gauge names the controller in use. Also the --controller list's parsing.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/agent/controller_list.h"
#include "control/agent/watch_client.h"
#include "control/metrics/registry.h"
#include "tests/unit/watch_client_fakes.h"

namespace switchyard::agent {
namespace {

using testing::Eventually;
using testing::FakeAgent;
using testing::FakeController;
using testing::kPromptStop;
using testing::kWait;
using testing::Update;

constexpr char kStateA[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr char kStateB[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

// One fake controller and its server on its own socket.
struct Controller {
  std::string socket;
  std::string address;  // as the agent is given it
  FakeController fake;
  std::unique_ptr<grpc::Server> server;

  void Start() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket,
                             grpc::InsecureServerCredentials());
    builder.RegisterService(&fake);
    server = builder.BuildAndStart();
    ASSERT_NE(server, nullptr);
  }
  // What a killed controller's agents see: the stream ends and nothing
  // listens any more.
  void Stop() {
    if (server == nullptr) return;
    fake.Close();
    server->Shutdown(std::chrono::system_clock::now());
    server.reset();
    unlink(socket.c_str());
  }
};

class WatchClientFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/yard-failover-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    for (const char* name : {"a", "b"}) {
      auto c = std::make_unique<Controller>();
      c->socket = dir_ + "/" + name + ".sock";
      c->address = "unix://" + c->socket;
      controllers_.push_back(std::move(c));
    }
  }

  void TearDown() override {
    if (client_thread_.joinable()) StopClient();
    for (auto& c : controllers_) c->Stop();
    rmdir(dir_.c_str());
  }

  Controller& a() { return *controllers_[0]; }
  Controller& b() { return *controllers_[1]; }

  // Runs a client watching a then b. Every session's start (the moment
  // the client asks where to resume, just before its hello) is recorded.
  void StartClient(absl::Duration backoff_initial, absl::Duration backoff_max) {
    client_ = std::make_unique<WatchClient>(
        WatchClientConfig{.controllers = {a().address, b().address},
                          .node_name = "node-a",
                          .backoff_initial = backoff_initial,
                          .backoff_max = backoff_max},
        [this](const v1::WatchResponse& u) { return agent_.Apply(u); },
        [this] {
          {
            absl::MutexLock lock(&mu_);
            attempts_.push_back(absl::Now());
          }
          return agent_.ResumeFrom();
        },
        WatchClientMetrics{.connects = &connects_, .connected = &connected_});
    client_thread_ = std::thread([this] { client_->Run(); });
  }

  void StopClient() {
    client_->Stop();
    client_thread_.join();
  }

  std::vector<absl::Time> attempts() {
    absl::MutexLock lock(&mu_);
    return attempts_;
  }
  double Connected(const Controller& c) {
    return connected_.With({c.address}).value();
  }

  std::string dir_;
  std::vector<std::unique_ptr<Controller>> controllers_;
  FakeAgent agent_;
  metrics::Registry registry_;
  metrics::Counter connects_;
  metrics::Family<metrics::Gauge>& connected_ =
      registry_.AddGauge("test_connected", "", {"address"});
  std::unique_ptr<WatchClient> client_;
  std::thread client_thread_;
  absl::Mutex mu_;
  std::vector<absl::Time> attempts_ ABSL_GUARDED_BY(mu_);
};

TEST_F(WatchClientFailoverTest,
       MovesToTheNextControllerAtOnceAndSaysWhereItIs) {
  a().Start();
  b().Start();
  // A backoff step of 2 s: any wait before reaching b would show.
  StartClient(/*backoff_initial=*/absl::Seconds(2),
              /*backoff_max=*/absl::Seconds(4));
  a().fake.Send(Update(5, /*snapshot=*/true, "web", kStateA));
  a().fake.Send(Update(6, /*snapshot=*/false, "db", kStateA));
  ASSERT_TRUE(a().fake.WaitForAcks(0, 2));
  EXPECT_TRUE(b().fake.streams().empty()) << "watching both at once";

  const absl::Time killed = absl::Now();
  a().Stop();
  ASSERT_TRUE(b().fake.WaitForStreams(1));
  const absl::Duration took = b().fake.streams()[0].opened - killed;
  // A few milliseconds in practice; the bound leaves room for a loaded
  // machine and is still far below the 1.6 s a backoff step takes at
  // least.
  EXPECT_LT(took, absl::Milliseconds(500)) << "failover took " << took;

  // b hears where the agent is: a's version and a's state, so b can tell
  // whether it may resume it.
  const v1::WatchHello hello = b().fake.streams()[0].hello;
  EXPECT_EQ(hello.node_name(), "node-a");
  EXPECT_EQ(hello.last_applied_version(), 6u);
  EXPECT_EQ(hello.state_id(), kStateA);

  // b, with another history, answers with a snapshot; the agent then
  // holds b's version and state.
  b().fake.Send(Update(3, /*snapshot=*/true, "web", kStateB));
  ASSERT_TRUE(b().fake.WaitForAcks(0, 1));
  EXPECT_TRUE(b().fake.streams()[0].acks[0].applied());
  EXPECT_EQ(agent_.ResumeFrom().version, 3u);
  EXPECT_EQ(agent_.ResumeFrom().state_id, kStateB);
  EXPECT_TRUE(Eventually([&] { return Connected(b()) == 1; }));
  EXPECT_EQ(Connected(a()), 0);
  EXPECT_EQ(client_->connects(), 2);
}

TEST_F(WatchClientFailoverTest, GoesBackToTheFirstWhenTheSecondGoesToo) {
  a().Start();
  b().Start();
  StartClient(/*backoff_initial=*/absl::Seconds(2),
              /*backoff_max=*/absl::Seconds(4));
  a().fake.Send(Update(5, /*snapshot=*/true, "web", kStateA));
  ASSERT_TRUE(a().fake.WaitForAcks(0, 1));
  // a restarts: its stream ends, b takes over...
  a().fake.DropStream();
  ASSERT_TRUE(b().fake.WaitForStreams(1));
  b().fake.Send(Update(9, /*snapshot=*/true, "web", kStateB));
  ASSERT_TRUE(b().fake.WaitForAcks(0, 1));
  // ...and when b goes, a (back by now) is next, again without a pause:
  // b's stream was a good one, so a new round starts.
  const absl::Time dropped = absl::Now();
  b().fake.DropStream();
  ASSERT_TRUE(a().fake.WaitForStreams(2));
  EXPECT_LT(a().fake.streams()[1].opened - dropped, absl::Milliseconds(500));
  EXPECT_EQ(a().fake.streams()[1].hello.last_applied_version(), 9u);
  EXPECT_EQ(a().fake.streams()[1].hello.state_id(), kStateB);
}

TEST_F(WatchClientFailoverTest, BacksOffPerRoundThenTakesWhicheverComesBack) {
  // Nothing listens: attempts come in pairs (a, then b at once), and the
  // pause between pairs doubles: at least 80, 160, 320 ms.
  StartClient(/*backoff_initial=*/absl::Milliseconds(100),
              /*backoff_max=*/absl::Seconds(2));
  ASSERT_TRUE(Eventually([&] { return attempts().size() >= 8; }));
  std::vector<absl::Time> at = attempts();
  absl::Duration base = absl::Milliseconds(100);
  for (size_t round = 0; round + 1 < 4; ++round) {
    const absl::Duration within = at[2 * round + 1] - at[2 * round];
    const absl::Duration between = at[2 * round + 2] - at[2 * round + 1];
    // A refused connect on a unix socket takes a millisecond or two.
    EXPECT_LT(within, base * 0.8)
        << "round " << round << ": paused between a and b";
    EXPECT_GE(between, base * 0.8 - absl::Milliseconds(1))
        << "after round " << round;
    base *= 2;
  }
  EXPECT_EQ(Connected(a()), 0);
  EXPECT_EQ(Connected(b()), 0);

  // The second address comes back first: the next round reaches it.
  b().Start();
  ASSERT_TRUE(b().fake.WaitForStreams(1));
  b().fake.Send(Update(1, /*snapshot=*/true, "web", kStateB));
  ASSERT_TRUE(b().fake.WaitForAcks(0, 1));
  EXPECT_TRUE(Eventually([&] { return Connected(b()) == 1; }));
  EXPECT_TRUE(a().fake.streams().empty());
}

TEST_F(WatchClientFailoverTest, StopEndsRunPromptlyWhileEveryAddressIsDown) {
  StartClient(/*backoff_initial=*/absl::Seconds(30),
              /*backoff_max=*/absl::Seconds(30));
  ASSERT_TRUE(Eventually([&] { return attempts().size() >= 2; }));
  const absl::Time start = absl::Now();
  StopClient();
  EXPECT_LT(absl::Now() - start, kPromptStop);
  EXPECT_EQ(attempts().size(), 2u) << "a round without a pause after it";
}

TEST_F(WatchClientFailoverTest, GaugeShowsEveryAddressFromTheStart) {
  StartClient(absl::Seconds(30), absl::Seconds(30));
  std::string text = registry_.Render();
  EXPECT_NE(text.find("test_connected{address=\"" + a().address + "\"} 0"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("test_connected{address=\"" + b().address + "\"} 0"),
            std::string::npos)
      << text;
}

TEST(ControllerListTest, OneAddressOrSeveralInOrder) {
  absl::StatusOr<std::vector<std::string>> one =
      ParseControllerList("unix:///run/switchyard/controller.sock");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(*one,
            std::vector<std::string>{"unix:///run/switchyard/controller.sock"});
  absl::StatusOr<std::vector<std::string>> two =
      ParseControllerList("10.0.0.1:9740,unix:///tmp/b.sock,ctl-2:9740");
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(*two, (std::vector<std::string>{
                      "10.0.0.1:9740", "unix:///tmp/b.sock", "ctl-2:9740"}));
}

TEST(ControllerListTest, EmptyEntriesWhitespaceAndRepeatsAreFlagErrors) {
  struct Case {
    const char* list;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"",
            "--controller: no address given (want unix:///path or "
            "host:port, comma-separated for several)"},
           {"a:1,,b:2",
            "--controller: entry 2 of 'a:1,,b:2' is empty (a stray comma?)"},
           {"a:1,",
            "--controller: entry 2 of 'a:1,' is empty (a stray comma?)"},
           {",a:1",
            "--controller: entry 1 of ',a:1' is empty (a stray comma?)"},
           {"a:1, b:2",
            "--controller: entry 2 ' b:2' contains whitespace; separate "
            "addresses with commas only"},
           {"a:1 ",
            "--controller: entry 1 'a:1 ' contains whitespace; separate "
            "addresses with commas only"},
           {"a:1,a:1", "--controller: 'a:1' is listed twice"},
       }) {
    absl::StatusOr<std::vector<std::string>> parsed =
        ParseControllerList(c.list);
    ASSERT_FALSE(parsed.ok()) << "'" << c.list << "' accepted";
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message(), c.message) << c.list;
  }
}

}  // namespace
}  // namespace switchyard::agent
