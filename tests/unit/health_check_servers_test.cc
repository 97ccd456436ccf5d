// SPDX-License-Identifier: Apache-2.0
// The health-check node ports over real loopback sockets: 127.0.0.1 (and
// 127.0.0.2, also loopback) on ports the test finds free, real HTTP/1.1
// requests, answers checked byte for byte.
#include "control/agent/health_check_servers.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/common/scoped_fd.h"

namespace switchyard::agent {
namespace {

const uint32_t kLoopback = htonl(INADDR_LOOPBACK);  // 127.0.0.1
const uint32_t kLoopback2 = htonl(0x7f000002);      // 127.0.0.2

// A port nobody listens on now: the kernel picks it, the test releases it.
uint16_t FreePort() {
  ScopedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = kLoopback;
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ADD_FAILURE() << "bind: " << errno;
    return 0;
  }
  socklen_t len = sizeof(addr);
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

// A blocking TCP connection to address:port; invalid (and errno set) if
// refused. Reads and writes time out after 5 s, so a broken server fails
// the test instead of hanging it.
ScopedFd Connect(uint16_t port, uint32_t address_be = kLoopback) {
  ScopedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  timeval timeout = {5, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = address_be;
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    return ScopedFd();
  }
  return fd;
}

bool Refused(uint16_t port, uint32_t address_be = kLoopback) {
  ScopedFd fd = Connect(port, address_be);
  return !fd.valid() && errno == ECONNREFUSED;
}

struct Reply {
  bool ok = false;  // a whole HTTP response was read
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// Sends `request` on `fd` and reads until the server closes.
Reply Exchange(const ScopedFd& fd, const std::string& request) {
  Reply reply;
  if (!fd.valid()) return reply;
  if (send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return reply;
  }
  std::string data;
  char buffer[4096];
  for (;;) {
    ssize_t n = read(fd.get(), buffer, sizeof(buffer));
    if (n <= 0) {
      if (n < 0) return reply;  // timed out
      break;
    }
    data.append(buffer, n);
  }
  size_t end = data.find("\r\n\r\n");
  if (end == std::string::npos) return reply;
  std::vector<std::string> lines = absl::StrSplit(data.substr(0, end), "\r\n");
  std::vector<std::string> status_line = absl::StrSplit(lines[0], ' ');
  if (status_line.size() < 2 || status_line[0] != "HTTP/1.1" ||
      !absl::SimpleAtoi(status_line[1], &reply.status)) {
    return reply;
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> kv =
        absl::StrSplit(lines[i], absl::MaxSplits(": ", 1));
    if (kv.size() != 2) return reply;
    reply.headers[absl::AsciiStrToLower(kv[0])] = kv[1];
  }
  reply.body = data.substr(end + 4);
  reply.ok = true;
  return reply;
}

Reply Get(uint16_t port, const std::string& path = "/",
          uint32_t address_be = kLoopback) {
  return Exchange(Connect(port, address_be),
                  absl::StrCat("GET ", path,
                               " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "User-Agent: GoogleHC/1.0\r\n\r\n"));
}

std::string Body(const std::string& ns, const std::string& name, uint32_t n) {
  return absl::StrCat("{\"service\":{\"namespace\":\"", ns, "\",\"name\":\"",
                      name, "\"},\"localEndpoints\":", n,
                      ",\"serviceProxyHealthy\":true}");
}

TEST(HealthCheckServers, AnswersOkWithTheLocalEndpointCount) {
  const uint16_t port = FreePort();
  HealthCheckServers servers({kLoopback});
  ASSERT_TRUE(servers.Update({{"default", "web", port, 3}}).ok());
  Reply r = Get(port, "/");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(r.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(r.headers["x-load-balancing-endpoint-weight"], "3");
  EXPECT_EQ(r.headers["content-length"], absl::StrCat(r.body.size()));
  EXPECT_EQ(r.body, Body("default", "web", 3));
}

TEST(HealthCheckServers, AnswersUnavailableWithoutLocalEndpoints) {
  const uint16_t port = FreePort();
  HealthCheckServers servers({kLoopback});
  ASSERT_TRUE(servers.Update({{"shop", "cart", port, 0}}).ok());
  Reply r = Get(port);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(r.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(r.headers["x-load-balancing-endpoint-weight"], "0");
  EXPECT_EQ(r.body, Body("shop", "cart", 0));
}

TEST(HealthCheckServers, AnyPathAndMethodGetTheSameAnswerHeadWithoutBody) {
  const uint16_t port = FreePort();
  HealthCheckServers servers({kLoopback});
  ASSERT_TRUE(servers.Update({{"default", "web", port, 1}}).ok());
  for (const char* path : {"/", "/healthz", "/x?probe=1"}) {
    Reply r = Get(port, path);
    ASSERT_TRUE(r.ok) << path;
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, Body("default", "web", 1)) << path;
  }
  Reply head = Exchange(Connect(port), "HEAD / HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(head.ok);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-length"],
            absl::StrCat(Body("default", "web", 1).size()));
  EXPECT_EQ(head.body, "");
  Reply bad = Exchange(Connect(port), "nonsense\r\n\r\n");
  ASSERT_TRUE(bad.ok);
  EXPECT_EQ(bad.status, 400);
}

TEST(HealthCheckServers, UpdatesCountsInPlaceWithoutReopening) {
  const uint16_t port = FreePort();
  HealthCheckServers servers({kLoopback});
  ASSERT_TRUE(servers.Update({{"default", "web", port, 2}}).ok());
  EXPECT_EQ(Get(port).status, 200);
  // A connection made before the update is answered after it: the
  // listener it came in on was kept.
  ScopedFd early = Connect(port);
  ASSERT_TRUE(early.valid());
  ASSERT_TRUE(servers.Update({{"default", "web", port, 0}}).ok());
  Reply r = Exchange(early, "GET / HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, Body("default", "web", 0));
  ASSERT_TRUE(servers.Update({{"default", "web", port, 7}}).ok());
  r = Get(port);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["x-load-balancing-endpoint-weight"], "7");
  EXPECT_EQ(r.body, Body("default", "web", 7));
}

TEST(HealthCheckServers, RemovingAServiceClosesItsPortOnly) {
  const uint16_t gone = FreePort();
  const uint16_t kept = FreePort();
  ASSERT_NE(gone, kept);
  HealthCheckServers servers({kLoopback});
  ASSERT_TRUE(
      servers
          .Update({{"default", "gone", gone, 1}, {"default", "kept", kept, 1}})
          .ok());
  EXPECT_EQ(Get(gone).status, 200);
  ASSERT_TRUE(servers.Update({{"default", "kept", kept, 1}}).ok());
  EXPECT_TRUE(Refused(gone));
  Reply r = Get(kept);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, Body("default", "kept", 1));
  // And it opens again when the service comes back.
  ASSERT_TRUE(
      servers
          .Update({{"default", "gone", gone, 4}, {"default", "kept", kept, 1}})
          .ok());
  EXPECT_EQ(Get(gone).body, Body("default", "gone", 4));
}

TEST(HealthCheckServers, ATakenPortIsReportedAndTheOthersServe) {
  const uint16_t taken = FreePort();
  const uint16_t free = FreePort();
  ASSERT_NE(taken, free);
  // Someone else listens on `taken`.
  ScopedFd squatter(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(taken);
  addr.sin_addr.s_addr = kLoopback;
  ASSERT_EQ(
      bind(squatter.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
      0);
  ASSERT_EQ(listen(squatter.get(), 4), 0);

  HealthCheckServers servers({kLoopback});
  const std::vector<HealthCheckService> services = {
      {"default", "taken", taken, 1}, {"default", "free", free, 1}};
  absl::Status status = servers.Update(services);
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(absl::StrContains(status.message(), absl::StrCat(taken)))
      << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "default/taken")) << status;
  EXPECT_FALSE(absl::StrContains(status.message(), "default/free")) << status;
  EXPECT_EQ(Get(free).body, Body("default", "free", 1));

  // Once released, the next Update takes it.
  squatter.Reset();
  ASSERT_TRUE(servers.Update(services).ok());
  EXPECT_EQ(Get(taken).body, Body("default", "taken", 1));
}

TEST(HealthCheckServers, ADuplicatePortIsReportedAndTheFirstKeepsIt) {
  const uint16_t port = FreePort();
  HealthCheckServers servers({kLoopback});
  absl::Status status =
      servers.Update({{"default", "a", port, 1}, {"default", "b", port, 2}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "default/b")) << status;
  EXPECT_EQ(Get(port).body, Body("default", "a", 1));
}

TEST(HealthCheckServers, ListensOnEveryAddress) {
  const uint16_t port = FreePort();
  HealthCheckServers servers({kLoopback, kLoopback2});
  ASSERT_TRUE(servers.Update({{"default", "web", port, 1}}).ok());
  EXPECT_EQ(Get(port, "/", kLoopback).status, 200);
  EXPECT_EQ(Get(port, "/", kLoopback2).status, 200);
  ASSERT_TRUE(servers.Update({}).ok());
  EXPECT_TRUE(Refused(port, kLoopback));
  EXPECT_TRUE(Refused(port, kLoopback2));
}

TEST(HealthCheckServers, PortZeroIsSkipped) {
  HealthCheckServers servers({kLoopback});
  EXPECT_TRUE(servers.Update({{"default", "cluster-policy", 0, 1}}).ok());
}

TEST(HealthCheckServers, DestructorClosesEveryPort) {
  const uint16_t a = FreePort();
  const uint16_t b = FreePort();
  ASSERT_NE(a, b);
  {
    HealthCheckServers servers({kLoopback});
    ASSERT_TRUE(
        servers.Update({{"default", "a", a, 1}, {"default", "b", b, 0}}).ok());
    EXPECT_EQ(Get(a).status, 200);
    EXPECT_EQ(Get(b).status, 503);
    // A connection still open at destruction does not hold it up.
    ScopedFd idle = Connect(a);
    ASSERT_TRUE(idle.valid());
  }
  EXPECT_TRUE(Refused(a));
  EXPECT_TRUE(Refused(b));
}

TEST(HealthCheckServers, ASilentClientDoesNotHoldUpOthers) {
  const uint16_t a = FreePort();
  const uint16_t b = FreePort();
  HealthCheckServers servers({kLoopback});
  ASSERT_TRUE(
      servers.Update({{"default", "a", a, 1}, {"default", "b", b, 1}}).ok());
  std::vector<ScopedFd> silent;
  for (int i = 0; i < 8; ++i) silent.push_back(Connect(a));
  const absl::Time start = absl::Now();
  EXPECT_EQ(Get(a).status, 200);
  EXPECT_EQ(Get(b).status, 200);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST(HealthCheckServers, UpdatesWhileServingAreConsistent) {
  const uint16_t port = FreePort();
  HealthCheckServers servers({kLoopback});
  ASSERT_TRUE(servers.Update({{"default", "web", port, 0}}).ok());
  std::atomic<bool> done{false};
  std::thread updater([&] {
    for (uint32_t i = 0; i < 2000 && !done; ++i) {
      // Count i % 3 from this thread while the main one probes.
      if (!servers.Update({{"default", "web", port, i % 3}}).ok()) break;
    }
  });
  for (int i = 0; i < 200; ++i) {
    Reply r = Get(port);
    ASSERT_TRUE(r.ok);
    uint32_t n = 0;
    ASSERT_TRUE(
        absl::SimpleAtoi(r.headers["x-load-balancing-endpoint-weight"], &n));
    EXPECT_EQ(r.status, n > 0 ? 200 : 503);
    EXPECT_EQ(r.body, Body("default", "web", n));
  }
  done = true;
  updater.join();
}

}  // namespace
}  // namespace switchyard::agent
