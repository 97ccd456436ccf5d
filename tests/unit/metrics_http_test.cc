// SPDX-License-Identifier: Apache-2.0
// The metrics HTTP server over real loopback sockets (127.0.0.1, a port
// the kernel picks), and its request parsing on its own: answers, errors,
// concurrent clients, and that no client can hold it up.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/common/scoped_fd.h"
#include "control/metrics/exposition.h"
#include "control/metrics/http_request.h"
#include "control/metrics/http_server.h"
#include "control/metrics/registry.h"

namespace switchyard::metrics {
namespace {

// ---------------------------------------------------------------------------
// Parsing, without sockets.

TEST(HttpRequest, FindsTheEndOfTheHead) {
  EXPECT_EQ(RequestHeadLength(""), 0u);
  EXPECT_EQ(RequestHeadLength("GET / HTTP/1.1\r\nHost: x\r\n"), 0u);
  EXPECT_EQ(RequestHeadLength("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 27u);
  EXPECT_EQ(RequestHeadLength("GET / HTTP/1.1\n\nbody"), 16u);
  EXPECT_EQ(RequestHeadLength("GET / HTTP/1.1\r\n\r\nbody"), 18u);
}

TEST(HttpRequest, ParsesARequestLine) {
  absl::StatusOr<HttpRequest> r = ParseRequestHead(
      "GET /metrics?name[]=x HTTP/1.1\r\nHost: 127.0.0.1:9750\r\n"
      "Accept: text/plain;version=0.0.4;q=1\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->path, "/metrics");
  EXPECT_EQ(r->version, "HTTP/1.1");
  r = ParseRequestHead("HEAD /healthz HTTP/1.0\n\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->method, "HEAD");
  EXPECT_EQ(r->path, "/healthz");
}

TEST(HttpRequest, RejectsMalformedHeads) {
  for (const char* head : {
           "\r\n\r\n",
           "GET /metrics\r\n\r\n",
           "GET metrics HTTP/1.1\r\n\r\n",
           "GET http://x/metrics HTTP/1.1\r\n\r\n",
           "GET /metrics HTTP/2.0\r\n\r\n",
           "GET /metrics http/1.1\r\n\r\n",
           "GET  /metrics HTTP/1.1\r\n\r\n",
           "G(T /metrics HTTP/1.1\r\n\r\n",
           "GET /met\x01rics HTTP/1.1\r\n\r\n",
           "GET /metrics HTTP/1.1\r\nNo colon here\r\n\r\n",
           "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n",
           "GET /metrics HTTP/1.1\r\n folded: x\r\n\r\n",
       }) {
    absl::StatusOr<HttpRequest> r = ParseRequestHead(head);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
        << absl::CEscape(head);
  }
}

TEST(HttpRequest, FormatsAWholeResponse) {
  HttpResponse response{200, kExpositionContentType, "a 1\n"};
  EXPECT_EQ(FormatResponse(response, false),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; version=0.0.4\r\n"
            "Content-Length: 4\r\n"
            "Connection: close\r\n"
            "\r\n"
            "a 1\n");
  EXPECT_EQ(FormatResponse({405, "text/plain", "no\n", "GET, HEAD"}, true),
            "HTTP/1.1 405 Method Not Allowed\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 3\r\n"
            "Allow: GET, HEAD\r\n"
            "Connection: close\r\n"
            "\r\n");
}

// ---------------------------------------------------------------------------
// The server, over loopback.

// Generous against a loaded CI machine; every wait below is bounded by it.
constexpr absl::Duration kClientTimeout = absl::Seconds(5);

struct Answer {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

absl::StatusOr<ScopedFd> Connect(int port) {
  ScopedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return absl::InternalError("socket");
  timeval tv = {static_cast<time_t>(absl::ToInt64Seconds(kClientTimeout)), 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    return absl::UnavailableError(absl::StrCat("connect: ", strerror(errno)));
  }
  return fd;
}

// Everything until the server closes.
absl::StatusOr<std::string> ReadAll(int fd) {
  std::string data;
  char buffer[4096];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n == 0) return data;
    if (n < 0) {
      return absl::DeadlineExceededError(absl::StrCat(
          "read: ", strerror(errno), " after ", data.size(), " bytes"));
    }
    data.append(buffer, n);
  }
}

absl::StatusOr<Answer> ParseAnswer(const std::string& raw) {
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) {
    return absl::DataLossError(absl::StrCat("no head in '", raw, "'"));
  }
  std::vector<std::string> lines = absl::StrSplit(raw.substr(0, end), "\r\n");
  std::vector<std::string> status = absl::StrSplit(lines[0], ' ');
  Answer answer;
  if (status.size() < 3 || status[0] != "HTTP/1.1" ||
      !absl::SimpleAtoi(status[1], &answer.status)) {
    return absl::DataLossError(absl::StrCat("status line '", lines[0], "'"));
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    std::pair<std::string, std::string> header =
        absl::StrSplit(lines[i], absl::MaxSplits(": ", 1));
    answer.headers[absl::AsciiStrToLower(header.first)] = header.second;
  }
  answer.body = raw.substr(end + 4);
  return answer;
}

// Sends `request` as it is and reads the whole answer.
absl::StatusOr<Answer> Exchange(int port, const std::string& request) {
  absl::StatusOr<ScopedFd> fd = Connect(port);
  if (!fd.ok()) return fd.status();
  if (send(fd->get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return absl::InternalError("send");
  }
  absl::StatusOr<std::string> raw = ReadAll(fd->get());
  if (!raw.ok()) return raw.status();
  return ParseAnswer(*raw);
}

absl::StatusOr<Answer> Get(int port, const std::string& path) {
  return Exchange(port, absl::StrCat("GET ", path,
                                     " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                     "User-Agent: test\r\n\r\n"));
}

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.AddCounter("switchyard_test_scrapes_total", "Scrapes.", {"path"})
        .With({"/a\"b"})
        .Increment(7);
    registry_.AddGauge("switchyard_test_up", "Up.").Get().Set(1);
    Start({.listen = "127.0.0.1:0"});
  }

  void Start(HttpServerConfig config) {
    server_.reset();
    absl::StatusOr<std::unique_ptr<HttpServer>> server =
        StartMetricsServer(std::move(config), &registry_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_NE(server_->port(), 0);
  }

  int port() const { return server_->port(); }

  Registry registry_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(MetricsServerTest, ServesMetrics) {
  absl::StatusOr<Answer> answer = Get(port(), "/metrics");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->headers["content-type"], "text/plain; version=0.0.4");
  EXPECT_EQ(answer->headers["connection"], "close");
  EXPECT_EQ(answer->headers["content-length"],
            absl::StrCat(answer->body.size()));
  EXPECT_EQ(answer->body, registry_.Render());
  EXPECT_TRUE(absl::StrContains(
      answer->body, "switchyard_test_scrapes_total{path=\"/a\\\"b\"} 7\n"))
      << answer->body;
  // A query string does not change the path.
  answer = Get(port(), "/metrics?x=1");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 200);
}

TEST_F(MetricsServerTest, ServesHealthz) {
  absl::StatusOr<Answer> answer = Get(port(), "/healthz");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "ok");
}

TEST_F(MetricsServerTest, ReadyzFollowsTheReadinessCheck) {
  absl::StatusOr<Answer> answer = Get(port(), "/readyz");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 200) << "no check: ready";

  std::atomic<bool> ready{false};  // read on the server's thread
  server_.reset();
  absl::StatusOr<std::unique_ptr<HttpServer>> server = StartMetricsServer(
      {.listen = "127.0.0.1:0"}, &registry_, [&ready]() -> absl::Status {
        if (ready) return absl::OkStatus();
        return absl::UnavailableError("still reading the cluster");
      });
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = std::move(*server);
  answer = Get(port(), "/readyz");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 503);
  EXPECT_EQ(answer->body, "still reading the cluster\n");
  answer = Get(port(), "/healthz");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 200) << "alive while not ready";
  ready = true;
  answer = Get(port(), "/readyz");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 200);
}

TEST_F(MetricsServerTest, UnknownPathIs404) {
  for (const char* path : {"/", "/metric", "/metrics/", "/healthz/x"}) {
    absl::StatusOr<Answer> answer = Get(port(), path);
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->status, 404) << path;
  }
}

TEST_F(MetricsServerTest, OtherMethodsAre405HeadHasNoBody) {
  absl::StatusOr<Answer> answer = Exchange(
      port(), "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 405);
  EXPECT_EQ(answer->headers["allow"], "GET, HEAD");

  answer = Exchange(port(), "HEAD /metrics HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "");
  EXPECT_EQ(answer->headers["content-length"],
            absl::StrCat(registry_.Render().size()));
}

TEST_F(MetricsServerTest, MalformedRequestIs400) {
  for (const char* request :
       {"GET /metrics\r\n\r\n", "hello\n\n", "GET /metrics HTTP/9.9\r\n\r\n",
        "\x16\x03\x01\x02\x01\x01\xfc\x03\x03\r\n\r\n"}) {
    absl::StatusOr<Answer> answer = Exchange(port(), request);
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->status, 400) << absl::CEscape(request);
  }
  // Half a request, then the client stops sending: 400, not a hang.
  absl::StatusOr<ScopedFd> fd = Connect(port());
  ASSERT_TRUE(fd.ok()) << fd.status();
  ASSERT_EQ(send(fd->get(), "GET /met", 8, MSG_NOSIGNAL), 8);
  shutdown(fd->get(), SHUT_WR);
  absl::StatusOr<std::string> raw = ReadAll(fd->get());
  ASSERT_TRUE(raw.ok()) << raw.status();
  absl::StatusOr<Answer> answer = ParseAnswer(*raw);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 400);
}

TEST_F(MetricsServerTest, OversizedHeadIs431) {
  std::string request = absl::StrCat(
      "GET /metrics HTTP/1.1\r\nX-Big: ", std::string(20000, 'a'), "\r\n\r\n");
  absl::StatusOr<ScopedFd> fd = Connect(port());
  ASSERT_TRUE(fd.ok()) << fd.status();
  // The server may close before taking it all; what it answered counts.
  send(fd->get(), request.data(), request.size(), MSG_NOSIGNAL);
  absl::StatusOr<std::string> raw = ReadAll(fd->get());
  ASSERT_TRUE(raw.ok()) << raw.status();
  absl::StatusOr<Answer> answer = ParseAnswer(*raw);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 431);
}

TEST_F(MetricsServerTest, SilentClientTimesOutAndDoesNotBlockOthers) {
  // One thread, so the silent client holds it...
  Start({.listen = "127.0.0.1:0",
         .io_timeout = absl::Milliseconds(300),
         .workers = 1});
  absl::StatusOr<ScopedFd> silent = Connect(port());
  ASSERT_TRUE(silent.ok()) << silent.status();
  // ... until its read deadline: then the next client is served.
  const absl::Time start = absl::Now();
  absl::StatusOr<Answer> answer = Get(port(), "/healthz");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 200);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  // The silent one was told.
  absl::StatusOr<std::string> raw = ReadAll(silent->get());
  ASSERT_TRUE(raw.ok()) << raw.status();
  absl::StatusOr<Answer> timed_out = ParseAnswer(*raw);
  ASSERT_TRUE(timed_out.ok()) << timed_out.status();
  EXPECT_EQ(timed_out->status, 408);
}

// Held open for longer than any bound below, so a server that served one
// connection at a time could not answer /healthz in time.
constexpr absl::Duration kSlowClientHold = absl::Seconds(10);
// Generous for a loaded two-core machine, and far below kSlowClientHold.
constexpr absl::Duration kHealthzDeadline = absl::Seconds(2);

TEST_F(MetricsServerTest, SlowClientsDoNotDelayHealthz) {
  Start({.listen = "127.0.0.1:0", .io_timeout = kSlowClientHold});
  // Five clients hold connections: two say nothing, three send half a
  // request and stop there.
  std::vector<ScopedFd> slow;
  for (const char* sent : {"", "", "GET /met", "GET /healthz HTTP/1.1\r\n",
                           "GET /metrics HTTP/1.1\r\nHost: x"}) {
    absl::StatusOr<ScopedFd> fd = Connect(port());
    ASSERT_TRUE(fd.ok()) << fd.status();
    const size_t length = strlen(sent);
    ASSERT_EQ(send(fd->get(), sent, length, MSG_NOSIGNAL),
              static_cast<ssize_t>(length));
    slow.push_back(*std::move(fd));
  }
  for (const char* path : {"/healthz", "/readyz", "/metrics", "/healthz"}) {
    const absl::Time start = absl::Now();
    absl::StatusOr<Answer> answer = Get(port(), path);
    ASSERT_TRUE(answer.ok()) << path << ": " << answer.status();
    EXPECT_EQ(answer->status, 200) << path;
    EXPECT_LT(absl::Now() - start, kHealthzDeadline) << path;
  }
  // The slow clients were really held, not answered and dropped: each
  // still waits for its answer.
  for (const ScopedFd& fd : slow) {
    char byte;
    EXPECT_EQ(recv(fd.get(), &byte, 1, MSG_DONTWAIT), -1);
    EXPECT_EQ(errno, EAGAIN);
  }
}

TEST_F(MetricsServerTest, TricklingClientGetsNoMoreThanItsDeadline) {
  // A deadline per read would let a byte every 200 ms hold the thread for
  // as long as the client likes; the deadline is for the whole head.
  Start({.listen = "127.0.0.1:0",
         .io_timeout = absl::Milliseconds(800),
         .workers = 1});
  absl::StatusOr<ScopedFd> fd = Connect(port());
  ASSERT_TRUE(fd.ok()) << fd.status();
  const std::string request = "GET /metrics HTTP/1.1\r\nX-Slow: abcdefgh";
  const absl::Time start = absl::Now();
  for (char c : request) {
    // The server closes after its 408; later sends may fail, which is the
    // point.
    if (send(fd->get(), &c, 1, MSG_NOSIGNAL) != 1) break;
    absl::SleepFor(absl::Milliseconds(200));
    char byte;
    if (recv(fd->get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 1) break;
  }
  absl::StatusOr<std::string> raw = ReadAll(fd->get());
  ASSERT_TRUE(raw.ok()) << raw.status();
  absl::StatusOr<Answer> answer = ParseAnswer(*raw);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 408);
  // Sending it all would take 200 ms x 40 bytes = 8 s.
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(MetricsServerTest, ConcurrentScrapesAllAnswered) {
  constexpr int kClients = 8;
  constexpr int kRequestsEach = 20;
  const std::string expected = registry_.Render();
  std::atomic<int> ok{0};
  std::vector<std::string> failures(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kRequestsEach; ++i) {
        const char* path = i % 2 == 0 ? "/metrics" : "/healthz";
        absl::StatusOr<Answer> answer = Get(port(), path);
        if (!answer.ok()) {
          failures[c] = std::string(answer.status().message());
          return;
        }
        if (answer->status != 200 ||
            answer->body != (i % 2 == 0 ? expected : "ok")) {
          failures[c] = absl::StrCat(path, ": ", answer->status);
          return;
        }
        ++ok;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  for (const std::string& failure : failures) EXPECT_EQ(failure, "");
  EXPECT_EQ(ok.load(), kClients * kRequestsEach);
}

TEST_F(MetricsServerTest, FullQueueIsToldBusy) {
  Start({.listen = "127.0.0.1:0",
         .io_timeout = kSlowClientHold,
         .workers = 1,
         .max_waiting = 1});
  // One silent client holds the one thread and another the one queue
  // place, so one of three is told busy at once: which one depends on when
  // the thread takes the first, so all three are watched. They send nothing:
  // closing on an unread request could reset the connection before the answer
  // is read.
  std::vector<ScopedFd> clients;
  std::vector<pollfd> fds;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<ScopedFd> fd = Connect(port());
    ASSERT_TRUE(fd.ok()) << fd.status();
    fds.push_back({fd->get(), POLLIN, 0});
    clients.push_back(*std::move(fd));
  }
  ASSERT_GT(poll(fds.data(), fds.size(),
                 static_cast<int>(absl::ToInt64Milliseconds(kClientTimeout))),
            0);
  int answered = 0;
  for (const pollfd& fd : fds) {
    if (fd.revents != 0) answered = fd.fd;
  }
  absl::StatusOr<std::string> raw = ReadAll(answered);
  ASSERT_TRUE(raw.ok()) << raw.status();
  absl::StatusOr<Answer> answer = ParseAnswer(*raw);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 503);
}

TEST_F(MetricsServerTest, ConnectAndCloseWithoutARequestIsHarmless) {
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<ScopedFd> fd = Connect(port());
    ASSERT_TRUE(fd.ok()) << fd.status();
  }
  absl::StatusOr<Answer> answer = Get(port(), "/healthz");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 200);
}

TEST_F(MetricsServerTest, StopsPromptlyWithAClientConnected) {
  Start({.listen = "127.0.0.1:0", .io_timeout = absl::Seconds(30)});
  absl::StatusOr<ScopedFd> silent = Connect(port());
  ASSERT_TRUE(silent.ok()) << silent.status();
  absl::SleepFor(absl::Milliseconds(50));  // let the server take it
  const absl::Time start = absl::Now();
  server_.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST(MetricsServer, RejectsAddressesThatAreNotNumericHostPort) {
  Registry registry;
  for (const char* listen :
       {"", "127.0.0.1", "localhost:9750", "127.0.0.1:70000", "127.0.0.1:x",
        ":9750", "[::1:9750", "1.2.3:80"}) {
    absl::StatusOr<std::unique_ptr<HttpServer>> server =
        StartMetricsServer({.listen = listen}, &registry);
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument)
        << "'" << listen << "'";
  }
}

TEST(MetricsServer, PortInUseIsRetriedUntilFree) {
  // Hold a port with a listener of our own.
  ScopedFd holder(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(holder.valid());
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(
      bind(holder.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(holder.get(), 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(holder.get(), reinterpret_cast<sockaddr*>(&addr), &len),
            0);
  const int port = ntohs(addr.sin_port);

  Registry registry;
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      StartMetricsServer({.listen = absl::StrCat("127.0.0.1:", port),
                          .rebind_interval = absl::Milliseconds(20)},
                         &registry);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->port(), 0);  // not bound, but running

  holder.Reset();
  const absl::Time deadline = absl::Now() + kClientTimeout;
  while ((*server)->port() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ((*server)->port(), port);
  absl::StatusOr<Answer> answer = Get(port, "/healthz");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 200);
}

}  // namespace
}  // namespace switchyard::metrics
