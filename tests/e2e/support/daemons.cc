// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/support/daemons.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "control/common/scoped_fd.h"

#ifndef YARD_CONTROLLER_PATH
#error "YARD_CONTROLLER_PATH must name the yard-controller binary"
#endif
#ifndef YARD_AGENT_PATH
#error "YARD_AGENT_PATH must name the yard-agent binary"
#endif

namespace switchyard::e2e {

absl::StatusOr<std::unique_ptr<pki::TestPki>> MakeControlPki(
    const std::vector<std::string>& controller_ips,
    const std::vector<std::string>& nodes) {
  std::vector<pki::CertSpec> certs = {
      pki::ServerCert("controller", "yard-controller", controller_ips),
      pki::ClientCert("writer", "yard-writer:e2e")};
  for (const std::string& node : nodes) {
    certs.push_back(pki::ClientCert(absl::StrCat("node-", node),
                                    absl::StrCat("yard-node:", node)));
  }
  return pki::TestPki::Make({"ca"}, certs);
}

tls::TlsFiles ControllerTls(const pki::TestPki& pki) {
  return pki.Files("controller");
}

tls::TlsFiles WriterTls(const pki::TestPki& pki) { return pki.Files("writer"); }

tls::TlsFiles NodeTls(const pki::TestPki& pki, const std::string& node) {
  return pki.Files(absl::StrCat("node-", node));
}

std::vector<std::string> ControllerArgv(const std::string& listen,
                                        const tls::TlsFiles& tls,
                                        const std::string& state_dir) {
  return {YARD_CONTROLLER_PATH,
          absl::StrCat("--listen=", listen),
          absl::StrCat("--tls_cert=", tls.cert),
          absl::StrCat("--tls_key=", tls.key),
          absl::StrCat("--tls_client_ca=", tls.ca),
          "--socket=",
          absl::StrCat("--state_dir=", state_dir)};
}

std::vector<std::string> AgentArgv(const AgentFlags& flags) {
  return {YARD_AGENT_PATH,
          absl::StrCat("--node_name=", flags.node_name),
          absl::StrCat("--controller=", flags.controller),
          absl::StrCat("--tls_cert=", flags.tls.cert),
          absl::StrCat("--tls_key=", flags.tls.key),
          absl::StrCat("--tls_ca=", flags.tls.ca),
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

namespace {

// One TCP connect to `address`, given up after `timeout`: true when it
// was accepted.
bool Accepts(const sockaddr_in& address, absl::Duration timeout) {
  ScopedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address),
              sizeof(address)) == 0) {
    return true;
  }
  if (errno != EINPROGRESS) return false;
  pollfd p = {.fd = fd.get(), .events = POLLOUT, .revents = 0};
  if (poll(&p, 1, absl::ToInt64Milliseconds(timeout)) != 1) return false;
  int error = 0;
  socklen_t size = sizeof(error);
  return getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &size) == 0 &&
         error == 0;
}

}  // namespace

std::vector<std::string> UnixControllerArgv(const std::string& socket,
                                            const std::string& state_dir) {
  return {YARD_CONTROLLER_PATH, absl::StrCat("--socket=", socket),
          absl::StrCat("--state_dir=", state_dir)};
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

absl::Status WaitForControllerPort(const std::string& address,
                                   netns::ChildProcess& controller,
                                   absl::Time deadline, absl::Duration poll) {
  std::pair<std::string, std::string> host_port =
      absl::StrSplit(address, absl::MaxSplits(':', 1));
  sockaddr_in target = {};
  target.sin_family = AF_INET;
  int port = 0;
  if (inet_pton(AF_INET, host_port.first.c_str(), &target.sin_addr) != 1 ||
      !absl::SimpleAtoi(host_port.second, &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address, "\" is not IPv4:port"));
  }
  target.sin_port = htons(port);
  while (!Accepts(target, absl::Milliseconds(100))) {
    if (!controller.Running()) {
      return absl::InternalError(absl::StrCat(
          "yard-controller ",
          netns::DescribeWaitStatus(*controller.wait_status()), " at start"));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("the controller never listened on ", address));
    }
    absl::SleepFor(poll);
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> ControllerChannel(const std::string& address,
                                                 const tls::TlsFiles& tls) {
  return grpc::CreateChannel(address, tls::ChannelCredentials(tls));
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
