// SPDX-License-Identifier: Apache-2.0
// `yardctl status --cluster` end to end against an in-process fake
// controller that answers ListNodeSync: what is printed, and how a
// controller without the call reads.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "control/ctl/cli.h"
#include "control/ctl/client.h"
#include "control/ctl/commands.h"
#include "switchyard/v1/controller.grpc.pb.h"

namespace switchyard::ctl {
namespace {

class FakeNodeSync final : public v1::ClusterState::Service {
 public:
  grpc::Status ListNodeSync(grpc::ServerContext*,
                            const v1::ListNodeSyncRequest*,
                            v1::ListNodeSyncResponse* response) override {
    response->set_version(7);
    v1::NodeSync* b = response->add_nodes();
    b->set_node_name("node-b");
    b->set_acked_version(5);
    b->set_rejected_version(6);
    b->set_rejected_error("slot map full");
    v1::NodeSync* a = response->add_nodes();
    a->set_node_name("node-a");
    a->set_acked_version(7);
    a->set_connected(true);
    return grpc::Status::OK;
  }
};

class StatusCommandTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(&fake_); }
  void TearDown() override { server_->Shutdown(); }

  void Start(grpc::Service* service) {
    grpc::ServerBuilder builder;
    builder.RegisterService(service);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    client_ = std::make_unique<ClusterClient>(
        server_->InProcessChannel(grpc::ChannelArguments()), "fake",
        absl::Seconds(5));
  }

  absl::Status Run(const std::vector<std::string>& args) {
    out_.str("");
    absl::StatusOr<CommandLine> line = ParseCommandLine(args);
    if (!line.ok()) return line.status();
    Context context{.client = client_.get(), .out = &out_, .err = &err_};
    return RunCommand(*line, context);
  }

  FakeNodeSync fake_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ClusterClient> client_;
  std::ostringstream out_, err_;
};

TEST_F(StatusCommandTest, ClusterTable) {
  ASSERT_TRUE(Run({"status", "--cluster"}).ok());
  EXPECT_EQ(out_.str(),
            "Controller fake at version 7\n"
            "\n"
            "NODE     ACKED   BEHIND   CONNECTED   LAST-SEEN   REJECTED   "
            "ERROR\n"
            "node-a   7       0        yes         never       -          -\n"
            "node-b   5       2        no          never       6          "
            "slot map full\n");
}

TEST_F(StatusCommandTest, ClusterJson) {
  ASSERT_TRUE(Run({"status", "--cluster", "-o", "json"}).ok());
  EXPECT_NE(out_.str().find("\"node\": \"node-b\",\n"
                            "            \"acked_version\": 5,\n"
                            "            \"behind\": 2,"),
            std::string::npos)
      << out_.str();
}

TEST_F(StatusCommandTest, ClusterTakesNoNodeFlags) {
  absl::Status s = Run({"status", "--cluster", "--node", "node-a"});
  EXPECT_EQ(s.message(),
            "status --cluster asks the controller about every node; it "
            "takes no --node, --bpffs-root or --netns");
}

TEST_F(StatusCommandTest, ControllerWithoutTheCall) {
  server_->Shutdown();
  v1::ClusterState::Service unimplemented;
  Start(&unimplemented);
  absl::Status s = Run({"status", "--cluster"});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(s.message(),
            "yard-controller at fake does not implement "
            "ClusterState.ListNodeSync (is yardctl newer than the "
            "controller?)");
}

}  // namespace
}  // namespace switchyard::ctl
