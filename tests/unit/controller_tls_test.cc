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

namespace switchyard::controller {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A throwaway PKI: two CAs, the server's certificate (SAN 127.0.0.1) and
// clients' certificates with the Common Names under test.
class Pki {
 public:
  absl::Status Make() {
    char pattern[] = "/tmp/yard-tls-test-XXXXXX";
    if (mkdtemp(pattern) == nullptr) return absl::InternalError("mkdtemp");
    dir_ = pattern;
    std::string s = absl::StrCat("set -e\ncd ", dir_, "\n");
    const char* key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    for (const char* ca : {"ca", "other-ca"}) {
      absl::StrAppend(&s, "openssl req -x509 ", key, " -days 2 -subj /CN=", ca,
                      " -keyout ", ca, ".key -out ", ca, ".crt\n");
    }
    auto leaf = [&](const std::string& name, const std::string& cn,
                    const std::string& ca, const std::string& ext) {
      absl::StrAppend(&s, "openssl req ", key, " -subj /CN=", cn, " -keyout ",
                      name, ".key -out ", name, ".csr\n", "printf '", ext,
                      "\\n' > ", name, ".ext\n", "openssl x509 -req -in ", name,
                      ".csr -CA ", ca, ".crt -CAkey ", ca,
                      ".key -CAcreateserial -days 2 -extfile ", name,
                      ".ext -out ", name, ".crt\n");
    };
    leaf("server", "yard-controller", "ca", "subjectAltName=IP:127.0.0.1");
    const std::string client = "extendedKeyUsage=clientAuth";
    leaf("writer", "yard-writer:ci", "ca", client);
    leaf("node1", "yard-node:node-1", "ca", client);
    leaf("norole", "someone", "ca", client);
    leaf("stranger", "yard-writer:stranger", "other-ca", client);
    // Expired: `openssl ca` is the CLI's way to choose the dates.
    absl::StrAppend(
        &s, "mkdir -p old && touch old/index.txt && echo 01 > old/serial\n",
        "printf "
        "'[ca]\\ndefault_ca=c\\n[c]\\ndir=old\\ndatabase=old/index.txt\\n"
        "new_certs_dir=old\\nserial=old/serial\\ndefault_md=sha256\\n"
        "policy=p\\n[p]\\ncommonName=supplied\\n' > old.cnf\n",
        "openssl req ", key,
        " -subj /CN=yard-writer:expired -keyout expired.key -out "
        "expired.csr\n",
        "openssl ca -batch -config old.cnf -cert ca.crt -keyfile ca.key "
        "-startdate 20200101000000Z -enddate 20200102000000Z -in expired.csr "
        "-out expired.crt\n");
    std::string script = File("make.sh");
    std::ofstream(script) << s;
    std::string command =
        absl::StrCat("sh ", script, " >", File("make.log"), " 2>&1");
    if (std::system(command.c_str()) != 0) {
      return absl::InternalError(ReadAll(File("make.log")));
    }
    return absl::OkStatus();
  }
  ~Pki() {
    if (!dir_.empty()) {
      std::string command = absl::StrCat("rm -rf ", dir_);
      (void)std::system(command.c_str());
    }
  }
  std::string File(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }
  tls::TlsFiles Client(const std::string& name,
                       const std::string& ca = "ca") const {
    return {.cert = File(name + ".crt"),
            .key = File(name + ".key"),
            .ca = File(ca + ".crt")};
  }

 private:
  std::string dir_;
};

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
    pki_ = new Pki();
    absl::Status made = pki_->Make();
    ASSERT_TRUE(made.ok()) << made;
  }
  static void TearDownTestSuite() { delete pki_; }

  void SetUp() override {
    ServerConfig config;
    config.listen_tcp = "127.0.0.1:0";
    config.tls = pki_->Client("server");
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

  static inline Pki* pki_ = nullptr;
  std::unique_ptr<ControllerServer> server_;
};

TEST_F(ControllerTlsTest, WriterWritesAndNodeWatchesAsItself) {
  EXPECT_TRUE(Apply(Channel(pki_->Client("writer"))).ok());
  EXPECT_TRUE(Watch(Channel(pki_->Client("node1")), "node-1").ok());
}

TEST_F(ControllerTlsTest, RolesAreEnforced) {
  grpc::Status node_writes = Apply(Channel(pki_->Client("node1")));
  EXPECT_EQ(node_writes.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(
      absl::StrContains(node_writes.error_message(), "CN=yard-node:node-1"))
      << node_writes.error_message();

  grpc::Status as_other = Watch(Channel(pki_->Client("node1")), "node-2");
  EXPECT_EQ(as_other.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(as_other.error_message(), "node-2"))
      << as_other.error_message();

  grpc::Status writer_watches = Watch(Channel(pki_->Client("writer")), "x");
  EXPECT_EQ(writer_watches.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  grpc::Status no_role = Apply(Channel(pki_->Client("norole")));
  EXPECT_EQ(no_role.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(no_role.error_message(), "no role"))
      << no_role.error_message();
}

TEST_F(ControllerTlsTest, ClientsWithoutAValidCertificateAreRefused) {
  // No certificate at all (the server's CA trusted, nothing presented).
  grpc::SslCredentialsOptions anonymous;
  anonymous.pem_root_certs = ReadAll(pki_->File("ca.crt"));
  EXPECT_EQ(
      Apply(grpc::CreateChannel(TlsAddress(), grpc::SslCredentials(anonymous)))
          .error_code(),
      grpc::StatusCode::UNAVAILABLE);
  // Signed by another CA.
  tls::TlsFiles stranger = pki_->Client("stranger");
  stranger.ca = pki_->File("ca.crt");
  EXPECT_EQ(Apply(Channel(stranger)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // Expired.
  EXPECT_EQ(Apply(Channel(pki_->Client("expired"))).error_code(),
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
