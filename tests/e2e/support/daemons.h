// SPDX-License-Identifier: Apache-2.0
// Talking to the project's daemons from an e2e test, over mutual TLS as a
// cluster would: the test's certificates (a CA, the controller's, the
// test's own as a writer, one per node), the daemons' argv, waiting for
// the controller's port before dialing it, gRPC statuses as absl::Status,
// and the controller's view of which agents are connected. The network
// the TLS port is on is control_network.h's.
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
#include "control/tls/tls_files.h"
#include "switchyard/v1/controller.grpc.pb.h"
#include "tests/netns/process.h"
#include "tests/pki/test_pki.h"

namespace switchyard::e2e {

// How long the controller and agent get to start, a write to reach the
// maps, and one RPC: an order of magnitude above what they take on two
// loaded cores, far below the ctest timeout.
inline constexpr absl::Duration kStartTimeout = absl::Seconds(10);
inline constexpr absl::Duration kProgramTimeout = absl::Seconds(5);
inline constexpr absl::Duration kRpcTimeout = absl::Seconds(5);

// The test's control-plane certificates: CA "ca"; "controller", a server
// certificate for every address in `controller_ips`; "writer"
// (CN=yard-writer:e2e), the test's own; and "node-<name>"
// (CN=yard-node:<name>) for each of `nodes`.
absl::StatusOr<std::unique_ptr<pki::TestPki>> MakeControlPki(
    const std::vector<std::string>& controller_ips,
    const std::vector<std::string>& nodes);
tls::TlsFiles ControllerTls(const pki::TestPki& pki);
tls::TlsFiles WriterTls(const pki::TestPki& pki);
tls::TlsFiles NodeTls(const pki::TestPki& pki, const std::string& node);

// argv of yard-controller serving mutual TLS on `listen` (host:port) with
// `tls` (ControllerTls), no unix socket, its store in `state_dir`. Append
// flags to it as needed.
std::vector<std::string> ControllerArgv(const std::string& listen,
                                        const tls::TlsFiles& tls,
                                        const std::string& state_dir);

// argv of yard-controller serving only its owner-only unix `socket` (no
// TCP listener), its store in `state_dir`: for tests of the store and
// yardctl that need no network (the socket is the local admin's door).
std::vector<std::string> UnixControllerArgv(const std::string& socket,
                                            const std::string& state_dir);

// Waits until the controller's unix `socket` exists, polling every `poll`
// until `deadline`; fails at once if `controller` exits first.
absl::Status WaitForControllerSocket(const std::string& socket,
                                     netns::ChildProcess& controller,
                                     absl::Time deadline, absl::Duration poll);

// What a test's yard-agent is told: small maps, enough for the tests,
// keep start-up quick on small machines.
struct AgentFlags {
  std::string node_name;
  // --controller: host:port, or several, comma-separated (failover).
  std::string controller;
  tls::TlsFiles tls;           // NodeTls(node_name)
  std::string bpffs_root;      // the test's own, so runs never share pins
  std::string pod_interfaces;  // glob of the node side of pod veths
  int max_frontends = 64;
};
std::vector<std::string> AgentArgv(const AgentFlags& flags);

// The gRPC code kept, the message prefixed with `what`.
absl::Status FromGrpc(const grpc::Status& status, absl::string_view what);

// Waits until `address` (host:port, reached from the calling thread's
// namespace) accepts a TCP connection, polling every `poll` until
// `deadline`; fails at once if `controller` exits first. Dial only then: a
// gRPC channel that found nothing backs off for a second or more before
// trying again.
absl::Status WaitForControllerPort(const std::string& address,
                                   netns::ChildProcess& controller,
                                   absl::Time deadline, absl::Duration poll);

// A channel to the controller at `address` (host:port) presenting `tls`
// (WriterTls, for the test's own calls).
std::shared_ptr<grpc::Channel> ControllerChannel(const std::string& address,
                                                 const tls::TlsFiles& tls);

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
