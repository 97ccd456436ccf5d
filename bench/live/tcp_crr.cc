// SPDX-License-Identifier: Apache-2.0
#include "bench/live/tcp_crr.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"
#include "control/common/scoped_fd.h"

namespace switchyard::bench::live {
namespace {

using Clock = std::chrono::steady_clock;

// A connection that has not completed in this time counts as failed; the
// loop goes on with the next one.
constexpr timeval kIoTimeout = {1, 0};

absl::StatusOr<ScopedFd> Listen() {
  ScopedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return ErrnoStatus(errno, "server socket");
  const int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(kTargetPort);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoStatus(errno, "bind server");
  }
  if (listen(fd.get(), 4096) != 0) return ErrnoStatus(errno, "listen");
  return fd;
}

// Accepts until `stop`, answering every connection with one byte and a
// close (the server closes first, so TIME_WAIT stays on its side and the
// client's ports are free again at once).
void Serve(int listen_fd, const std::atomic<bool>& stop) {
  const char byte = 'y';
  while (!stop.load(std::memory_order_relaxed)) {
    pollfd p = {listen_fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    for (;;) {
      const int c = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) break;
      (void)!write(c, &byte, 1);
      close(c);
    }
  }
}

// One connection to `sp`; true when it completed.
bool ConnectOnce(const ServicePort& sp) {
  ScopedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return false;
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &kIoTimeout,
             sizeof(kIoTimeout));
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &kIoTimeout,
             sizeof(kIoTimeout));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(sp.port);
  addr.sin_addr.s_addr = htonl(sp.cluster_ip);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    return false;
  }
  char byte = 0;
  return read(fd.get(), &byte, 1) == 1;
}

}  // namespace

absl::StatusOr<CrrSample> RunConnectLoop(
    const Topology& topology, const std::vector<ServicePort>& services,
    const CrrConfig& config) {
  if (services.empty() || config.clients < 1) {
    return absl::InvalidArgumentError("need services and clients");
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> servers;
  std::vector<std::promise<absl::Status>> ready(topology.backend_count());
  std::vector<std::future<absl::Status>> ready_futures;
  for (auto& p : ready) ready_futures.push_back(p.get_future());
  for (int b = 0; b < topology.backend_count(); ++b) {
    servers.emplace_back([&, b] {
      if (absl::Status s = topology.backend(b).EnterThisThread(); !s.ok()) {
        ready[b].set_value(s);
        return;
      }
      absl::StatusOr<ScopedFd> fd = Listen();
      if (!fd.ok()) {
        ready[b].set_value(fd.status());
        return;
      }
      ready[b].set_value(absl::OkStatus());
      Serve(fd->get(), stop);
    });
  }
  auto stop_servers = [&] {
    stop.store(true);
    for (std::thread& t : servers) t.join();
  };
  for (auto& f : ready_futures) {
    if (absl::Status s = f.get(); !s.ok()) {
      stop_servers();
      return s;
    }
  }

  std::atomic<uint64_t> completed{0}, failed{0}, started{0};
  std::atomic<int> entered_failures{0};
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(config.seconds));
  std::vector<std::thread> clients;
  for (int c = 0; c < config.clients; ++c) {
    clients.emplace_back([&, c] {
      if (!topology.client().EnterThisThread().ok()) {
        entered_failures.fetch_add(1);
        return;
      }
      // Services visited in a stride, so consecutive connections spread
      // over the whole rule list / map instead of one hot entry.
      size_t next = static_cast<size_t>(c) * 7919;
      while (Clock::now() < deadline &&
             started.fetch_add(1) < config.max_connections) {
        const ServicePort& sp = services[next % services.size()];
        next += 7919;
        (ConnectOnce(sp) ? completed : failed).fetch_add(1);
      }
    });
  }
  for (std::thread& t : clients) t.join();
  CrrSample sample;
  sample.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  stop_servers();
  if (entered_failures.load() > 0) {
    return absl::InternalError("a client could not enter its namespace");
  }
  sample.completed = completed.load();
  sample.failed = failed.load();
  return sample;
}

}  // namespace switchyard::bench::live
