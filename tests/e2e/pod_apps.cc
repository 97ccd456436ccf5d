// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/pod_apps.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <future>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "control/common/errno_status.h"
#include "control/common/ipv4.h"

namespace switchyard::e2e {
namespace {

// A server keeps at most this many connections; tests open far fewer at a
// time, and a bound keeps a runaway client from exhausting descriptors.
constexpr size_t kMaxConnections = 256;
// How long the server's poll sleeps before looking at its stop signal
// again, should the eventfd write ever be missed.
constexpr int kServerPollMs = 1000;

absl::Status SetIoTimeouts(int fd) {
  timeval tv = absl::ToTimeval(kIoTimeout);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
    return ErrnoStatus(errno, "set socket timeouts");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Reply> ParseReply(absl::string_view line) {
  std::vector<std::string> words = absl::StrSplit(line, ' ');
  if (words.size() != 2) {
    return absl::DataLossError(absl::StrCat("malformed reply '", line, "'"));
  }
  return Reply{words[0], words[1]};
}

sockaddr_in SockAddr(absl::string_view ip, uint16_t port) {
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = ParseIpv4(ip).value();
  address.sin_port = htons(port);
  return address;
}

std::string Format(const sockaddr_in& address) {
  return absl::StrCat(FormatIpv4(address.sin_addr.s_addr), ":",
                      ntohs(address.sin_port));
}

absl::StatusOr<std::string> SockName(int fd) {
  sockaddr_in address = {};
  socklen_t len = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &len) != 0) {
    return ErrnoStatus(errno, "getsockname");
  }
  return Format(address);
}

// ---------------------------------------------------------------------------
// IdentityServer

absl::StatusOr<std::unique_ptr<IdentityServer>> IdentityServer::Start(
    const netns::Namespace& ns, std::string identity, uint16_t tcp_port,
    uint16_t udp_port) {
  auto server =
      std::unique_ptr<IdentityServer>(new IdentityServer(std::move(identity)));
  server->stop_ = ScopedFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!server->stop_.valid()) return ErrnoStatus(errno, "eventfd");
  std::promise<absl::Status> ready;
  std::future<absl::Status> started = ready.get_future();
  server->thread_ = std::thread([s = server.get(), &ns, tcp_port, udp_port,
                                 ready = std::move(ready)]() mutable {
    absl::Status status = ns.EnterThisThread();
    if (status.ok()) status = s->Listen(tcp_port, udp_port);
    const bool ok = status.ok();
    ready.set_value(std::move(status));
    if (ok) s->Serve();
  });
  // The thread either listens or fails within a few syscalls; the bound is
  // only against a wedged machine.
  if (started.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    return absl::DeadlineExceededError("server did not start");
  }
  if (absl::Status s = started.get(); !s.ok()) return s;
  return server;
}

IdentityServer::~IdentityServer() {
  uint64_t one = 1;
  // Cannot fail on a fresh eventfd; if it did, poll's timeout still ends
  // the loop once the descriptor is seen readable or the thread sees EOF.
  (void)!write(stop_.get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

absl::Status IdentityServer::Listen(uint16_t tcp_port, uint16_t udp_port) {
  tcp_ =
      ScopedFd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  udp_ =
      ScopedFd(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!tcp_.valid() || !udp_.valid()) return ErrnoStatus(errno, "socket");
  int one = 1;
  setsockopt(tcp_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in tcp_address = SockAddr("0.0.0.0", tcp_port);
  sockaddr_in udp_address = SockAddr("0.0.0.0", udp_port);
  if (bind(tcp_.get(), reinterpret_cast<sockaddr*>(&tcp_address),
           sizeof(tcp_address)) != 0 ||
      listen(tcp_.get(), 128) != 0) {
    return ErrnoStatus(errno, absl::StrCat("tcp listen on ", tcp_port));
  }
  if (bind(udp_.get(), reinterpret_cast<sockaddr*>(&udp_address),
           sizeof(udp_address)) != 0) {
    return ErrnoStatus(errno, absl::StrCat("udp bind to ", udp_port));
  }
  return absl::OkStatus();
}

void IdentityServer::Serve() {
  std::vector<ScopedFd> connections;
  for (;;) {
    std::vector<pollfd> fds = {{stop_.get(), POLLIN, 0},
                               {tcp_.get(), POLLIN, 0},
                               {udp_.get(), POLLIN, 0}};
    for (const ScopedFd& c : connections) fds.push_back({c.get(), POLLIN, 0});
    if (poll(fds.data(), fds.size(), kServerPollMs) < 0 && errno != EINTR) {
      return;
    }
    if (fds[0].revents != 0) return;
    if (fds[1].revents & POLLIN) {
      ScopedFd c(
          accept4(tcp_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (c.valid() && connections.size() < kMaxConnections) {
        connections.push_back(std::move(c));
      }
    }
    if (fds[2].revents & POLLIN) ServeDatagram();
    std::vector<ScopedFd> open;
    for (size_t i = 0; i < connections.size(); ++i) {
      if (fds[3 + i].revents == 0 || ServeStream(connections[i].get())) {
        open.push_back(std::move(connections[i]));
      }
    }
    connections = std::move(open);
  }
}

void IdentityServer::ServeDatagram() {
  char buf[512];
  sockaddr_in peer = {};
  socklen_t len = sizeof(peer);
  ssize_t n = recvfrom(udp_.get(), buf, sizeof(buf), 0,
                       reinterpret_cast<sockaddr*>(&peer), &len);
  if (n < 0) return;
  std::string answer = absl::StrCat(identity_, " ", Format(peer), "\n");
  sendto(udp_.get(), answer.data(), answer.size(), 0,
         reinterpret_cast<sockaddr*>(&peer), len);
}

bool IdentityServer::ServeStream(int fd) {
  char buf[4096];
  ssize_t n = recv(fd, buf, sizeof(buf), 0);
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  if (n == 0) return false;
  const size_t lines = std::count(buf, buf + n, '\n');
  if (lines == 0) return true;
  sockaddr_in peer = {};
  socklen_t len = sizeof(peer);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) {
    return false;
  }
  std::string answer = absl::StrCat(identity_, " ", Format(peer), "\n");
  for (size_t i = 0; i < lines; ++i) {
    if (send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(answer.size())) {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------
// Clients

namespace {

// Binds to a fixed local port, allowed while an earlier socket on it
// waits in TIME_WAIT (as a busy client's with tcp_tw_reuse would).
absl::Status BindFrom(int fd, uint16_t port) {
  if (port == 0) return absl::OkStatus();
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    return ErrnoStatus(errno, "SO_REUSEADDR");
  }
  sockaddr_in local = {};
  local.sin_family = AF_INET;
  local.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof(local)) != 0) {
    return ErrnoStatus(errno, absl::StrCat("bind to port ", port));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ConnectResult> ConnectTcp(const sockaddr_in& to,
                                         absl::Duration timeout,
                                         uint16_t from_port) {
  ConnectResult result;
  result.fd =
      ScopedFd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!result.fd.valid()) return ErrnoStatus(errno, "socket");
  if (absl::Status s = BindFrom(result.fd.get(), from_port); !s.ok()) return s;
  const absl::Time start = absl::Now();
  if (connect(result.fd.get(), reinterpret_cast<const sockaddr*>(&to),
              sizeof(to)) != 0) {
    if (errno != EINPROGRESS) {
      result.error = errno;
    } else {
      pollfd pfd = {result.fd.get(), POLLOUT, 0};
      int ready =
          poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
      if (ready < 0) return ErrnoStatus(errno, "poll");
      if (ready == 0) {
        result.error = ETIMEDOUT;
      } else {
        socklen_t len = sizeof(result.error);
        getsockopt(result.fd.get(), SOL_SOCKET, SO_ERROR, &result.error, &len);
      }
    }
  }
  result.took = absl::Now() - start;
  if (result.error != 0) {
    result.fd.Reset();
    return result;
  }
  int flags = fcntl(result.fd.get(), F_GETFL);
  if (flags < 0 || fcntl(result.fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return ErrnoStatus(errno, "fcntl");
  }
  if (absl::Status s = SetIoTimeouts(result.fd.get()); !s.ok()) return s;
  return result;
}

absl::StatusOr<ScopedFd> MustConnect(const sockaddr_in& to,
                                     absl::Duration timeout) {
  absl::StatusOr<ConnectResult> c = ConnectTcp(to, timeout);
  if (!c.ok()) return c.status();
  if (c->error != 0) {
    return ErrnoStatus(c->error, absl::StrCat("connect to ", Format(to)));
  }
  return std::move(c->fd);
}

absl::StatusOr<Reply> Exchange(int fd, absl::string_view request) {
  while (!request.empty()) {
    ssize_t n = send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    if (n < 0) return ErrnoStatus(errno, "send");
    request.remove_prefix(n);
  }
  std::string line;
  char buf[256];
  // Bounded: every recv answers within kIoTimeout, and a reply is short.
  while (line.find('\n') == std::string::npos && line.size() < 1024) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) return ErrnoStatus(errno, "recv");
    if (n == 0) return absl::AbortedError("connection closed before a reply");
    line.append(buf, n);
  }
  return ParseReply(line.substr(0, line.find('\n')));
}

absl::StatusOr<ScopedFd> UdpConnect(const sockaddr_in& to, uint16_t from_port) {
  ScopedFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus(errno, "socket");
  if (absl::Status s = BindFrom(fd.get(), from_port); !s.ok()) return s;
  if (absl::Status s = SetIoTimeouts(fd.get()); !s.ok()) return s;
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), sizeof(to)) !=
      0) {
    return ErrnoStatus(errno, "connect udp");
  }
  return fd;
}

absl::StatusOr<Reply> UdpExchange(int fd, absl::string_view request) {
  if (send(fd, request.data(), request.size(), 0) !=
      static_cast<ssize_t>(request.size())) {
    return ErrnoStatus(errno, "send udp");
  }
  // A connected UDP socket only takes datagrams from its peer: an answer
  // whose source was not translated back never arrives here.
  char buf[512];
  ssize_t n = recv(fd, buf, sizeof(buf), 0);
  if (n < 0) return ErrnoStatus(errno, "recv udp");
  absl::string_view text(buf, n);
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  return ParseReply(text);
}

absl::StatusOr<Reply> TcpCall(const sockaddr_in& to, absl::Duration timeout,
                              uint16_t from_port) {
  absl::StatusOr<ConnectResult> c = ConnectTcp(to, timeout, from_port);
  if (!c.ok()) return c.status();
  if (c->error != 0) {
    return ErrnoStatus(c->error, absl::StrCat("connect to ", Format(to)));
  }
  absl::StatusOr<Reply> reply = Exchange(c->fd.get(), "hello\n");
  if (!reply.ok()) return reply.status();
  if (shutdown(c->fd.get(), SHUT_WR) != 0) {
    return ErrnoStatus(errno, "shutdown");
  }
  char buf[256];
  while (true) {
    ssize_t n = recv(c->fd.get(), buf, sizeof(buf), 0);
    if (n == 0) return reply;
    if (n < 0) return ErrnoStatus(errno, "read to the end");
  }
}

absl::StatusOr<Reply> UdpCall(const sockaddr_in& to, uint16_t from_port) {
  absl::StatusOr<ScopedFd> fd = UdpConnect(to, from_port);
  if (!fd.ok()) return fd.status();
  return UdpExchange(fd->get(), "hello");
}

}  // namespace switchyard::e2e
