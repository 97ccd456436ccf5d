// SPDX-License-Identifier: Apache-2.0
// yardctl's channel reads replies as large as the controller sends: a fake
// controller on a unix socket answers a List with more than gRPC's default
// 4 MiB receive limit.
#include <grpcpp/grpcpp.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "control/common/message_limits.h"
#include "control/ctl/client.h"
#include "gtest/gtest.h"
#include "switchyard/v1/controller.grpc.pb.h"

namespace switchyard::ctl {
namespace {

v1::ListRequest ListOf(v1::Kind kind, const std::string& ns) {
  v1::ListRequest request;
  request.set_kind(kind);
  request.set_namespace_(ns);
  return request;
}

// Lists `slices` EndpointSlices of ten endpoints each, whatever is asked.
class LargeListController final : public v1::ClusterState::Service {
 public:
  explicit LargeListController(int slices) : slices_(slices) {}

  grpc::Status List(grpc::ServerContext*, const v1::ListRequest*,
                    v1::ListResponse* response) override {
    for (int i = 0; i < slices_; ++i) {
      v1::EndpointSlice* slice =
          response->add_objects()->mutable_endpoint_slice();
      slice->mutable_metadata()->set_name(absl::StrCat("web-", i));
      slice->mutable_metadata()->set_namespace_("big");
      slice->set_address_type("IPv4");
      for (int e = 0; e < 10; ++e) {
        v1::Endpoint* endpoint = slice->add_endpoints();
        endpoint->add_addresses(
            absl::StrCat("10.", i / 250, ".", i % 250, ".", e + 1));
        endpoint->set_node_name(absl::StrCat("node-with-a-long-name-", e));
      }
    }
    response->set_version(1);
    return grpc::Status::OK;
  }

 private:
  int slices_;
};

class ClientLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/yard-ctl-client-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    socket_ = absl::StrCat(dir_, "/c.sock");
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat("unix:", socket_),
                             grpc::InsecureServerCredentials());
    builder.SetMaxSendMessageSize(kMaxControlMessageBytes);
    builder.RegisterService(&controller_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    // Now: a call the client gave up on is cancelled, not waited for.
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    std::filesystem::remove_all(dir_);
  }

  // 16,000 slices of 10 endpoints: 6.8 MB, past gRPC's default 4 MiB.
  LargeListController controller_{16000};
  std::string dir_;
  std::string socket_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(ClientLimitsTest, ListLargerThanGrpcsDefaultLimitArrives) {
  ClusterClient client(ControllerChannel(socket_), socket_, absl::Seconds(20));
  absl::StatusOr<v1::ListResponse> list =
      client.List(ListOf(v1::KIND_ENDPOINT_SLICE, "big"));
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->objects_size(), 16000);
  EXPECT_GT(list->ByteSizeLong(), 4u << 20);
}

// What the same list does on a channel with gRPC's defaults: the failure
// the shared limit removes.
TEST_F(ClientLimitsTest, DefaultChannelRefusesTheSameList) {
  ClusterClient client(grpc::CreateChannel(ChannelTarget(socket_),
                                           grpc::InsecureChannelCredentials()),
                       socket_, absl::Seconds(20));
  absl::StatusOr<v1::ListResponse> list =
      client.List(ListOf(v1::KIND_ENDPOINT_SLICE, "big"));
  EXPECT_FALSE(list.ok());
}

}  // namespace
}  // namespace switchyard::ctl
