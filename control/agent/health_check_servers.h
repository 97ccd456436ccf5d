// SPDX-License-Identifier: Apache-2.0
// The health-check node ports of externalTrafficPolicy: Local services, as
// kube-proxy serves them: a cloud load balancer probes
// http://<node>:<healthCheckNodePort>/ and sends traffic only to nodes that
// answer 200, that is, nodes with at least one ready local endpoint.
//
// Any request on such a port (any path; HEAD without the body) answers
//   Content-Type: application/json
//   X-Content-Type-Options: nosniff
//   X-Load-Balancing-Endpoint-Weight: N
//   {"service":{"namespace":"default","name":"web"},"localEndpoints":N,
//    "serviceProxyHealthy":true}
// with 200 when N > 0 and 503 when N == 0. kube-proxy pretty-prints the
// same JSON; load balancers read the status and the weight header only.
//
// One thread serves every port and every connection (poll, non-blocking
// sockets, a deadline per connection, a bounded number of connections), so
// a probe storm or a client that never sends its request cannot hold up
// the other ports, nor the agent.
#ifndef SWITCHYARD_CONTROL_AGENT_HEALTH_CHECK_SERVERS_H_
#define SWITCHYARD_CONTROL_AGENT_HEALTH_CHECK_SERVERS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "control/common/scoped_fd.h"

namespace switchyard::agent {

struct HealthCheckService {
  std::string namespace_name;    // "default"
  std::string name;              // "web"
  uint16_t port = 0;             // spec.healthCheckNodePort; 0: none
  uint32_t local_endpoints = 0;  // ready endpoints on this node
  bool operator==(const HealthCheckService&) const = default;
};

class HealthCheckServers {
 public:
  // addresses: IPv4 addresses (network byte order) to listen on, e.g. the
  // node's NodePort addresses; 0 (INADDR_ANY) listens on all of them.
  explicit HealthCheckServers(std::vector<uint32_t> addresses_be);
  ~HealthCheckServers();  // stops every listener
  HealthCheckServers(const HealthCheckServers&) = delete;
  HealthCheckServers& operator=(const HealthCheckServers&) = delete;

  // Makes the listeners match `services` (keyed by port): opens new ports,
  // closes gone ones, updates counts (and names) in place without
  // reopening. A port that cannot be bound on every address is reported in
  // the returned status, naming the port and the service, and is not
  // served (the others still are); the next Update tries it again, as
  // kube-proxy does. Services with port 0 are skipped. When it returns,
  // closed ports refuse connections and new counts are what is answered.
  // Safe to call from any thread while requests are served.
  absl::Status Update(const std::vector<HealthCheckService>& services);

 private:
  struct Port {
    HealthCheckService service;
    std::vector<ScopedFd> listeners;  // one per address
  };
  struct Connection;

  // Serves every port until the destructor stops it.
  void Loop();
  // The listeners to poll (none while kMaxConnections are open), after
  // dropping connections of removed ports; false when stopping.
  bool Listeners(std::vector<std::unique_ptr<Connection>>& connections,
                 std::vector<std::pair<int, uint16_t>>& listeners);
  // One step of a connection that poll() returned (or timed out on):
  // read, answer, write, linger. True when it is done and can be closed.
  bool Serve(Connection& c, short revents, absl::Time now);
  // Takes every pending connection of a listener, up to kMaxConnections.
  void Accept(int listener, uint16_t port, absl::Time now,
              std::vector<std::unique_ptr<Connection>>& connections);
  // Writes the eventfd so the serving thread leaves poll().
  void Wake();
  // The response to a complete request head on `port`; "" closes without
  // an answer (the port was removed meanwhile).
  std::string Answer(uint16_t port, const std::string& head);

  const std::vector<uint32_t> addresses_be_;
  ScopedFd wake_;  // eventfd; invalid if it could not be made
  absl::Mutex mu_;
  std::map<uint16_t, Port> ports_ ABSL_GUARDED_BY(mu_);
  // Listeners of removed ports. Only the serving thread closes them, between
  // two polls, so it never polls or accepts on a number the kernel has
  // already given to another file.
  std::vector<ScopedFd> to_close_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;       // bumped by Update
  uint64_t seen_generation_ ABSL_GUARDED_BY(mu_) = 0;  // reached by Loop
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace switchyard::agent

#endif  // SWITCHYARD_CONTROL_AGENT_HEALTH_CHECK_SERVERS_H_
