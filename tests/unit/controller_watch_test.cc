// SPDX-License-Identifier: Apache-2.0
// The controller's agent watch (AgentSyncService over a real, in-process
// ClusterStore, served on a unix socket in a temp dir): an agent's hello
// is resumed with a delta only when its version is from this store's
// history (same state id) and still held; from another controller's
// history, or with no id, it gets a snapshot. Two stores stand for two
// controllers. And programming latency: a write through the ClusterState
// service timed from its arrival to the stream's ack.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/controller/cluster_store.h"
#include "control/controller/controller_metrics.h"
#include "control/controller/node_sync_table.h"
#include "control/controller/programming_latency.h"
#include "control/controller/server.h"
#include "control/metrics/registry.h"
#include "gtest/gtest.h"
#include "tests/unit/controller_store_test_util.h"

namespace switchyard::controller {
namespace {

using testing::Objs;
using testing::Svc;
using testing::TempDir;

// One controller: a store and the watch service over it, served on a
// socket in `dir`.
class Controller {
 public:
  Controller(const TempDir& dir, const std::string& name, StoreConfig config)
      : socket_(dir.File(name + ".sock")),
        store_(testing::OpenOrDie(std::move(config))),
        metrics_(ControllerMetrics::Register(registry_)),
        service_(store_.get(), &nodes_, &stopping_, &metrics_, &latency_),
        cluster_state_(store_.get(), &nodes_, &metrics_, &latency_) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket_,
                             grpc::InsecureServerCredentials());
    builder.RegisterService(&service_);
    builder.RegisterService(&cluster_state_);
    server_ = builder.BuildAndStart();
  }
  ~Controller() {
    stopping_.Notify();
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(1));
    }
  }

  bool ok() const { return store_ != nullptr && server_ != nullptr; }
  ClusterStore& store() { return *store_; }
  const std::string& socket() const { return socket_; }
  // Programming latencies observed so far.
  std::vector<absl::Duration> observed() {
    absl::MutexLock lock(&mu_);
    return observed_;
  }

  // Opens a watch with this hello and returns the first response.
  v1::WatchResponse FirstResponse(uint64_t version,
                                  const std::string& state_id) {
    auto stub = v1::AgentSync::NewStub(grpc::CreateChannel(
        "unix://" + socket_, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    auto stream = stub->Watch(&context);
    v1::WatchRequest hello;
    hello.mutable_hello()->set_node_name("node-a");
    hello.mutable_hello()->set_last_applied_version(version);
    hello.mutable_hello()->set_state_id(state_id);
    v1::WatchResponse first;
    EXPECT_TRUE(stream->Write(hello));
    EXPECT_TRUE(stream->Read(&first)) << "no response";
    context.TryCancel();
    stream->Finish().IgnoreError();
    return first;
  }

 private:
  std::string socket_;
  std::unique_ptr<ClusterStore> store_;
  metrics::Registry registry_;
  ControllerMetrics metrics_;
  NodeSyncTable nodes_;
  absl::Notification stopping_;
  absl::Mutex mu_;
  std::vector<absl::Duration> observed_ ABSL_GUARDED_BY(mu_);
  ProgrammingLatency latency_{[this](absl::Duration d) {
    absl::MutexLock lock(&mu_);
    observed_.push_back(d);
  }};
  AgentSyncService service_;
  ClusterStateService cluster_state_;
  std::unique_ptr<grpc::Server> server_;
};

std::vector<std::string> Names(const v1::WatchResponse& update) {
  std::vector<std::string> names;
  for (const v1::Object& object : update.upserts()) {
    names.push_back(object.service().metadata().name());
  }
  return names;
}

// Versions 1..3, one service each: a, b, c.
void WriteThree(ClusterStore& store) {
  for (const char* name : {"a", "b", "c"}) {
    ASSERT_TRUE(store.Apply(Objs({Svc(name)})).ok());
  }
}

TEST(ControllerWatchTest, SameStateAndHeldVersionResumesWithADelta) {
  TempDir dir;
  Controller controller(dir, "a", {});
  ASSERT_TRUE(controller.ok());
  WriteThree(controller.store());
  v1::WatchResponse first =
      controller.FirstResponse(1, controller.store().state_id());
  EXPECT_FALSE(first.snapshot());
  EXPECT_EQ(first.version(), 3u);
  EXPECT_EQ(first.state_id(), controller.store().state_id());
  EXPECT_EQ(Names(first), (std::vector<std::string>{"b", "c"}));
}

TEST(ControllerWatchTest, VersionFromAnotherStateGetsASnapshot) {
  TempDir dir;
  Controller a(dir, "a", {});
  Controller b(dir, "b", {});
  ASSERT_TRUE(a.ok() && b.ok());
  // Both at version 3, different contents: a's version 1 means nothing
  // to b.
  WriteThree(a.store());
  for (const char* name : {"x", "y", "z"}) {
    ASSERT_TRUE(b.store().Apply(Objs({Svc(name)})).ok());
  }
  v1::WatchResponse first = b.FirstResponse(1, a.store().state_id());
  EXPECT_TRUE(first.snapshot());
  EXPECT_EQ(first.version(), 3u);
  EXPECT_EQ(first.state_id(), b.store().state_id());
  EXPECT_EQ(Names(first), (std::vector<std::string>{"x", "y", "z"}));
}

TEST(ControllerWatchTest, VersionWithoutAStateIdGetsASnapshot) {
  // An agent from before state ids: its version cannot be placed.
  TempDir dir;
  Controller controller(dir, "a", {});
  ASSERT_TRUE(controller.ok());
  WriteThree(controller.store());
  v1::WatchResponse first = controller.FirstResponse(2, "");
  EXPECT_TRUE(first.snapshot());
  EXPECT_EQ(Names(first), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(ControllerWatchTest, SameStateButVersionNoLongerHeldGetsASnapshot) {
  TempDir dir;
  StoreConfig config;
  config.retained_deltas = 1;
  Controller controller(dir, "a", config);
  ASSERT_TRUE(controller.ok());
  WriteThree(controller.store());
  v1::WatchResponse first =
      controller.FirstResponse(1, controller.store().state_id());
  EXPECT_TRUE(first.snapshot());
  EXPECT_EQ(first.version(), 3u);
}

TEST(ControllerWatchTest, RestartedControllerResumesItsOwnHistory) {
  TempDir dir;
  StoreConfig config;
  config.state_dir = dir.File("state");
  std::string id;
  {
    Controller before(dir, "before", config);
    ASSERT_TRUE(before.ok());
    WriteThree(before.store());
    id = before.store().state_id();
  }
  Controller after(dir, "after", config);
  ASSERT_TRUE(after.ok());
  v1::WatchResponse first = after.FirstResponse(2, id);
  EXPECT_FALSE(first.snapshot());
  EXPECT_EQ(first.state_id(), id);
  EXPECT_EQ(Names(first), (std::vector<std::string>{"c"}));
}

// The stream's first ack (its snapshot) is connecting, not a change, and
// is not timed; a write after it is, from the moment the ClusterState
// service received it (the reply says when) to the agent's ack.
TEST(ControllerWatchTest, AWriteIsTimedFromItsArrivalToTheAgentsAck) {
  TempDir dir;
  Controller controller(dir, "a", {});
  ASSERT_TRUE(controller.ok());
  auto channel = grpc::CreateChannel("unix://" + controller.socket(),
                                     grpc::InsecureChannelCredentials());
  auto sync = v1::AgentSync::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  auto stream = sync->Watch(&context);
  v1::WatchRequest request;
  request.mutable_hello()->set_node_name("node-a");
  ASSERT_TRUE(stream->Write(request));
  v1::WatchResponse update;
  ASSERT_TRUE(stream->Read(&update));
  ASSERT_TRUE(update.snapshot());
  request.mutable_ack()->set_version(update.version());
  request.mutable_ack()->set_applied(true);
  ASSERT_TRUE(stream->Write(request));

  auto state = v1::ClusterState::NewStub(channel);
  v1::ApplyRequest apply;
  *apply.add_objects() = testing::Obj(Svc("web"));
  v1::ApplyResponse applied;
  grpc::ClientContext apply_context;
  ASSERT_TRUE(state->Apply(&apply_context, apply, &applied).ok());
  const absl::Time arrived = absl::FromUnixMicros(applied.received_unix_us());
  EXPECT_LE(arrived, absl::Now());
  ASSERT_TRUE(stream->Read(&update));
  ASSERT_EQ(update.version(), applied.version());
  // The agent takes its time: the latency must include it.
  constexpr absl::Duration kApplying = absl::Milliseconds(20);
  absl::SleepFor(kApplying);
  request.mutable_ack()->set_version(update.version());
  ASSERT_TRUE(stream->Write(request));
  const absl::Time acked = absl::Now();

  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (controller.observed().empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  std::vector<absl::Duration> observed = controller.observed();
  ASSERT_EQ(observed.size(), 1u) << "the snapshot's ack was timed too";
  EXPECT_GE(observed[0], kApplying);
  EXPECT_LE(observed[0], absl::Now() - arrived);
  EXPECT_GE(observed[0], acked - arrived - absl::Milliseconds(100));
  context.TryCancel();
  stream->Finish().IgnoreError();
}

}  // namespace
}  // namespace switchyard::controller
