// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/support/daemons.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

#ifndef YARD_CONTROLLER_PATH
#error "YARD_CONTROLLER_PATH must name the yard-controller binary"
#endif
#ifndef YARD_AGENT_PATH
#error "YARD_AGENT_PATH must name the yard-agent binary"
#endif

namespace switchyard::e2e {

std::vector<std::string> ControllerArgv(const std::string& socket,
                                        const std::string& state_dir) {
  return {YARD_CONTROLLER_PATH, "--listen=", absl::StrCat("--socket=", socket),
          absl::StrCat("--state_dir=", state_dir)};
}

std::vector<std::string> AgentArgv(const AgentFlags& flags) {
  return {YARD_AGENT_PATH,
          absl::StrCat("--node_name=", flags.node_name),
          absl::StrCat("--controller=unix://", flags.socket),
          absl::StrCat("--bpffs_root=", flags.bpffs_root),
          absl::StrCat("--pod_interfaces=", flags.pod_interfaces),
          absl::StrCat("--max_frontends=", flags.max_frontends),
          "--max_slots=256",
          "--max_backends=64",
          "--max_flows=1024"};
}

absl::Status FromGrpc(const grpc::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

absl::Status WaitForControllerSocket(const std::string& socket,
                                     netns::ChildProcess& controller,
                                     absl::Time deadline, absl::Duration poll) {
  struct stat st = {};
  while (stat(socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    if (!controller.Running()) {
      return absl::InternalError(absl::StrCat(
          "yard-controller ",
          netns::DescribeWaitStatus(*controller.wait_status()), " at start"));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError("no controller socket");
    }
    absl::SleepFor(poll);
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> ControllerChannel(const std::string& socket) {
  return grpc::CreateChannel(absl::StrCat("unix:", socket),
                             grpc::InsecureChannelCredentials());
}

absl::Status FirstCall(v1::ClusterState::Stub& stub, absl::Time deadline) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  context.set_wait_for_ready(true);
  v1::ListNodeSyncResponse response;
  return FromGrpc(
      stub.ListNodeSync(&context, v1::ListNodeSyncRequest(), &response),
      "first call to the controller");
}

absl::StatusOr<v1::ListNodeSyncResponse> ListNodeSync(
    v1::ClusterState::Stub& stub, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::ListNodeSyncResponse response;
  if (absl::Status s = FromGrpc(
          stub.ListNodeSync(&context, v1::ListNodeSyncRequest(), &response),
          "ListNodeSync");
      !s.ok()) {
    return s;
  }
  return response;
}

absl::Status WaitAgentConnected(v1::ClusterState::Stub& stub,
                                netns::ChildProcess& agent,
                                absl::string_view node_name,
                                absl::Time deadline, absl::Duration poll,
                                absl::Duration rpc_timeout) {
  for (;;) {
    if (!agent.Running()) {
      return absl::InternalError(absl::StrCat(
          "yard-agent ", node_name, " ",
          netns::DescribeWaitStatus(*agent.wait_status()), " at start"));
    }
    absl::StatusOr<v1::NodeSync> node =
        FindNodeSync(stub, node_name, rpc_timeout);
    if (node.ok() && node->connected()) return absl::OkStatus();
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("the agent of ", node_name, " never connected"));
    }
    absl::SleepFor(poll);
  }
}

absl::StatusOr<v1::NodeSync> FindNodeSync(v1::ClusterState::Stub& stub,
                                          absl::string_view node_name,
                                          absl::Duration timeout) {
  absl::StatusOr<v1::ListNodeSyncResponse> list = ListNodeSync(stub, timeout);
  if (!list.ok()) return list.status();
  for (const v1::NodeSync& node : list->nodes()) {
    if (node.node_name() == node_name) return node;
  }
  return absl::NotFoundError(absl::StrCat(node_name, " has not connected"));
}

}  // namespace switchyard::e2e
