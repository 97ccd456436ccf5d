// SPDX-License-Identifier: Apache-2.0
// A tiny HTTP/1.1 server for /metrics, /healthz and /readyz, so the daemons
// need no web framework. One thread serves one connection at a time and closes
// it after the response: a scrape every few seconds needs nothing more.
//
// A slow or hostile client cannot wedge it: a request head is bounded in
// size, reading it and writing the answer each have a deadline, and Stop()
// interrupts any wait at once. Paths are exact ("/metrics?x" is
// "/metrics"); GET and HEAD are served, other methods get 405, unknown
// paths 404, malformed requests 400.
//
// Binding: the address is numeric ("127.0.0.1:9750", "[::1]:9750"). If it
// is taken when the server starts (another daemon, a restart racing the old
// process), the server logs it and keeps trying in the background: a
// dataplane must not stop forwarding over its metrics port.
#ifndef SWITCHYARD_CONTROL_METRICS_HTTP_SERVER_H_
#define SWITCHYARD_CONTROL_METRICS_HTTP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
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
};

class HttpServer {
 public:
  // Answers a GET (or HEAD) of one path.
  using Handler = std::function<HttpResponse()>;

  // Parses the address (InvalidArgument if it is not host:port), tries to
  // bind, and starts serving.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      HttpServerConfig config, std::map<std::string, Handler> routes);
  // Stops and joins the thread.
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
  void Loop();
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
  std::thread thread_;
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
