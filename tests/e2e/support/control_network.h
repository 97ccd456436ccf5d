// SPDX-License-Identifier: Apache-2.0
// The management network of an e2e test's control plane. The controller
// serves mutual TLS on TCP, which the test itself (a writer) and every
// node's agent must reach, with nothing on the host's interfaces. So the
// test process moves into a network namespace of its own, where a bridge
// holds 172.31.254.1/24, and each node namespace joins the bridge with a
// veth, mgmt0 on its side:
//
//   the test's namespace: ymgmt 172.31.254.1/24 ─┬─ ymg10 ══ mgmt0 node
//     (the test's gRPC clients;                  │   172.31.254.10/24
//      daemons started without a namespace)      └─ ymg11 ══ mgmt0 node-b
//                                                    172.31.254.11/24
//
// A controller listens in the test's namespace (172.31.254.1) or in a
// node's (its mgmt0 address); both are reached from everywhere on the
// bridge. mgmt0 matches no test's --pod_interfaces, so no program is
// attached to it. The namespace goes when the process does; the bridge
// and the veths go with the ControlNetwork.
#ifndef SWITCHYARD_TESTS_E2E_SUPPORT_CONTROL_NETWORK_H_
#define SWITCHYARD_TESTS_E2E_SUPPORT_CONTROL_NETWORK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/netns/netns.h"

namespace switchyard::e2e {

// The test's own address on the bridge.
inline constexpr char kTestControlIp[] = "172.31.254.1";
// The port every test's controller serves mutual TLS on (a second
// controller in the same namespace takes the next).
inline constexpr int kControllerPort = 7800;

class ControlNetwork {
 public:
  // Moves the test process into a network namespace of its own (once per
  // process), then makes the bridge. Call it on the test's main thread
  // before the test uses gRPC: threads started earlier (gRPC's among
  // them) stay where they were.
  static absl::StatusOr<std::unique_ptr<ControlNetwork>> Create();
  // Removes the bridge and every veth joined to it.
  ~ControlNetwork();
  ControlNetwork(const ControlNetwork&) = delete;
  ControlNetwork& operator=(const ControlNetwork&) = delete;

  // Joins `node` to the bridge: mgmt0 in it with the next address
  // (172.31.254.10, .11, ...), which is returned.
  absl::StatusOr<std::string> Join(const netns::Namespace& node);

 private:
  ControlNetwork() = default;

  std::vector<std::string> ports_;  // the test's ends of the veths
  int next_host_ = 10;
};

}  // namespace switchyard::e2e

#endif  // SWITCHYARD_TESTS_E2E_SUPPORT_CONTROL_NETWORK_H_
