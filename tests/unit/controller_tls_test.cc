// SPDX-License-Identifier: Apache-2.0
// The controller's TLS listener and roles, with certificates made for the
// test by the openssl CLI: who gets in (a writer, a node as itself) and
// who does not (no certificate, another CA's, an expired one, a node
// writing or watching as another node, a writer watching, a certificate
// without a role), plus the plaintext listener that must be asked for by
// name and the owner-only unix socket.
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/controller/peer_identity.h"
#include "control/controller/server.h"
#include "control/tls/tls_files.h"
#include "gtest/gtest.h"
#include "switchyard/v1/controller.grpc.pb.h"
#include "tests/pki/test_pki.h"

namespace switchyard::controller {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Two CAs, the server's certificate (SAN 127.0.0.1) and clients'
// certificates with the Common Names under test.
absl::StatusOr<std::unique_ptr<pki::TestPki>> MakePki() {
  pki::CertSpec expired = pki::ClientCert("expired", "yard-writer:expired");
  expired.expired = true;
  return pki::TestPki::Make(
      {"ca", "other-ca"},
      {pki::ServerCert("server", "yard-controller", {"127.0.0.1"}),
       pki::ClientCert("writer", "yard-writer:ci"),
       pki::ClientCert("node1", "yard-node:node-1"),
       pki::ClientCert("norole", "someone"),
       pki::ClientCert("stranger", "yard-writer:stranger", "other-ca"),
       expired});
}

v1::ApplyRequest OneService() {
  v1::ApplyRequest request;
  v1::Service* service = request.add_objects()->mutable_service();
  service->mutable_metadata()->set_name("web");
  service->mutable_spec()->add_ports()->set_port(80);
  return request;
}

class ControllerTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<pki::TestPki>> made = MakePki();
    ASSERT_TRUE(made.ok()) << made.status();
    pki_ = made->release();
  }
  static void TearDownTestSuite() { delete pki_; }

  void SetUp() override {
    ServerConfig config;
    config.listen_tcp = "127.0.0.1:0";
    config.tls = pki_->Files("server");
    config.insecure_listen_tcp = "127.0.0.1:0";
    config.listen_unix = pki_->File("controller.sock");
    absl::StatusOr<std::unique_ptr<ControllerServer>> server =
        ControllerServer::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_EQ(server_->tcp_ports().size(), 2u);
  }

  std::string TlsAddress() const {
    return absl::StrCat("127.0.0.1:", server_->tcp_ports()[0]);
  }

  std::shared_ptr<grpc::Channel> Channel(const tls::TlsFiles& files) {
    return grpc::CreateChannel(TlsAddress(), tls::ChannelCredentials(files));
  }

  static grpc::Status Apply(const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = v1::ClusterState::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    v1::ApplyResponse response;
    return stub->Apply(&context, OneService(), &response);
  }

  // Opens a watch as `node`; the stream's first answer, or how it ended.
  static grpc::Status Watch(const std::shared_ptr<grpc::Channel>& channel,
                            const std::string& node) {
    auto stub = v1::AgentSync::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    auto stream = stub->Watch(&context);
    v1::WatchRequest hello;
    hello.mutable_hello()->set_node_name(node);
    stream->Write(hello);
    v1::WatchResponse response;
    if (stream->Read(&response)) {
      context.TryCancel();
      return grpc::Status::OK;
    }
    return stream->Finish();
  }

  static inline pki::TestPki* pki_ = nullptr;
  std::unique_ptr<ControllerServer> server_;
};

TEST_F(ControllerTlsTest, WriterWritesAndNodeWatchesAsItself) {
  EXPECT_TRUE(Apply(Channel(pki_->Files("writer"))).ok());
  EXPECT_TRUE(Watch(Channel(pki_->Files("node1")), "node-1").ok());
}

TEST_F(ControllerTlsTest, RolesAreEnforced) {
  grpc::Status node_writes = Apply(Channel(pki_->Files("node1")));
  EXPECT_EQ(node_writes.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(
      absl::StrContains(node_writes.error_message(), "CN=yard-node:node-1"))
      << node_writes.error_message();

  grpc::Status as_other = Watch(Channel(pki_->Files("node1")), "node-2");
  EXPECT_EQ(as_other.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(as_other.error_message(), "node-2"))
      << as_other.error_message();

  grpc::Status writer_watches = Watch(Channel(pki_->Files("writer")), "x");
  EXPECT_EQ(writer_watches.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  grpc::Status no_role = Apply(Channel(pki_->Files("norole")));
  EXPECT_EQ(no_role.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(no_role.error_message(), "no role"))
      << no_role.error_message();
}

TEST_F(ControllerTlsTest, ClientsWithoutAValidCertificateAreRefused) {
  // No certificate at all (the server's CA trusted, nothing presented).
  grpc::SslCredentialsOptions anonymous;
  anonymous.pem_root_certs = ReadAll(pki_->Cert("ca"));
  EXPECT_EQ(
      Apply(grpc::CreateChannel(TlsAddress(), grpc::SslCredentials(anonymous)))
          .error_code(),
      grpc::StatusCode::UNAVAILABLE);
  // Signed by another CA.
  tls::TlsFiles stranger = pki_->Files("stranger");
  EXPECT_EQ(Apply(Channel(stranger)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // Expired.
  EXPECT_EQ(Apply(Channel(pki_->Files("expired"))).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // Plaintext to the TLS port.
  EXPECT_EQ(Apply(grpc::CreateChannel(TlsAddress(),
                                      grpc::InsecureChannelCredentials()))
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ControllerTlsTest, PlaintextListenerAndSocketAreTrustedButOwnerOnly) {
  auto plaintext =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->tcp_ports()[1]),
                          grpc::InsecureChannelCredentials());
  EXPECT_TRUE(Apply(plaintext).ok());
  struct stat st = {};
  ASSERT_EQ(stat(pki_->File("controller.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(ControllerTlsConfig, TlsListenerNeedsItsFiles) {
  ServerConfig config;
  config.listen_tcp = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<ControllerServer>> server =
      ControllerServer::Start(config);
  ASSERT_FALSE(server.ok());
  EXPECT_TRUE(absl::StrContains(server.status().message(), "--tls_cert"))
      << server.status();
  EXPECT_TRUE(absl::StrContains(server.status().message(), "--insecure_listen"))
      << server.status();
}

TEST(PeerIdentity, RolesFromCommonNames) {
  EXPECT_EQ(PeerFromCommonName("yard-writer:ci", "a").role, Role::kWriter);
  Peer node = PeerFromCommonName("yard-node:node-7", "a");
  EXPECT_EQ(node.role, Role::kNode);
  EXPECT_EQ(node.name, "node-7");
  EXPECT_EQ(PeerFromCommonName("yard-node:", "a").role, Role::kNone);
  EXPECT_EQ(PeerFromCommonName("system:node:x", "a").role, Role::kNone);
  EXPECT_TRUE(Authorize(node, "Watch", "node-7").ok());
  EXPECT_FALSE(Authorize(node, "Watch", "node-8").ok());
  EXPECT_FALSE(Authorize(node, "Delete").ok());
  Peer trusted;
  trusted.role = Role::kTrusted;
  EXPECT_TRUE(Authorize(trusted, "Apply").ok());
  EXPECT_TRUE(Authorize(trusted, "Watch", "any").ok());
}

}  // namespace
}  // namespace switchyard::controller
