// SPDX-License-Identifier: Apache-2.0
// Driving scripts/yard-lab from a test: bringing the lab up and down,
// commands in its namespaces, yardctl against its controller, waiting for
// every agent to program a change, and the clients (socat) whose answers
// name the pod, node and address an examples/serve.sh server saw. Every
// wait is bounded. The lab is always the one named kLabName, so two test
// programs using this must never run at once: within one ctest run
// RUN_SERIAL sees to it, and across runs (a developer's ctest beside CI's
// suite) LabLock does.
#ifndef SWITCHYARD_TESTS_E2E_SUPPORT_LAB_DRIVER_H_
#define SWITCHYARD_TESTS_E2E_SUPPORT_LAB_DRIVER_H_

#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "control/common/scoped_fd.h"
#include "tests/netns/netns.h"

namespace switchyard::lab {

inline constexpr char kLabName[] = "ylt";
inline constexpr char kRunDir[] = "/run/switchyard-lab-ylt";
inline constexpr char kSourceDir[] = YARD_SOURCE_DIR;
inline constexpr char kBuildDir[] = YARD_BUILD_DIR;
inline constexpr int kNodes = 2;

// What the lab and its clients are given: lab up and down take about a
// second each; a client gets 2 s to connect and 2 s of silence.
inline constexpr absl::Duration kLabTimeout = absl::Seconds(60);
inline constexpr absl::Duration kProgramTimeout = absl::Seconds(5);
inline constexpr absl::Duration kClientTimeout = absl::Seconds(8);
// A refusal (RST, ICMP port unreachable) comes back in well under this,
// socat's own start included; a drop or a missing route takes the whole
// connect timeout.
inline constexpr absl::Duration kPromptly = absl::Seconds(1);

// Addresses of the lab (scripts/yard-lab) and of examples/*.yaml.
inline constexpr char kNode1[] = "172.31.0.11";
inline constexpr char kNode2[] = "172.31.0.12";
inline constexpr char kExtAllowed[] = "172.31.0.200";  // ext's default source
inline constexpr char kExtDenied[] = "172.31.0.201";   // picked with bind=
inline constexpr char kHairpinSource[] = "169.254.42.1";

std::string NodeIp(int i);
std::string PodIp(int i, int j);

// Held from before a test program brings the lab up until after it takes
// it down: a second program waits for it instead of tearing down the
// first one's lab under it (namespaces gone mid-test, agents killed). The
// kernel drops it when the holder exits, however it exits.
class LabLock {
 public:
  // Waits up to `wait` for the lock; FailedPrecondition if another
  // program still holds it then.
  static absl::StatusOr<LabLock> Acquire(absl::Duration wait);

 private:
  explicit LabLock(ScopedFd fd) : fd_(std::move(fd)) {}
  ScopedFd fd_;
};

// Commands

// "ylt-<name>": the lab's namespace for pod-1-1, node-2, ext, control.
std::string Namespace(absl::string_view name);
absl::StatusOr<netns::CommandResult> Run(const std::vector<std::string>& argv,
                                         absl::Duration timeout);
// `sh -c command` inside the lab's namespace `name` (pod-1-1, ext, ...).
absl::StatusOr<netns::CommandResult> InNs(absl::string_view name,
                                          const std::string& command,
                                          absl::Duration timeout);
// scripts/yard-lab with the lab's name and this build tree's binaries.
absl::Status YardLab(const std::string& verb,
                     const std::vector<std::string>& args = {});
// yardctl against the lab's (first) controller, as the lab's writer over
// mutual TLS: the lab's own wrapper, <run dir>/yardctl.
absl::StatusOr<netns::CommandResult> Yardctl(std::vector<std::string> args);
std::string ReadWhole(const std::string& path);
std::string Tail(const std::string& text, int lines);
// How many versions each node's agent has logged as applied.
std::vector<int> AppliedCounts();
// Waits until every agent has applied one more version than `before`.
absl::Status WaitProgrammed(const std::vector<int>& before);
// `yardctl VERB -f PATH` (apply or delete), then waits for every node.
absl::Status Write(const std::string& verb, const std::string& path);
// A manifest of the test's own, in the lab's run dir (gone with the lab).
std::string WriteManifest(const std::string& name, const std::string& yaml);

// Clients

// One request to an examples/serve.sh identity port, and what came back:
// "<pod> <node> <client ip> <client port> [admin]", or socat's error.
struct Answer {
  bool answered = false;
  std::string pod, node, peer_ip, extra;
  std::string output;  // everything the client printed
  absl::Duration took;

  bool refused() const;
};
std::ostream& operator<<(std::ostream& os, const Answer& a);

Answer Request(absl::string_view from, const std::string& command);
// A new TCP connection from namespace `from` to `target` (ip:port).
// `options` are socat address options, e.g. ",bind=172.31.0.201".
Answer Tcp(absl::string_view from, const std::string& target,
           const std::string& options = "");
// One datagram from a new source port, and its answer.
Answer Udp(absl::string_view from, const std::string& target);
// Sends `count` TCP requests and keeps asking until `done` says enough
// (or `count` runs out): endpoints are chosen at random.
std::vector<Answer> TcpUntil(
    absl::string_view from, const std::string& target, int count,
    const std::function<bool(const std::vector<Answer>&)>& done);
std::set<std::string> NodesOf(const std::vector<Answer>& answers);
// A payload of `size` bytes that is not all one byte, so a truncation or a
// reordering shows.
std::string Payload(size_t size);

// Runs `fn` on a thread inside the lab's namespace `name`: sockets made
// there stay in it and may be used from any thread afterwards.
template <typename T>
absl::StatusOr<T> RunInNs(absl::string_view name,
                          const std::function<absl::StatusOr<T>()>& fn) {
  absl::StatusOr<T> result = absl::UnknownError("not run");
  std::string path = absl::StrCat("/run/netns/", Namespace(name));
  std::thread thread([&] {
    ScopedFd ns(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid() || setns(ns.get(), CLONE_NEWNET) != 0) {
      result = absl::InternalError(
          absl::StrCat("enter ", path, ": ", std::strerror(errno)));
      return;
    }
    result = fn();
  });
  thread.join();
  return result;
}

// Writes `text` and reads the same number of bytes back (an echo server),
// within the socket's receive timeout.
absl::Status EchoOnce(int fd, const std::string& text);

// Long-lived TCP connections to echo ports, each opened inside the lab's
// namespace `ns`, kept across whatever a test does to the cluster.
struct EchoTarget {
  const char* ns;
  std::string to;
  uint16_t port;
};

class EchoClients {
 public:
  // Connects to every target (2 s each); a stalled echo later fails within
  // its 5 s receive timeout instead of hanging the test.
  static absl::StatusOr<EchoClients> Open(std::vector<EchoTarget> targets);
  // One line through every connection; "" when all came back, else one
  // line per connection that failed, naming it and `when`.
  std::string EchoAll(const std::string& when);

 private:
  std::vector<EchoTarget> targets_;
  std::vector<ScopedFd> fds_;
};

}  // namespace switchyard::lab

#endif  // SWITCHYARD_TESTS_E2E_SUPPORT_LAB_DRIVER_H_
