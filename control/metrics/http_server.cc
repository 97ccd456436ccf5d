// SPDX-License-Identifier: Apache-2.0
#include "control/metrics/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "control/common/errno_status.h"
#include "control/common/log.h"
#include "control/metrics/exposition.h"
#include "control/metrics/registry.h"

namespace switchyard::metrics {
namespace {

// After the response, how long to wait for the client's close: closing
// with unread input makes the kernel send a reset, which can destroy the
// response before the client has read it.
constexpr absl::Duration kLinger = absl::Milliseconds(100);

struct ListenAddress {
  sockaddr_storage addr = {};
  socklen_t len = 0;
};

absl::StatusOr<ListenAddress> ParseListen(const std::string& listen) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address '", listen, "': ", why,
        " (want host:port with a numeric host, e.g. 127.0.0.1:9750)"));
  };
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return bad("no port");
  std::string host = listen.substr(0, colon);
  std::string port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port_number = 0;
  if (!absl::SimpleAtoi(port, &port_number) || port_number < 0 ||
      port_number > 65535) {
    return bad("bad port");
  }
  // Numeric only, and strictly so (inet_pton, not inet_aton's "1.2.3"):
  // no name lookups, no waiting on DNS at startup.
  ListenAddress out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port_number);
    out.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port_number);
    out.len = sizeof(sockaddr_in6);
  } else {
    return bad("host is not a numeric IPv4 or IPv6 address");
  }
  return out;
}

int BoundPort(int fd) {
  sockaddr_storage addr = {};
  socklen_t len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  if (addr.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  }
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  }
  return 0;
}

int RemainingMs(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60'000));
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    HttpServerConfig config, std::map<std::string, Handler> routes) {
  absl::StatusOr<ListenAddress> address = ParseListen(config.listen);
  if (!address.ok()) return address.status();
  ScopedFd wake(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) return ErrnoStatus(errno, "eventfd");
  if (config.workers < 1) {
    return absl::InvalidArgumentError("metrics server: workers must be >= 1");
  }
  std::unique_ptr<HttpServer> server(
      new HttpServer(std::move(config), std::move(routes), std::move(wake)));
  server->Bind(/*first_attempt=*/true);
  for (int i = 0; i < server->config_.workers; ++i) {
    server->workers_.emplace_back([s = server.get()] { s->Work(); });
  }
  server->thread_ = std::thread([s = server.get()] { s->Loop(); });
  return server;
}

HttpServer::HttpServer(HttpServerConfig config,
                       std::map<std::string, Handler> routes, ScopedFd wake)
    : config_(std::move(config)),
      routes_(std::move(routes)),
      wake_(std::move(wake)) {}

HttpServer::~HttpServer() {
  stopping_ = true;
  // Nothing reads the eventfd, so it stays readable: every wait on it, in
  // the accept loop and in each worker's Serve, ends now and stays ended.
  uint64_t one = 1;
  if (write(wake_.get(), &one, sizeof(one)) < 0) {
    LOG(ERROR) << "metrics server: cannot wake its threads: "
               << std::strerror(errno);
  }
  if (thread_.joinable()) thread_.join();
  {
    absl::MutexLock lock(&mu_);
    stop_workers_ = true;
    waiting_.clear();  // closes them: no answer is coming
    queued_.SignalAll();
  }
  for (std::thread& worker : workers_) worker.join();
}

bool HttpServer::Bind(bool first_attempt) {
  // Parsed once in Start; it cannot fail here.
  ListenAddress address = *ParseListen(config_.listen);
  ScopedFd fd(socket(address.addr.ss_family,
                     SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  int one = 1;
  // SO_REUSEADDR: a restarted daemon binds while the old one's closed
  // connections sit in TIME_WAIT.
  if (!fd.valid() ||
      setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      bind(fd.get(), reinterpret_cast<const sockaddr*>(&address.addr),
           address.len) != 0 ||
      listen(fd.get(), 64) != 0) {
    if (first_attempt) {
      LOG(ERROR) << "metrics: cannot listen on " << config_.listen << ": "
                 << std::strerror(errno) << "; retrying every "
                 << absl::FormatDuration(config_.rebind_interval);
    }
    return false;
  }
  port_ = BoundPort(fd.get());
  listen_fd_ = std::move(fd);
  LOG(INFO) << "metrics: serving /metrics and /healthz on " << config_.listen
            << (first_attempt ? "" : " (after retrying)") << ", port "
            << port_.load() << ", " << config_.workers
            << " connections at once";
  return true;
}

void HttpServer::Loop() {
  while (!stopping_) {
    if (!listen_fd_.valid()) {
      // Sleeps on the wake-up fd, so a stop is not delayed by the retry.
      pollfd wake = {wake_.get(), POLLIN, 0};
      poll(
          &wake, 1,
          static_cast<int>(absl::ToInt64Milliseconds(config_.rebind_interval)));
      if (!stopping_) Bind(/*first_attempt=*/false);
      continue;
    }
    pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      LOG(ERROR) << "metrics: poll: " << std::strerror(errno);
      return;
    }
    if (stopping_ || (fds[1].revents & POLLIN)) return;
    if (!(fds[0].revents & POLLIN)) continue;
    ScopedFd client(accept4(listen_fd_.get(), nullptr, nullptr,
                            SOCK_NONBLOCK | SOCK_CLOEXEC));
    // EAGAIN (the client gave up before accept) and the like: nothing to
    // do; running out of fds shows in the daemon's other logs first.
    if (!client.valid()) continue;
    Enqueue(std::move(client));
  }
}

void HttpServer::Enqueue(ScopedFd client) {
  {
    absl::MutexLock lock(&mu_);
    if (waiting_.size() < config_.max_waiting) {
      waiting_.push_back(std::move(client));
      queued_.Signal();
      return;
    }
  }
  // Every worker is busy and the queue is full: say so rather than let the
  // connection sit unanswered. The answer fits the socket's send buffer, so
  // this one non-blocking send does not hold up the accept loop.
  const std::string busy = FormatResponse(
      {503, "text/plain; charset=utf-8", "busy, try again\n"}, false);
  if (send(client.get(), busy.data(), busy.size(), MSG_NOSIGNAL) < 0) {
    return;  // the client went away: nothing to tell it
  }
  shutdown(client.get(), SHUT_WR);
  // Take what request already arrived, so the close is not a reset that
  // could destroy the answer (best effort: no waiting here).
  char buffer[4096];
  for (int i = 0; i < 4; ++i) {
    if (recv(client.get(), buffer, sizeof(buffer), MSG_DONTWAIT) <= 0) break;
  }
}

void HttpServer::Work() {
  for (;;) {
    ScopedFd client;
    {
      absl::MutexLock lock(&mu_);
      while (waiting_.empty() && !stop_workers_) queued_.Wait(&mu_);
      if (stop_workers_) return;
      client = std::move(waiting_.front());
      waiting_.pop_front();
    }
    // A connection that waited in the queue is still served: its deadline
    // starts now, and a stop ends it at once anyway.
    Serve(client.get());
  }
}

bool HttpServer::WaitFor(int fd, short events, absl::Time deadline) {
  for (;;) {
    pollfd fds[2] = {{fd, events, 0}, {wake_.get(), POLLIN, 0}};
    int n = poll(fds, 2, RemainingMs(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || stopping_ || (fds[1].revents & POLLIN)) return false;
    // POLLERR/POLLHUP count as ready: the read or write that follows
    // reports what happened.
    return fds[0].revents != 0;
  }
}

void HttpServer::Send(int fd, const std::string& data, absl::Time deadline) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
        WaitFor(fd, POLLOUT, deadline)) {
      continue;
    }
    return;  // the client went away, or is too slow to read
  }
}

void HttpServer::Serve(int fd) {
  const absl::Time deadline = absl::Now() + config_.io_timeout;
  std::string data;
  size_t head_length = 0;
  HttpResponse response;
  bool head_only = false;
  bool answer = true;
  char buffer[4096];
  for (;;) {
    head_length = RequestHeadLength(data);
    if (head_length != 0 && head_length <= config_.max_request_bytes) {
      response =
          Answer(absl::string_view(data).substr(0, head_length), head_only);
      break;
    }
    if (head_length != 0 || data.size() > config_.max_request_bytes) {
      response = {431, "text/plain; charset=utf-8", "request head too large\n"};
      break;
    }
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      data.append(buffer, n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (WaitFor(fd, POLLIN, deadline)) continue;
      if (stopping_) return;
      response = {408, "text/plain; charset=utf-8", "request timeout\n"};
      break;
    }
    // End of input (or an error) before a whole head: a connection opened
    // and closed without a request (a port check) gets no answer.
    answer = !data.empty();
    response = {400, "text/plain; charset=utf-8", "incomplete request\n"};
    break;
  }
  if (!answer) return;
  Send(fd, FormatResponse(response, head_only),
       absl::Now() + config_.io_timeout);
  shutdown(fd, SHUT_WR);
  // Lingering close: read what the client still sends until it closes,
  // briefly and boundedly.
  const absl::Time linger = absl::Now() + kLinger;
  for (int i = 0; i < 16 && WaitFor(fd, POLLIN, linger); ++i) {
    if (read(fd, buffer, sizeof(buffer)) <= 0) break;
  }
}

HttpResponse HttpServer::Answer(absl::string_view head, bool& head_only) {
  absl::StatusOr<HttpRequest> request = ParseRequestHead(head);
  if (!request.ok()) {
    return {400, "text/plain; charset=utf-8",
            absl::StrCat(request.status().message(), "\n")};
  }
  auto route = routes_.find(request->path);
  if (route == routes_.end()) {
    return {404, "text/plain; charset=utf-8", "not found\n"};
  }
  if (request->method != "GET" && request->method != "HEAD") {
    return {405, "text/plain; charset=utf-8", "method not allowed\n",
            "GET, HEAD"};
  }
  head_only = request->method == "HEAD";
  return route->second();
}

absl::StatusOr<std::unique_ptr<HttpServer>> StartMetricsServer(
    HttpServerConfig config, const Registry* registry,
    std::function<absl::Status()> ready) {
  std::map<std::string, HttpServer::Handler> routes;
  routes["/metrics"] = [registry] {
    return HttpResponse{200, kExpositionContentType, registry->Render()};
  };
  // The process answering is the health signal: the daemons have no state
  // in which they run but should not be scraped.
  routes["/healthz"] = [] {
    return HttpResponse{200, "text/plain; charset=utf-8", "ok"};
  };
  routes["/readyz"] = [ready = std::move(ready)] {
    absl::Status status = ready ? ready() : absl::OkStatus();
    if (status.ok())
      return HttpResponse{200, "text/plain; charset=utf-8", "ok"};
    return HttpResponse{503, "text/plain; charset=utf-8",
                        absl::StrCat(status.message(), "\n")};
  };
  return HttpServer::Start(std::move(config), std::move(routes));
}

}  // namespace switchyard::metrics
