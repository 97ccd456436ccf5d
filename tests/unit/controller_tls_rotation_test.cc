// SPDX-License-Identifier: Apache-2.0
// Certificates rotated without a restart: the controller's and a client's
// files are replaced (new key, new certificate, renamed into place) while
// the server runs, and the next connections use the new ones. The files
// are read again every second here (TlsFiles::reload_seconds; a minute by
// default), so each rotation shows within a few seconds.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/controller/server.h"
#include "control/tls/tls_files.h"
#include "gtest/gtest.h"
#include "switchyard/v1/controller.grpc.pb.h"
#include "tests/pki/test_pki.h"

namespace switchyard::controller {
namespace {

// Two reload periods and then some: the watcher reads on its own timer.
constexpr absl::Duration kRotationShows = absl::Seconds(10);

class ControllerTlsRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<pki::TestPki>> made = pki::TestPki::Make(
        {"ca", "new-ca"},
        {pki::ServerCert("server", "yard-controller", {"127.0.0.1"}),
         pki::ClientCert("writer", "yard-writer:ci"),
         pki::ClientCert("client", "yard-node:node-1")});
    ASSERT_TRUE(made.ok()) << made.status();
    pki_ = *std::move(made);
    ServerConfig config;
    config.listen_tcp = "127.0.0.1:0";
    config.tls = pki_->Files("server");
    config.tls.reload_seconds = 1;
    absl::StatusOr<std::unique_ptr<ControllerServer>> server =
        ControllerServer::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // A channel of its own connection: gRPC would otherwise share one
  // connection among channels with the same credentials, and a new
  // certificate shows only on a new connection.
  std::shared_ptr<grpc::Channel> NewConnection(
      const std::shared_ptr<grpc::ChannelCredentials>& credentials) const {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", server_->tcp_ports()[0]), credentials, args);
  }

  static grpc::Status Apply(const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = v1::ClusterState::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(2));
    v1::ApplyRequest request;
    v1::Service* service = request.add_objects()->mutable_service();
    service->mutable_metadata()->set_name("web");
    service->mutable_spec()->add_ports()->set_port(80);
    v1::ApplyResponse response;
    return stub->Apply(&context, request, &response);
  }

  // Calls `attempt` until it returns `code` or kRotationShows passes;
  // the last status.
  static grpc::Status Eventually(grpc::StatusCode code,
                                 const std::function<grpc::Status()>& attempt) {
    const absl::Time deadline = absl::Now() + kRotationShows;
    grpc::Status status = attempt();
    while (status.error_code() != code && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));
      status = attempt();
    }
    return status;
  }

  std::unique_ptr<pki::TestPki> pki_;
  std::unique_ptr<ControllerServer> server_;
};

// The controller's certificate is replaced by one from another CA: new
// connections see it (a client trusting only the new CA gets in, one
// trusting only the old is refused), the connection made before keeps
// working, and the server never restarted.
TEST_F(ControllerTlsRotationTest,
       ReplacedServerCertificateServesNewConnections) {
  auto trusts_old = [&] {
    return tls::ChannelCredentials(pki_->Files("writer", "ca"));
  };
  auto trusts_new = [&] {
    return tls::ChannelCredentials(pki_->Files("writer", "new-ca"));
  };
  std::shared_ptr<grpc::Channel> before = NewConnection(trusts_old());
  ASSERT_TRUE(Apply(before).ok());
  ASSERT_EQ(Apply(NewConnection(trusts_new())).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  ASSERT_TRUE(pki_->Replace(pki::ServerCert("server", "yard-controller",
                                            {"127.0.0.1"}, "new-ca"))
                  .ok());

  grpc::Status with_new = Eventually(
      grpc::StatusCode::OK, [&] { return Apply(NewConnection(trusts_new())); });
  EXPECT_TRUE(with_new.ok())
      << "the new certificate was never served: " << with_new.error_message();
  EXPECT_EQ(Apply(NewConnection(trusts_old())).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(Apply(before).ok()) << "the connection made before broke";
}

// A client's certificate is replaced while its credentials (as an agent's
// or yardctl's, made once) stay in use: its next connection presents the
// new one. The role changes with it, which the server shows: a node may
// not write, a writer may.
TEST_F(ControllerTlsRotationTest, ReplacedClientCertificateIsPresentedAnew) {
  tls::TlsFiles files = pki_->Files("client");
  files.reload_seconds = 1;
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      tls::ChannelCredentials(files);
  ASSERT_EQ(Apply(NewConnection(credentials)).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  ASSERT_TRUE(
      pki_->Replace(pki::ClientCert("client", "yard-writer:rotated")).ok());

  grpc::Status as_writer = Eventually(
      grpc::StatusCode::OK, [&] { return Apply(NewConnection(credentials)); });
  EXPECT_TRUE(as_writer.ok()) << "the new certificate was never presented: "
                              << as_writer.error_message();
}

}  // namespace
}  // namespace switchyard::controller
