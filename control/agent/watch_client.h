// SPDX-License-Identifier: Apache-2.0
// The agent's end of the controller's watch stream: connects, says which
// version it has (and from which controller state), hands every update to
// a handler and acknowledges (or rejects) it, and reconnects for as long
// as it runs. While no controller answers the dataplane simply stays as
// it is.
//
// Failover. Given several controllers, it watches one; when that stream
// ends or cannot be opened it moves straight on to the next in the list,
// round robin. The backoff is waited only once every address has been
// tried since the last pause or good stream, so a dead controller never
// delays reaching a live one, and a cluster with none is not hammered.
// The new controller sends a delta only if the agent's version is from
// its own history (same state id), else a snapshot; either way the
// reconciler writes only differences, so failover never flushes maps.
#ifndef SWITCHYARD_CONTROL_AGENT_WATCH_CLIENT_H_
#define SWITCHYARD_CONTROL_AGENT_WATCH_CLIENT_H_

#include <grpcpp/support/status.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "control/metrics/registry.h"
#include "control/sync/resume_point.h"
#include "control/tls/tls_files.h"
#include "switchyard/v1/controller.pb.h"

namespace grpc {
class ClientContext;
}

namespace switchyard::agent {

struct WatchClientConfig {
  // Each "unix:///path" or "host:port"; at least one.
  std::vector<std::string> controllers;
  std::string node_name;
  // Set: TCP controllers are reached with mutual TLS, this agent's
  // certificate naming it (CN=yard-node:<node_name>); unix sockets stay
  // plain. Unset: TCP is plaintext (a controller's --insecure_listen).
  tls::TlsFiles tls;
  absl::Duration backoff_initial = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(5);
};

// Where the stream reports itself; either may be null.
struct WatchClientMetrics {
  metrics::Counter* connects = nullptr;  // every stream opened
  // Label `address` (as configured): 1 for the controller whose stream is
  // up (it has answered), 0 for the others. Every address is shown from
  // the start.
  metrics::Family<metrics::Gauge>* connected = nullptr;
};

// What applying one update gave. The status becomes the ack (or the
// rejection); `after_ack` runs once the controller has been told, for
// work the ack need not wait for: the controller times an endpoint change
// to the ack, and a log line or returning memory to the system is no part
// of programming it.
struct Applied {
  Applied(absl::Status s) : status(std::move(s)) {}  // NOLINT: implicit
  Applied(absl::Status s, std::function<void()> then)
      : status(std::move(s)), after_ack(std::move(then)) {}
  absl::Status status;
  std::function<void()> after_ack;
};

class WatchClient {
 public:
  // Applies one update (a handler may also return a plain absl::Status).
  using Handler = std::function<Applied(const v1::WatchResponse&)>;
  // Where to resume from on (re)connect; version 0 asks for a snapshot.
  using ResumeFrom = std::function<sync::ResumePoint()>;

  WatchClient(WatchClientConfig config, Handler handler, ResumeFrom resume,
              WatchClientMetrics metrics = {});

  // Runs until Stop(); call from one thread.
  void Run();
  void Stop();

  int connects() const { return connects_.load(); }

 private:
  // One connection to `address`: returns how the stream ended.
  grpc::Status Session(const std::string& address);
  // Says why the stream to `from` ended and where the client goes next,
  // after `pause` (zero: at once).
  void LogEnd(const std::string& from, const grpc::Status& status,
              const std::string& next, absl::Duration pause) const;
  void SetConnected(const std::string& address, bool up);

  WatchClientConfig config_;
  Handler handler_;
  ResumeFrom resume_;
  WatchClientMetrics metrics_;
  absl::Notification stop_;
  absl::Mutex mu_;
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::atomic<int> connects_{0};
  bool got_message_ = false;
};

}  // namespace switchyard::agent

#endif  // SWITCHYARD_CONTROL_AGENT_WATCH_CLIENT_H_
