// SPDX-License-Identifier: Apache-2.0
// Long-running child processes for tests: the project's own daemons
// (yard-controller, yard-agent) started, killed and restarted by a test.
//
// A ChildProcess is killed (SIGKILL, its whole process group) and reaped
// when destroyed, so a failing test leaves nothing running. If the test
// process itself dies, even by SIGKILL, the kernel kills the child too
// (PR_SET_PDEATHSIG). That signal follows the *thread* that started the
// child, not the process: start children from a thread that outlives them
// (a test's main thread), never from a short-lived helper thread such as
// Namespace::Run's.
//
// A child may start inside a network namespace. It enters it with setns()
// between fork and exec, which changes nothing else: unlike
// `ip netns exec`, /sys is not remounted, so bpffs at /sys/fs/bpf stays
// visible, as yard-agent needs.
#ifndef SWITCHYARD_TESTS_NETNS_PROCESS_H_
#define SWITCHYARD_TESTS_NETNS_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace switchyard::netns {

struct ChildOptions {
  std::vector<std::string> argv;  // argv[0] is a path, not looked up in PATH
  // stdout and stderr are appended here; "" discards them.
  std::string log_path;
  // Name of a namespace under /run/netns (Namespace::name()); "" runs the
  // child in the test process's own network namespace.
  std::string netns;
};

class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const ChildOptions& options);
  // SIGKILL to the process group, then reaped.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // False once it has exited (reaping it if needed).
  bool Running();
  // Sends `signal` to the process group and waits up to `timeout` for the
  // child to exit; past that it is SIGKILLed and an error returned. Returns
  // the wait status (WIFEXITED, WTERMSIG...).
  absl::StatusOr<int> Stop(int signal, absl::Duration timeout);
  // The wait status once it has exited.
  std::optional<int> wait_status() const { return wait_status_; }

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  // waitpid(WNOHANG); true when the child has been reaped.
  bool Reap();

  pid_t pid_;
  std::optional<int> wait_status_;
};

// "exited with 0", "killed by signal 9 (Killed)"
std::string DescribeWaitStatus(int status);

}  // namespace switchyard::netns

#endif  // SWITCHYARD_TESTS_NETNS_PROCESS_H_
