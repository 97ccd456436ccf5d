// SPDX-License-Identifier: Apache-2.0
// Talking to the project's daemons from an e2e test: gRPC statuses as
// absl::Status, waiting for yard-controller's unix socket before dialing
// it, and the controller's view of which agents are connected.
#ifndef SWITCHYARD_TESTS_E2E_SUPPORT_DAEMONS_H_
#define SWITCHYARD_TESTS_E2E_SUPPORT_DAEMONS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "switchyard/v1/controller.grpc.pb.h"
#include "tests/netns/process.h"

namespace switchyard::e2e {

// How long the controller and agent get to start, a write to reach the
// maps, and one RPC: an order of magnitude above what they take on two
// loaded cores, far below the ctest timeout.
inline constexpr absl::Duration kStartTimeout = absl::Seconds(10);
inline constexpr absl::Duration kProgramTimeout = absl::Seconds(5);
inline constexpr absl::Duration kRpcTimeout = absl::Seconds(5);

// argv of yard-controller serving only its unix `socket` (no TCP
// listener), with its store in `state_dir`. Append flags to it as needed.
std::vector<std::string> ControllerArgv(const std::string& socket,
                                        const std::string& state_dir);

// What a test's yard-agent is told: small maps, enough for the tests,
// keep start-up quick on small machines.
struct AgentFlags {
  std::string node_name;
  std::string socket;          // the controller's unix socket
  std::string bpffs_root;      // the test's own, so runs never share pins
  std::string pod_interfaces;  // glob of the node side of pod veths
  int max_frontends = 64;
};
std::vector<std::string> AgentArgv(const AgentFlags& flags);

// The gRPC code kept, the message prefixed with `what`.
absl::Status FromGrpc(const grpc::Status& status, absl::string_view what);

// Waits until `socket` exists and is a socket, polling every `poll` until
// `deadline`; fails at once if `controller` exits first. Dial only then: a
// gRPC channel that found nothing backs off for a second or more before
// trying again.
absl::Status WaitForControllerSocket(const std::string& socket,
                                     netns::ChildProcess& controller,
                                     absl::Time deadline, absl::Duration poll);

// A channel to the controller's unix socket.
std::shared_ptr<grpc::Channel> ControllerChannel(const std::string& socket);

// One ListNodeSync that waits for the channel to be ready (up to
// `deadline`): proves the controller answers, not just that it bound.
absl::Status FirstCall(v1::ClusterState::Stub& stub, absl::Time deadline);

// ListNodeSync bounded by `timeout`.
absl::StatusOr<v1::ListNodeSyncResponse> ListNodeSync(
    v1::ClusterState::Stub& stub, absl::Duration timeout);

// Waits until the controller lists `node_name` as connected (the agent's
// watch stream is up), polling every `poll` until `deadline`; fails at
// once if `agent` exits first.
absl::Status WaitAgentConnected(v1::ClusterState::Stub& stub,
                                netns::ChildProcess& agent,
                                absl::string_view node_name,
                                absl::Time deadline, absl::Duration poll,
                                absl::Duration rpc_timeout);

// `node_name`'s row in the controller's table, by one ListNodeSync bounded
// by `timeout`; NotFound until that node's agent has connected.
absl::StatusOr<v1::NodeSync> FindNodeSync(v1::ClusterState::Stub& stub,
                                          absl::string_view node_name,
                                          absl::Duration timeout);

}  // namespace switchyard::e2e

#endif  // SWITCHYARD_TESTS_E2E_SUPPORT_DAEMONS_H_
