// SPDX-License-Identifier: Apache-2.0
// Network namespaces for tests that need real devices and sockets.
//
// Every namespace is named "ysy<pid>-<name>", so test processes running side
// by side never collide and a later run can tell (by the pid) which ones a
// killed process left behind. A Namespace deletes itself when destroyed; on
// SIGINT, SIGTERM or SIGHUP the process removes its namespaces before dying
// (unless something else already handles or ignores that signal); after
// SIGKILL, CleanupStaleNamespaces() in the next run does it.
//
// Two ways to act inside a namespace:
//   - Exec(): a shell command through `ip netns exec` (ip, ethtool, sysctl);
//   - Run(): a C++ callable on a thread that has setns()'d into it, for
//     sockets and for netlink users such as switchyard::kernel::AttachTc.
//     A socket keeps the namespace it was created in, so an fd made inside
//     Run() may be used from any thread afterwards.
#ifndef SWITCHYARD_TESTS_NETNS_NETNS_H_
#define SWITCHYARD_TESTS_NETNS_NETNS_H_

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace switchyard::netns {

// Long enough for any ip/ethtool call, short enough that a hung one fails
// the test instead of the CI job.
inline constexpr absl::Duration kCommandTimeout = absl::Seconds(10);

struct CommandResult {
  int exit_code = -1;      // exit status; -1 when killed by a signal
  bool timed_out = false;  // killed (with its process group) at the deadline
  std::string output;      // stdout and stderr, interleaved
};

// Runs argv[0] (looked up in PATH) with argv, stdin from /dev/null, in its
// own process group, killed when the timeout passes. An error only when it
// cannot be started; its exit status is in the result.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         absl::Duration timeout);

// RunCommand, but a non-zero exit or a timeout is an error that quotes the
// command and its output.
absl::Status RunCommandOk(const std::vector<std::string>& argv,
                          absl::Duration timeout = kCommandTimeout);

// "ysy<pid>-": the prefix of every namespace this process creates.
std::string NamePrefix();

// Deletes the namespaces of test processes that no longer exist (by the pid
// in their name). Returns how many it deleted.
absl::StatusOr<int> CleanupStaleNamespaces();

class Namespace {
 public:
  // Creates namespace NamePrefix() + name with its loopback up. `name` is
  // short, of [a-z0-9-].
  static absl::StatusOr<std::unique_ptr<Namespace>> Create(
      absl::string_view name);
  // Deletes the namespace; its devices (veth ends included) go with it.
  ~Namespace();
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;

  const std::string& name() const { return name_; }

  // `sh -c command` inside the namespace.
  absl::StatusOr<CommandResult> Exec(
      absl::string_view command,
      absl::Duration timeout = kCommandTimeout) const;
  // Exec, with a non-zero exit or timeout turned into an error.
  absl::Status ExecOk(absl::string_view command,
                      absl::Duration timeout = kCommandTimeout) const;

  // Moves the calling thread into this namespace, for the rest of its life:
  // call it only on a thread you own, never on the test's main thread.
  absl::Status EnterThisThread() const;

  // Runs fn on a new thread inside the namespace and returns its result.
  // fn returns absl::Status or absl::StatusOr<T>; a failure to enter the
  // namespace comes back as that type's error.
  template <typename F>
  std::invoke_result_t<F&> Run(F&& fn) const {
    using Result = std::invoke_result_t<F&>;
    std::optional<Result> result;
    std::thread thread([&] {
      if (absl::Status entered = EnterThisThread(); !entered.ok()) {
        result.emplace(std::move(entered));
        return;
      }
      result.emplace(fn());
    });
    thread.join();
    return std::move(*result);
  }

  // Configuration, each through one command inside the namespace.
  absl::Status Sysctl(absl::string_view key, absl::string_view value) const;
  absl::Status AddAddress(absl::string_view dev, absl::string_view cidr) const;
  // `route` as `ip route add` takes it: "default via 10.0.0.1 dev eth0".
  absl::Status AddRoute(absl::string_view route) const;
  // Transmit checksum offload (`ethtool -K dev tx on|off`). Off makes the
  // stack compute checksums in software, so packets reach tc with
  // CHECKSUM_NONE instead of CHECKSUM_PARTIAL.
  absl::Status SetTxChecksum(absl::string_view dev, bool on) const;
  absl::StatusOr<int> Ifindex(absl::string_view dev) const;

 private:
  Namespace(std::string name, int signal_slot)
      : name_(std::move(name)), signal_slot_(signal_slot) {}

  std::string name_;
  int signal_slot_;  // entry in the list removed on a fatal signal, or -1
};

// A veth pair with end dev_a in a and dev_b in b, both up. Created in a's
// namespace with its peer put straight into b, so no device ever appears in
// the namespace of the test process.
absl::Status CreateVeth(const Namespace& a, absl::string_view dev_a,
                        const Namespace& b, absl::string_view dev_b);

}  // namespace switchyard::netns

#endif  // SWITCHYARD_TESTS_NETNS_NETNS_H_
