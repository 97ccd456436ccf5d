// SPDX-License-Identifier: Apache-2.0
// A small HTTP/1.1 server for /metrics, /healthz and /readyz, so the
// daemons need no web framework. Connections are served at once by a fixed
// pool of threads, one request each, closed after the response (no
// keep-alive: a scrape every few seconds needs none, and an idle kept-alive
// connection would hold a thread).
//
// A slow or hostile client cannot wedge it: a request head is bounded in
// size, reading it and writing the answer each have a deadline for the
// whole request (not per read, so trickling a byte at a time does not
// extend it), and Stop() interrupts any wait at once. While fewer than
// `workers` such clients are connected, /healthz is answered at once; past
// that, the next client waits for a free thread, at most io_timeout.
// Accepted connections waiting for a thread are bounded too; beyond
// `max_waiting` a connection is answered 503 and closed.
//
// Paths are exact ("/metrics?x" is "/metrics"); GET and HEAD are served,
// other methods get 405, unknown paths 404, malformed requests 400.
// Handlers may run on several threads at once.
//
// Why not cpp-httplib (Debian's 0.11.4): its read timeout restarts with
// every read, so a client sending a byte every few seconds holds a pool
// thread indefinitely, and a few such clients starve /healthz, the very
// failure this server must not have; its stop waits out each connection's
// timeouts.
//
// Binding: the address is numeric ("127.0.0.1:9750", "[::1]:9750"). If it
// is taken when the server starts (another daemon, a restart racing the old
// process), the server logs it and keeps trying in the background: a
// dataplane must not stop forwarding over its metrics port.
#ifndef SWITCHYARD_CONTROL_METRICS_HTTP_SERVER_H_
#define SWITCHYARD_CONTROL_METRICS_HTTP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "control/common/scoped_fd.h"
#include "control/metrics/http_request.h"

namespace switchyard::metrics {

class Registry;

struct HttpServerConfig {
  std::string listen;  // "host:port", numeric host; port 0 picks one
  // For reading a whole request head, and again for writing the response.
  absl::Duration io_timeout = absl::Seconds(5);
  size_t max_request_bytes = 8192;
  absl::Duration rebind_interval = absl::Seconds(5);
  // Threads serving connections, so connections served at once.
  int workers = 8;
  // Accepted connections waiting for a thread; more are answered 503.
  size_t max_waiting = 64;
};

class HttpServer {
 public:
  // Answers a GET (or HEAD) of one path.
  using Handler = std::function<HttpResponse()>;

  // Parses the address (InvalidArgument if it is not host:port), tries to
  // bind, and starts serving.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      HttpServerConfig config, std::map<std::string, Handler> routes);
  // Stops and joins the threads; connections not yet answered are closed.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port, 0 while not bound (yet).
  int port() const { return port_.load(); }

 private:
  HttpServer(HttpServerConfig config, std::map<std::string, Handler> routes,
             ScopedFd wake);

  // Binds and listens; logs and returns false on failure.
  bool Bind(bool first_attempt);
  // Accepts connections and queues them for the workers.
  void Loop();
  // Hands `client` to a worker, or answers 503 when too many wait.
  void Enqueue(ScopedFd client);
  // A worker: serves queued connections until the server stops.
  void Work();
  void Serve(int fd);
  HttpResponse Answer(absl::string_view head, bool& head_only);
  // Waits for `events` on fd, or the wake-up; false on timeout or stop.
  bool WaitFor(int fd, short events, absl::Time deadline);
  void Send(int fd, const std::string& data, absl::Time deadline);

  const HttpServerConfig config_;
  const std::map<std::string, Handler> routes_;
  ScopedFd wake_;  // eventfd written by the destructor
  ScopedFd listen_fd_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> port_{0};
  absl::Mutex mu_;
  absl::CondVar queued_;  // signalled on each connection queued, and on stop
  std::deque<ScopedFd> waiting_ ABSL_GUARDED_BY(mu_);
  bool stop_workers_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // Loop
  std::vector<std::thread> workers_;
};

// /metrics (the registry, rendered per request), /healthz ("ok": the
// process answers) and /readyz: 200 while
// `ready` returns OK (always, when unset), else 503 with its message, for
// orchestrators that should not count a daemon still starting up.
absl::StatusOr<std::unique_ptr<HttpServer>> StartMetricsServer(
    HttpServerConfig config, const Registry* registry,
    std::function<absl::Status()> ready = nullptr);

}  // namespace switchyard::metrics

#endif  // SWITCHYARD_CONTROL_METRICS_HTTP_SERVER_H_
