// SPDX-License-Identifier: Apache-2.0
// CurlTransport against a real TLS server on 127.0.0.1
// (tests/kube/tls_test_server.py), with certificates made for the test by
// the openssl command: verification, client certificates, the token and
// its rotation, non-2xx answers, watch bodies cut anywhere, streams that
// die, stall or are cancelled.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/kube/curl_transport.h"
#include "control/kube/kube_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/netns/process.h"
#include "tests/pki/test_pki.h"

namespace switchyard::kube {
namespace {

using ::testing::HasSubstr;

// Debian's Abseil has its own string_view, which gtest prints char by char.
std::string Message(const absl::Status& status) {
  return std::string(status.message());
}

// A fresh directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string pattern =
        absl::StrCat(base != nullptr ? base : "/tmp", "/yard-kube-XXXXXX");
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  bool ok() const { return !path_.empty(); }
  std::string File(const std::string& name) const {
    return absl::StrCat(path_, "/", name);
  }

 private:
  std::string path_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Replaces `path` in one step, as the kubelet swaps a token's symlink.
void WriteAtomically(const std::string& path, const std::string& text) {
  std::string temporary = path + ".new";
  std::ofstream(temporary) << text;
  std::filesystem::rename(temporary, path);
}

// The certificates every test uses, made once for the suite: a CA, a
// server certificate for 127.0.0.1, one naming another host, a client
// certificate, and a second CA that signed none of them.
absl::StatusOr<std::unique_ptr<pki::TestPki>> MakePki() {
  return pki::TestPki::Make(
      {"ca", "other-ca"},
      {pki::ServerCert("server", "yard-test-server", {"127.0.0.1"}),
       pki::ServerCert("elsewhere", "yard-test-elsewhere",
                       {"elsewhere.invalid"}),
       pki::ClientCert("client", "yard-test-client")});
}

struct ServerOptions {
  std::string cert = "server";  // a name in the Pki
  bool ask_client_cert = true;
  bool require_client_cert = false;
};

// tls_test_server.py, killed (with its process group) when destroyed.
class TestServer {
 public:
  static absl::StatusOr<std::unique_ptr<TestServer>> Start(
      const TempDir& dir, const pki::TestPki& pki,
      const ServerOptions& options) {
    static int started = 0;
    auto server = std::unique_ptr<TestServer>(new TestServer());
    std::string name = absl::StrCat("server-", ++started);
    server->port_file_ = dir.File(name + ".port");
    server->log_ = dir.File(name + ".log");
    netns::ChildOptions child;
    child.argv = {"/usr/bin/python3",
                  YARD_TLS_TEST_SERVER,
                  "--cert",
                  pki.Cert(options.cert),
                  "--key",
                  pki.Key(options.cert),
                  "--port-file",
                  server->port_file_};
    if (options.ask_client_cert) {
      child.argv.push_back("--client-ca");
      child.argv.push_back(pki.Cert("ca"));
    }
    if (options.require_client_cert) {
      child.argv.push_back("--require-client-cert");
    }
    child.log_path = server->log_;
    absl::StatusOr<std::unique_ptr<netns::ChildProcess>> process =
        netns::ChildProcess::Start(child);
    if (!process.ok()) return process.status();
    server->process_ = *std::move(process);
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      std::string port = ReadAll(server->port_file_);
      if (!port.empty()) {
        server->port_ = std::stoi(port);
        return server;
      }
      if (!server->process_->Running()) break;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return absl::UnavailableError(absl::StrCat(
        "tls_test_server.py did not start:\n", ReadAll(server->log_)));
  }

  std::string url() const { return absl::StrCat("https://127.0.0.1:", port_); }

 private:
  TestServer() = default;
  std::unique_ptr<netns::ChildProcess> process_;
  std::string port_file_;
  std::string log_;
  int port_ = 0;
};

// A port on 127.0.0.1 where nothing listens: bound, then closed.
int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  bind(fd, reinterpret_cast<sockaddr*>(&address), size);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  close(fd);
  return ntohs(address.sin_port);
}

class KubeTransportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ASSERT_TRUE(dir_->ok());
    absl::StatusOr<std::unique_ptr<pki::TestPki>> made = MakePki();
    ASSERT_TRUE(made.ok()) << made.status();
    pki_ = made->release();
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete dir_;
  }

  // Starts a server for this test (killed when the test ends) and returns
  // a config that trusts it, without credentials.
  ApiServerConfig Serve(const ServerOptions& options = {}) {
    absl::StatusOr<std::unique_ptr<TestServer>> server =
        TestServer::Start(*dir_, *pki_, options);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return {};
    server_ = *std::move(server);
    ApiServerConfig config;
    config.server = server_->url();
    config.certificate_authority.file = pki_->Cert("ca");
    return config;
  }

  std::unique_ptr<CurlTransport> Transport(const ApiServerConfig& config,
                                           CurlTransportOptions options = {}) {
    absl::StatusOr<std::unique_ptr<CurlTransport>> transport =
        CurlTransport::Create(config, options);
    EXPECT_TRUE(transport.ok()) << transport.status();
    return transport.ok() ? *std::move(transport) : nullptr;
  }

  static TempDir* dir_;
  static pki::TestPki* pki_;
  std::unique_ptr<TestServer> server_;
};

TempDir* KubeTransportTest::dir_ = nullptr;
pki::TestPki* KubeTransportTest::pki_ = nullptr;

std::string Encode(absl::string_view body) {
  return absl::StrReplaceAll(body, {{"%", "%25"},
                                    {"\n", "%0A"},
                                    {"\r", "%0D"},
                                    {"\"", "%22"},
                                    {"{", "%7B"},
                                    {"}", "%7D"},
                                    {" ", "%20"},
                                    {"&", "%26"},
                                    {"+", "%2B"}});
}

TEST_F(KubeTransportTest, GetReturnsTheBodyAndSendsTheUsualHeaders) {
  std::unique_ptr<CurlTransport> transport = Transport(Serve());
  ASSERT_NE(transport, nullptr);
  absl::StatusOr<ApiResponse> response = transport->Get("/echo?limit=500");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->http_status, 200);
  EXPECT_THAT(response->body, HasSubstr(R"("path": "/echo?limit=500")"));
  EXPECT_THAT(response->body, HasSubstr(R"("accept": "application/json")"));
  EXPECT_THAT(response->body, HasSubstr(R"("user_agent": "yard-controller/)"));
  // No credentials configured: no Authorization header at all.
  EXPECT_THAT(response->body, HasSubstr(R"("authorization": "")"));
  EXPECT_EQ(transport->server(), server_->url());
}

TEST_F(KubeTransportTest, NonSuccessAnswersAreReturnedNotErrors) {
  std::unique_ptr<CurlTransport> transport = Transport(Serve());
  ASSERT_NE(transport, nullptr);
  for (int code : {404, 410, 403, 500}) {
    absl::StatusOr<ApiResponse> response =
        transport->Get(absl::StrCat("/status/", code));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->http_status, code);
    EXPECT_THAT(response->body, HasSubstr(absl::StrCat(R"("code": )", code)));
  }
  // A watch's non-2xx body is collected, not cut into lines.
  int lines = 0;
  absl::StatusOr<ApiResponse> response =
      transport->Watch("/status/410", [&](absl::string_view) {
        ++lines;
        return true;
      });
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->http_status, 410);
  EXPECT_THAT(response->body, HasSubstr(R"("code": 410)"));
  EXPECT_EQ(lines, 0);
}

TEST_F(KubeTransportTest, SendsTheTokenAndTheRotatedOneOnceTheFileChanges) {
  ApiServerConfig config = Serve();
  std::string token_file = dir_->File("token");
  WriteAtomically(token_file, "first-token\n");
  config.token_file = token_file;
  config.token = "inline-token-loses-to-the-file";
  CurlTransportOptions options;
  options.token_check_interval = absl::ZeroDuration();
  std::unique_ptr<CurlTransport> transport = Transport(config, options);
  ASSERT_NE(transport, nullptr);

  absl::StatusOr<ApiResponse> response = transport->Get("/echo");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(response->body,
              HasSubstr(R"("authorization": "Bearer first-token")"));

  WriteAtomically(token_file, "second-token\n");
  response = transport->Get("/echo");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(response->body,
              HasSubstr(R"("authorization": "Bearer second-token")"));

  // Gone mid-rotation: the last good token is still sent.
  std::filesystem::remove(token_file);
  response = transport->Get("/echo");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(response->body,
              HasSubstr(R"("authorization": "Bearer second-token")"));
}

TEST_F(KubeTransportTest, SendsAFixedToken) {
  ApiServerConfig config = Serve();
  config.token = "fixed";
  std::unique_ptr<CurlTransport> transport = Transport(config);
  ASSERT_NE(transport, nullptr);
  absl::StatusOr<ApiResponse> response = transport->Get("/echo");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(response->body, HasSubstr(R"("authorization": "Bearer fixed")"));
}

TEST_F(KubeTransportTest, ClientCertificateFromFilesOrInline) {
  ServerOptions server;
  server.require_client_cert = true;
  ApiServerConfig config = Serve(server);
  config.client_certificate.file = pki_->Cert("client");
  config.client_key.file = pki_->Key("client");
  std::unique_ptr<CurlTransport> transport = Transport(config);
  ASSERT_NE(transport, nullptr);
  absl::StatusOr<ApiResponse> response = transport->Get("/echo");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(response->body, HasSubstr(R"("client": "yard-test-client")"));

  // The same, all inline (kubeconfig's *-data), CA included.
  config.client_certificate = {.pem = ReadAll(pki_->Cert("client"))};
  config.client_key = {.pem = ReadAll(pki_->Key("client"))};
  config.certificate_authority = {.pem = ReadAll(pki_->Cert("ca"))};
  transport = Transport(config);
  ASSERT_NE(transport, nullptr);
  response = transport->Get("/echo");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(response->body, HasSubstr(R"("client": "yard-test-client")"));
}

TEST_F(KubeTransportTest, WithoutTheRequiredClientCertificateNoAnswer) {
  ServerOptions server;
  server.require_client_cert = true;
  std::unique_ptr<CurlTransport> transport = Transport(Serve(server));
  ASSERT_NE(transport, nullptr);
  absl::StatusOr<ApiResponse> response = transport->Get("/echo");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  // Only the URL is certain: with TLS 1.3 the server refuses after the
  // client has finished its handshake, so libcurl sees the refusal as an
  // alert ("tlsv13 alert certificate required") or as a connection already
  // gone, as timing has it.
  EXPECT_THAT(Message(response.status()),
              HasSubstr(absl::StrCat(server_->url(), "/echo: ")));
}

TEST_F(KubeTransportTest, AServerSignedByAnotherCaIsRefused) {
  // A server that asks for client certificates sends its CA along (OpenSSL
  // completes the chain from its store), which changes libcurl's words.
  ServerOptions server;
  server.ask_client_cert = false;
  ApiServerConfig config = Serve(server);
  config.certificate_authority.file = pki_->Cert("other-ca");
  std::unique_ptr<CurlTransport> transport = Transport(config);
  ASSERT_NE(transport, nullptr);
  absl::StatusOr<ApiResponse> response = transport->Get("/api/v1/services");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Message(response.status()),
            absl::StrCat(server_->url(),
                         "/api/v1/services: SSL certificate problem: unable "
                         "to get local issuer certificate"));

  // Inline, the other CA replaces the system's store just the same.
  config.certificate_authority = {.pem = ReadAll(pki_->Cert("other-ca"))};
  transport = Transport(config);
  ASSERT_NE(transport, nullptr);
  response = transport->Get("/api/v1/services");
  ASSERT_FALSE(response.ok());
  EXPECT_THAT(Message(response.status()), HasSubstr("SSL certificate problem"));
}

TEST_F(KubeTransportTest, ACertificateForAnotherNameIsRefused) {
  ServerOptions server;
  server.cert = "elsewhere";
  std::unique_ptr<CurlTransport> transport = Transport(Serve(server));
  ASSERT_NE(transport, nullptr);
  absl::StatusOr<ApiResponse> response = transport->Get("/echo");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Message(response.status()), HasSubstr(server_->url()));
  EXPECT_THAT(Message(response.status()), HasSubstr("127.0.0.1"));
  EXPECT_THAT(Message(response.status()), HasSubstr("match"));
}

TEST_F(KubeTransportTest, WatchLinesSurviveAnySplitting) {
  std::unique_ptr<CurlTransport> transport = Transport(Serve());
  ASSERT_NE(transport, nullptr);
  const std::string body =
      "{\"type\":\"ADDED\"}\n{\"type\":\"MODIFIED\"}\r\n\n"
      "{\"type\":\"DELETED\"}\n{\"type\":\"BOOKMARK\"}";
  std::vector<std::string> lines;
  absl::StatusOr<ApiResponse> response = transport->Watch(
      "/watch/bytes?body=" + Encode(body), [&](absl::string_view line) {
        lines.emplace_back(line);
        return true;
      });
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->http_status, 200);
  EXPECT_EQ(response->body, "");
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "{\"type\":\"ADDED\"}", "{\"type\":\"MODIFIED\"}",
                       "{\"type\":\"DELETED\"}", "{\"type\":\"BOOKMARK\"}"}));
}

TEST_F(KubeTransportTest, WatchEndsWhenTheReaderSaysStop) {
  std::unique_ptr<CurlTransport> transport = Transport(Serve());
  ASSERT_NE(transport, nullptr);
  std::vector<std::string> lines;
  absl::StatusOr<ApiResponse> response =
      transport->Watch("/watch/forever", [&](absl::string_view line) {
        lines.emplace_back(line);
        return lines.size() < 3;
      });
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->http_status, 200);
  EXPECT_EQ(lines,
            (std::vector<std::string>{"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"}));
  // The transport is still usable.
  EXPECT_TRUE(transport->Get("/echo").ok());
}

TEST_F(KubeTransportTest, AStreamCutMidBodyIsUnavailable) {
  std::unique_ptr<CurlTransport> transport = Transport(Serve());
  ASSERT_NE(transport, nullptr);
  std::vector<std::string> lines;
  absl::StatusOr<ApiResponse> response = transport->Watch(
      "/watch/die?body=" + Encode("{\"n\":1}\n{\"n\":2}\n{\"half"),
      [&](absl::string_view line) {
        lines.emplace_back(line);
        return true;
      });
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Message(response.status()), HasSubstr(server_->url()));
  // What arrived whole was delivered; the half line was not.
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"n\":1}", "{\"n\":2}"}));
}

TEST_F(KubeTransportTest, CancelEndsAHangingWatchAndLaterRequests) {
  std::unique_ptr<CurlTransport> transport = Transport(Serve());
  ASSERT_NE(transport, nullptr);
  std::atomic<bool> first_line{false};
  absl::StatusOr<ApiResponse> response;
  std::thread watcher([&] {
    response = transport->Watch("/watch/hang", [&](absl::string_view) {
      first_line = true;
      return true;
    });
  });
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!first_line && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_TRUE(first_line);
  absl::SleepFor(absl::Milliseconds(100));  // well inside the blocking wait
  absl::Time cancelled = absl::Now();
  transport->Cancel();
  watcher.join();
  EXPECT_LT(absl::Now() - cancelled, absl::Milliseconds(500));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kCancelled);

  absl::StatusOr<ApiResponse> later = transport->Get("/echo");
  EXPECT_EQ(later.status().code(), absl::StatusCode::kCancelled);
}

TEST_F(KubeTransportTest, AStalledWatchEndsAsUnavailable) {
  CurlTransportOptions options;
  options.watch_stall_timeout = absl::Seconds(1);
  std::unique_ptr<CurlTransport> transport = Transport(Serve(), options);
  ASSERT_NE(transport, nullptr);
  absl::Time start = absl::Now();
  // Nothing after the headers: libcurl averages the speed over its last
  // 5 s, so bytes just received would hold the stall off that much longer.
  absl::StatusOr<ApiResponse> response =
      transport->Watch("/watch/silent", [](absl::string_view) { return true; });
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Message(response.status()), HasSubstr("watch stalled"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(KubeTransportTest, AGetPastItsTimeoutIsDeadlineExceeded) {
  CurlTransportOptions options;
  options.get_timeout = absl::Milliseconds(300);
  std::unique_ptr<CurlTransport> transport = Transport(Serve(), options);
  ASSERT_NE(transport, nullptr);
  absl::StatusOr<ApiResponse> response = transport->Get("/slow");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(Message(response.status()), HasSubstr("/slow: "));
}

TEST_F(KubeTransportTest, ConnectionRefusedIsUnavailableNamingTheUrl) {
  ApiServerConfig config;
  config.server = absl::StrCat("https://127.0.0.1:", UnusedPort());
  config.certificate_authority.file = pki_->Cert("ca");
  std::unique_ptr<CurlTransport> transport = Transport(config);
  ASSERT_NE(transport, nullptr);
  absl::StatusOr<ApiResponse> response = transport->Get("/api/v1/nodes");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Message(response.status()),
              HasSubstr(absl::StrCat(config.server, "/api/v1/nodes: ")));
  EXPECT_THAT(Message(response.status()), HasSubstr("(Connection refused)"));
}

TEST_F(KubeTransportTest, OneTransportServesSeveralThreadsAtOnce) {
  std::unique_ptr<CurlTransport> transport = Transport(Serve());
  ASSERT_NE(transport, nullptr);
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        absl::StatusOr<ApiResponse> response =
            transport->Get(absl::StrCat("/echo?t=", t, "&i=", i));
        if (response.ok() && response->http_status == 200 &&
            response->body.find(absl::StrCat("/echo?t=", t, "&i=", i)) !=
                std::string::npos) {
          ++answered;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(answered, 20);
}

// The client's port as the server saw it, from /echo's answer.
std::string ClientPort(const std::string& echo) {
  size_t at = echo.find("\"client_port\": ");
  if (at == std::string::npos) return "";
  at += 15;
  return echo.substr(at, echo.find_first_not_of("0123456789", at) - at);
}

TEST_F(KubeTransportTest, RequestsOneAfterAnotherReuseTheConnection) {
  std::unique_ptr<CurlTransport> transport = Transport(Serve());
  ASSERT_NE(transport, nullptr);
  absl::StatusOr<ApiResponse> first = transport->Get("/echo");
  absl::StatusOr<ApiResponse> second = transport->Get("/echo");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(ClientPort(first->body), "");
  EXPECT_EQ(ClientPort(first->body), ClientPort(second->body));
}

TEST_F(KubeTransportTest, AnswersPastTheSizeCapAreRefused) {
  CurlTransportOptions options;
  options.max_body_bytes = 16;
  std::unique_ptr<CurlTransport> transport = Transport(Serve(), options);
  ASSERT_NE(transport, nullptr);
  absl::StatusOr<ApiResponse> response = transport->Get("/echo");
  EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(Message(response.status()),
              HasSubstr("/echo: the answer is larger than 16 bytes"));
  // Lines under the cap pass however long the body; one over it does not.
  std::vector<std::string> lines;
  response = transport->Watch(
      "/watch/bytes?body=" + Encode("short\nshort\nmuch-too-long-a-line\n"),
      [&](absl::string_view line) {
        lines.emplace_back(line);
        return true;
      });
  EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(lines, (std::vector<std::string>{"short", "short"}));
}

TEST(KubeTransportCreateTest, RefusesWhatCannotWork) {
  ApiServerConfig config;
  config.server = "http://127.0.0.1:8080";
  EXPECT_EQ(CurlTransport::Create(config).status().code(),
            absl::StatusCode::kInvalidArgument);
  config.server = "https://127.0.0.1:6443";
  config.client_certificate.pem = "cert";
  EXPECT_EQ(CurlTransport::Create(config).status().code(),
            absl::StatusCode::kInvalidArgument);
  config.client_certificate = {};
  config.token_file = "/nonexistent/token";
  absl::Status status = CurlTransport::Create(config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(status), HasSubstr("/nonexistent/token"));

  config.token_file = "";
  absl::StatusOr<std::unique_ptr<CurlTransport>> transport =
      CurlTransport::Create(config);
  ASSERT_TRUE(transport.ok()) << transport.status();
  EXPECT_EQ((*transport)->Get("no-slash").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace switchyard::kube
