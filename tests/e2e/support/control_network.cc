// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/support/control_network.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"

namespace switchyard::e2e {
namespace {

constexpr char kBridge[] = "ymgmt";

// unshare() moves only the calling thread; on the main thread (the thread
// group leader) it is also what /proc/<pid>/ns/net, and so `ip ... netns
// <pid>`, names.
absl::Status EnterOwnNamespace() {
  if (syscall(SYS_gettid) != getpid()) {
    return absl::FailedPreconditionError(
        "ControlNetwork::Create must run on the test's main thread");
  }
  if (unshare(CLONE_NEWNET) != 0) {
    return ErrnoStatus(errno, "unshare(CLONE_NEWNET)");
  }
  return netns::RunCommandOk({"ip", "link", "set", "lo", "up"});
}

// Once per process: every later test of the process finds itself there.
absl::Status EnterOwnNamespaceOnce() {
  static std::once_flag once;
  static absl::Status* entered = nullptr;
  std::call_once(once, [] { entered = new absl::Status(EnterOwnNamespace()); });
  return *entered;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ControlNetwork>> ControlNetwork::Create() {
  if (absl::Status s = EnterOwnNamespaceOnce(); !s.ok()) return s;
  // A test of this process that died halfway may have left it.
  (void)netns::RunCommand({"ip", "link", "del", kBridge},
                          netns::kCommandTimeout);
  std::unique_ptr<ControlNetwork> network(new ControlNetwork());
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{"ip", "link", "add", kBridge, "type",
                                 "bridge"},
        {"ip", "addr", "add", absl::StrCat(kTestControlIp, "/24"), "dev",
         kBridge},
        {"ip", "link", "set", kBridge, "up"}}) {
    if (absl::Status s = netns::RunCommandOk(argv); !s.ok()) return s;
  }
  return network;
}

ControlNetwork::~ControlNetwork() {
  // Deleting one end of a veth deletes the pair; a node namespace already
  // gone took its pair with it.
  for (const std::string& port : ports_) {
    (void)netns::RunCommand({"ip", "link", "del", port},
                            netns::kCommandTimeout);
  }
  (void)netns::RunCommand({"ip", "link", "del", kBridge},
                          netns::kCommandTimeout);
}

absl::StatusOr<std::string> ControlNetwork::Join(const netns::Namespace& node) {
  const int host = next_host_++;
  const std::string port = absl::StrCat("ymg", host);
  const std::string address = absl::StrCat("172.31.254.", host);
  // Made in the node's namespace with the peer put straight into this
  // process's: no device ever appears in the host's.
  if (absl::Status s = netns::RunCommandOk(
          {"ip", "-n", node.name(), "link", "add", "mgmt0", "type", "veth",
           "peer", "name", port, "netns", absl::StrCat(getpid())});
      !s.ok()) {
    return s;
  }
  ports_.push_back(port);
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{"ip", "link", "set", port, "master", kBridge,
                                 "up"},
        {"ip", "-n", node.name(), "addr", "add", absl::StrCat(address, "/24"),
         "dev", "mgmt0"},
        {"ip", "-n", node.name(), "link", "set", "mgmt0", "up"}}) {
    if (absl::Status s = netns::RunCommandOk(argv); !s.ok()) return s;
  }
  return address;
}

}  // namespace switchyard::e2e
