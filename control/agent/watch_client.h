// SPDX-License-Identifier: Apache-2.0
// The agent's end of the controller's watch stream: connects, says which
// version it has, hands every update to a handler and acknowledges (or
// rejects) it, and reconnects with backoff for as long as it runs. While
// the controller is away the dataplane simply stays as it is.
#ifndef SWITCHYARD_CONTROL_AGENT_WATCH_CLIENT_H_
#define SWITCHYARD_CONTROL_AGENT_WATCH_CLIENT_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "control/metrics/registry.h"
#include "switchyard/v1/controller.pb.h"

namespace grpc {
class ClientContext;
}

namespace switchyard::agent {

struct WatchClientConfig {
  std::string controller;  // "unix:///path" or "host:port"
  std::string node_name;
  absl::Duration backoff_initial = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(5);
};

// Where the stream reports itself; either may be null.
struct WatchClientMetrics {
  metrics::Counter* connects = nullptr;  // every stream opened
  metrics::Gauge* connected = nullptr;   // 1 once the controller answered
};

class WatchClient {
 public:
  // Applies one update; its status becomes the ack (or the rejection).
  using Handler = std::function<absl::Status(const v1::WatchResponse&)>;
  // The version to resume from on (re)connect; 0 asks for a snapshot.
  using ResumeFrom = std::function<uint64_t()>;

  WatchClient(WatchClientConfig config, Handler handler, ResumeFrom resume,
              WatchClientMetrics metrics = {});

  // Runs until Stop(); call from one thread.
  void Run();
  void Stop();

  int connects() const { return connects_.load(); }

 private:
  // One connection: returns when the stream ends.
  void Session();

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
