// SPDX-License-Identifier: Apache-2.0
#include "control/agent/health_check_servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "control/common/errno_status.h"
#include "control/common/log.h"
#include "control/format/json.h"
#include "control/format/value.h"
#include "control/metrics/http_request.h"

namespace switchyard::agent {
namespace {

// A probe is a few hundred bytes; anything much larger is not a probe.
constexpr size_t kMaxRequestBytes = 8192;
// For reading a whole request head, and again for writing the answer.
constexpr absl::Duration kIoTimeout = absl::Seconds(5);
// After the answer, how long to read what the client still sends: closing
// with unread input makes the kernel send a reset, which can destroy the
// answer before the client has read it.
constexpr absl::Duration kLinger = absl::Milliseconds(100);
// Connections served at once, over all ports. Beyond it the listeners are
// not polled, and new probes wait in the kernel's backlog.
constexpr size_t kMaxConnections = 256;
constexpr int kBacklog = 128;

std::string AddressString(uint32_t address_be) {
  char text[INET_ADDRSTRLEN] = {};
  in_addr addr = {address_be};
  inet_ntop(AF_INET, &addr, text, sizeof(text));
  return text;
}

absl::StatusOr<ScopedFd> Listen(uint32_t address_be, uint16_t port) {
  ScopedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus(errno, "socket");
  // SO_REUSEADDR as Go's net.Listen (kube-proxy) sets it: a port closed a
  // moment ago with connections in TIME_WAIT opens again at once, while a
  // port someone else listens on still fails with EADDRINUSE.
  int one = 1;
  if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    return ErrnoStatus(errno, "SO_REUSEADDR");
  }
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = address_be;
  std::string where = absl::StrCat(AddressString(address_be), ":", port);
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    return ErrnoStatus(errno, absl::StrCat("bind ", where));
  }
  if (listen(fd.get(), kBacklog) != 0) {
    return ErrnoStatus(errno, absl::StrCat("listen ", where));
  }
  return fd;
}

// kube-proxy's answer, laid out as Go's json.Marshal writes it: one line,
// no spaces.
std::string HealthBody(const HealthCheckService& service, uint32_t n) {
  format::Value id = format::Value::Map();
  id.Set("namespace", format::Value::String(service.namespace_name));
  id.Set("name", format::Value::String(service.name));
  format::Value body = format::Value::Map();
  body.Set("service", std::move(id));
  body.Set("localEndpoints", format::Value::Int(n));
  // serviceProxyHealthy: the agent answering is its health; it has no
  // state in which it serves ports but should not be trusted.
  body.Set("serviceProxyHealthy", format::Value::Bool(true));
  return format::WriteCompactJson(body);
}

std::string PlainResponse(int status, absl::string_view body) {
  return absl::StrCat("HTTP/1.1 ", status, " ", metrics::ReasonPhrase(status),
                      "\r\nContent-Type: text/plain; charset=utf-8"
                      "\r\nContent-Length: ",
                      body.size(), "\r\nConnection: close\r\n\r\n", body);
}

int RemainingMs(absl::Time deadline, absl::Time now) {
  absl::Duration left = deadline - now;
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60'000));
}

struct GenerationReached {
  const uint64_t* seen;
  const bool* stopping;
  uint64_t wanted;
};

bool Reached(GenerationReached* g) {
  return *g->seen >= g->wanted || *g->stopping;
}

}  // namespace

struct HealthCheckServers::Connection {
  enum class State { kReading, kWriting, kLingering };
  ScopedFd fd;
  uint16_t port = 0;  // the health-check port it came in on
  State state = State::kReading;
  std::string data;  // the request read so far, then the answer
  size_t sent = 0;
  absl::Time deadline;
};

HealthCheckServers::HealthCheckServers(std::vector<uint32_t> addresses_be)
    : addresses_be_(std::move(addresses_be)),
      wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!wake_.valid()) {
    // Constructors do not fail; Update reports it.
    LOG(ERROR) << "health check: eventfd: " << std::strerror(errno);
    return;
  }
  thread_ = std::thread([this] { Loop(); });
}

HealthCheckServers::~HealthCheckServers() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
  // ports_ and to_close_ close their listeners as members are destroyed.
}

void HealthCheckServers::Wake() {
  uint64_t one = 1;
  if (wake_.valid() && write(wake_.get(), &one, sizeof(one)) < 0 &&
      errno != EAGAIN) {
    LOG(ERROR) << "health check: cannot wake the serving thread: "
               << std::strerror(errno);
  }
}

absl::Status HealthCheckServers::Update(
    const std::vector<HealthCheckService>& services) {
  if (!thread_.joinable()) {
    return absl::InternalError(
        "health check: not serving (no eventfd at startup)");
  }
  std::vector<std::string> errors;
  absl::StatusCode code = absl::StatusCode::kOk;
  uint64_t generation = 0;
  {
    absl::MutexLock lock(&mu_);
    std::map<uint16_t, const HealthCheckService*> wanted;
    for (const HealthCheckService& service : services) {
      if (service.port == 0) continue;
      auto [it, added] = wanted.emplace(service.port, &service);
      if (!added) {
        // The API server allocates each port once; two services on one
        // port is a broken input. The first keeps it.
        errors.push_back(absl::StrCat(
            "health check node port ", service.port, " of ",
            service.namespace_name, "/", service.name, ": already used by ",
            it->second->namespace_name, "/", it->second->name));
        code = absl::StatusCode::kInvalidArgument;
      }
    }
    for (auto it = ports_.begin(); it != ports_.end();) {
      if (wanted.contains(it->first)) {
        ++it;
        continue;
      }
      LOG(INFO) << "health check: closing port " << it->first << " of "
                << it->second.service.namespace_name << "/"
                << it->second.service.name;
      for (ScopedFd& fd : it->second.listeners) {
        to_close_.push_back(std::move(fd));
      }
      it = ports_.erase(it);
    }
    for (const auto& [port, service] : wanted) {
      auto it = ports_.find(port);
      if (it != ports_.end()) {
        it->second.service = *service;  // in place: the listeners stay
        continue;
      }
      Port opened{*service, {}};
      absl::Status failed;
      for (uint32_t address : addresses_be_) {
        absl::StatusOr<ScopedFd> fd = Listen(address, port);
        if (!fd.ok()) {
          failed = fd.status();
          break;
        }
        opened.listeners.push_back(*std::move(fd));
      }
      if (!failed.ok()) {
        // All addresses or none, as kube-proxy: the listeners opened so far
        // were never polled, so they close here, now.
        errors.push_back(absl::StrCat("health check node port ", port, " of ",
                                      service->namespace_name, "/",
                                      service->name, ": ", failed.message()));
        if (code == absl::StatusCode::kOk) code = failed.code();
        continue;
      }
      LOG(INFO) << "health check: serving " << service->namespace_name << "/"
                << service->name << " on port " << port;
      ports_.emplace(port, std::move(opened));
    }
    generation = ++generation_;
  }
  // Waits for the serving thread to pick the change up, so that closed
  // ports are closed when this returns.
  Wake();
  GenerationReached reached{&seen_generation_, &stopping_, generation};
  mu_.LockWhen(absl::Condition(&Reached, &reached));
  mu_.Unlock();
  if (errors.empty()) return absl::OkStatus();
  for (const std::string& error : errors) LOG(ERROR) << error;
  return absl::Status(code, absl::StrJoin(errors, "; "));
}

std::string HealthCheckServers::Answer(uint16_t port, const std::string& head) {
  absl::StatusOr<metrics::HttpRequest> request =
      metrics::ParseRequestHead(head);
  if (!request.ok()) {
    return PlainResponse(400, absl::StrCat(request.status().message(), "\n"));
  }
  HealthCheckService service;
  {
    absl::MutexLock lock(&mu_);
    auto it = ports_.find(port);
    if (it == ports_.end()) return "";
    service = it->second.service;
  }
  // kube-proxy answers every method and path alike; so does this.
  const uint32_t n = service.local_endpoints;
  const int status = n > 0 ? 200 : 503;
  std::string body = HealthBody(service, n);
  std::string out = absl::StrCat(
      "HTTP/1.1 ", status, " ", metrics::ReasonPhrase(status),
      "\r\nContent-Type: application/json"
      "\r\nX-Content-Type-Options: nosniff"
      "\r\nX-Load-Balancing-Endpoint-Weight: ",
      n, "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n");
  if (request->method != "HEAD") out += body;
  return out;
}

bool HealthCheckServers::Listeners(
    std::vector<std::unique_ptr<Connection>>& connections,
    std::vector<std::pair<int, uint16_t>>& listeners) {
  listeners.clear();
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  to_close_.clear();
  seen_generation_ = generation_;
  // Connections of a closed port go with it, as Go's Server.Close.
  std::erase_if(connections, [&](const std::unique_ptr<Connection>& c) {
    return !ports_.contains(c->port);
  });
  if (connections.size() < kMaxConnections) {
    for (const auto& [port, entry] : ports_) {
      for (const ScopedFd& fd : entry.listeners) {
        listeners.emplace_back(fd.get(), port);
      }
    }
  }
  return true;
}

bool HealthCheckServers::Serve(Connection& c, short revents, absl::Time now) {
  char buffer[4096];
  if (revents == 0) return now >= c.deadline;  // too slow: closed unanswered
  switch (c.state) {
    case Connection::State::kReading: {
      ssize_t n = read(c.fd.get(), buffer, sizeof(buffer));
      if (n > 0) c.data.append(buffer, n);
      const bool eof = n == 0 || (n < 0 && errno != EAGAIN &&
                                  errno != EWOULDBLOCK && errno != EINTR);
      bool done = false;
      size_t head = metrics::RequestHeadLength(c.data);
      if (head != 0 && head <= kMaxRequestBytes) {
        c.data = Answer(c.port, c.data.substr(0, head));
        done = c.data.empty();
        c.state = Connection::State::kWriting;
      } else if (head != 0 || c.data.size() > kMaxRequestBytes) {
        c.data = PlainResponse(431, "request head too large\n");
        c.state = Connection::State::kWriting;
      } else if (eof) {
        // Opened and closed without a request (a TCP port check): no
        // answer. Half a request: say so.
        done = c.data.empty() || n < 0;
        c.data = PlainResponse(400, "incomplete request\n");
        c.state = Connection::State::kWriting;
      }
      if (c.state == Connection::State::kWriting) c.deadline = now + kIoTimeout;
      return done;
    }
    case Connection::State::kWriting: {
      ssize_t n = send(c.fd.get(), c.data.data() + c.sent,
                       c.data.size() - c.sent, MSG_NOSIGNAL);
      if (n > 0) c.sent += n;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return true;  // the client went away
      }
      if (c.sent == c.data.size()) {
        shutdown(c.fd.get(), SHUT_WR);
        c.state = Connection::State::kLingering;
        c.deadline = now + kLinger;
      }
      return false;
    }
    case Connection::State::kLingering: {  // drain until the client closes
      ssize_t n = read(c.fd.get(), buffer, sizeof(buffer));
      return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                        errno != EINTR);
    }
  }
  return true;
}

void HealthCheckServers::Accept(
    int listener, uint16_t port, absl::Time now,
    std::vector<std::unique_ptr<Connection>>& connections) {
  while (connections.size() < kMaxConnections) {
    ScopedFd client(
        accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    // EAGAIN: none left. Others (the client gave up, out of fds): the next
    // poll tries again.
    if (!client.valid()) return;
    auto c = std::make_unique<Connection>();
    c->fd = std::move(client);
    c->port = port;
    c->deadline = now + kIoTimeout;
    connections.push_back(std::move(c));
  }
}

void HealthCheckServers::Loop() {
  std::vector<std::unique_ptr<Connection>> connections;
  std::vector<std::pair<int, uint16_t>> listeners;  // fd, port
  std::vector<pollfd> fds;
  while (Listeners(connections, listeners)) {
    absl::Time now = absl::Now();
    fds.clear();
    fds.push_back({wake_.get(), POLLIN, 0});
    for (const auto& [fd, port] : listeners) fds.push_back({fd, POLLIN, 0});
    int timeout_ms = -1;
    for (const std::unique_ptr<Connection>& c : connections) {
      short events = c->state == Connection::State::kWriting ? POLLOUT : POLLIN;
      fds.push_back({c->fd.get(), events, 0});
      int left = RemainingMs(c->deadline, now);
      timeout_ms = timeout_ms < 0 ? left : std::min(timeout_ms, left);
    }
    if (poll(fds.data(), fds.size(), timeout_ms) < 0) {
      if (errno == EINTR) continue;
      // Not expected (EINVAL, ENOMEM); a short sleep keeps it from
      // spinning, and Update keeps working.
      LOG(ERROR) << "health check: poll: " << std::strerror(errno);
      absl::SleepFor(absl::Milliseconds(100));
      continue;
    }
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      (void)!read(wake_.get(), &count, sizeof(count));
    }
    now = absl::Now();
    // Existing connections first (their pollfds follow the listeners'), so
    // the indexes still match when accept adds more.
    const size_t first = 1 + listeners.size();
    for (size_t i = 0; i < connections.size(); ++i) {
      if (Serve(*connections[i], fds[first + i].revents, now)) {
        connections[i]->fd.Reset();
      }
    }
    std::erase_if(connections, [](const std::unique_ptr<Connection>& c) {
      return !c->fd.valid();
    });
    for (size_t i = 0; i < listeners.size(); ++i) {
      if (fds[1 + i].revents == 0) continue;
      Accept(listeners[i].first, listeners[i].second, now, connections);
    }
  }
}

}  // namespace switchyard::agent
