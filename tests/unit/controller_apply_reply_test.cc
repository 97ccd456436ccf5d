// SPDX-License-Identifier: Apache-2.0
// What yard-controller's Apply answers: the objects as stored (allocations
// made) by default, and only version, outcomes and warnings for a writer
// that asked for no objects back (ApplyRequest.omit_objects), which is how
// `yardctl apply` without -o writes.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "control/controller/server.h"
#include "gtest/gtest.h"
#include "switchyard/v1/controller.grpc.pb.h"
#include "tests/unit/controller_store_test_util.h"

namespace switchyard::controller {
namespace {

v1::ApplyRequest Services(std::initializer_list<const char*> names) {
  v1::ApplyRequest request;
  for (const char* name : names) {
    v1::Service* service = request.add_objects()->mutable_service();
    service->mutable_metadata()->set_name(name);
    service->mutable_spec()->add_ports()->set_port(80);
  }
  return request;
}

class ApplyReplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerConfig config;
    config.listen_unix = dir_.File("controller.sock");  // state in memory
    absl::StatusOr<std::unique_ptr<ControllerServer>> server =
        ControllerServer::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::ClusterState::NewStub(grpc::CreateChannel(
        "unix://" + config.listen_unix, grpc::InsecureChannelCredentials()));
  }

  v1::ApplyResponse Apply(const v1::ApplyRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    v1::ApplyResponse response;
    grpc::Status status = stub_->Apply(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  testing::TempDir dir_;
  std::unique_ptr<ControllerServer> server_;
  std::unique_ptr<v1::ClusterState::Stub> stub_;
};

TEST_F(ApplyReplyTest, ObjectsComeBackAsStoredByDefault) {
  v1::ApplyResponse response = Apply(Services({"a", "b"}));
  ASSERT_EQ(response.objects_size(), 2);
  EXPECT_EQ(response.objects(0).service().metadata().name(), "a");
  EXPECT_FALSE(response.objects(0).service().spec().cluster_ip().empty());
  EXPECT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.version(), 1u);
}

TEST_F(ApplyReplyTest, OmitObjectsLeavesOnlyVersionAndOutcomes) {
  v1::ApplyRequest request = Services({"a", "b"});
  request.set_omit_objects(true);
  v1::ApplyResponse response = Apply(request);
  EXPECT_EQ(response.objects_size(), 0);
  EXPECT_EQ(response.version(), 1u);
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).ref().name(), "a");
  EXPECT_EQ(response.results(0).outcome(), v1::ApplyResult::CREATED);
  EXPECT_EQ(response.results(1).ref().name(), "b");

  // The same write again: nothing changed, and the store has the objects
  // the reply left out.
  response = Apply(request);
  EXPECT_EQ(response.version(), 1u);
  EXPECT_EQ(response.results(0).outcome(), v1::ApplyResult::UNCHANGED);
  v1::ApplyResponse full = Apply(Services({"a"}));
  ASSERT_EQ(full.objects_size(), 1);
  EXPECT_FALSE(full.objects(0).service().spec().cluster_ip().empty());
}

}  // namespace
}  // namespace switchyard::controller
