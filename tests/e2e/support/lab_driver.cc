// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/support/lab_driver.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "control/common/scoped_fd.h"
#include "tests/e2e/pod_apps.h"

namespace switchyard::lab {

absl::StatusOr<LabLock> LabLock::Acquire(absl::Duration wait) {
  // Beside the run dir, not in it: that goes with the lab, and a lock file
  // removed while held would let a third program lock a new one.
  const std::string path = absl::StrCat(kRunDir, ".lock");
  ScopedFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    return absl::InternalError(
        absl::StrCat("open ", path, ": ", std::strerror(errno)));
  }
  const absl::Time deadline = absl::Now() + wait;
  while (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return absl::InternalError(
          absl::StrCat("lock ", path, ": ", std::strerror(errno)));
    }
    if (absl::Now() >= deadline) {
      return absl::FailedPreconditionError(absl::StrCat(
          "another test program has driven lab ", kLabName, " for over ",
          absl::FormatDuration(wait), " (", path, " is locked)"));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return LabLock(std::move(fd));
}

std::string NodeIp(int i) { return i == 1 ? kNode1 : kNode2; }
std::string PodIp(int i, int j) {
  return absl::StrCat("10.244.", i, ".", 10 + j);
}

// ---------------------------------------------------------------------------
// Commands

std::string Namespace(absl::string_view name) {
  return absl::StrCat(kLabName, "-", name);
}

absl::StatusOr<netns::CommandResult> Run(const std::vector<std::string>& argv,
                                         absl::Duration timeout) {
  return netns::RunCommand(argv, timeout);
}

// `sh -c command` inside the lab's namespace `name` (pod-1-1, ext, ...).
absl::StatusOr<netns::CommandResult> InNs(absl::string_view name,
                                          const std::string& command,
                                          absl::Duration timeout) {
  return Run({"ip", "netns", "exec", Namespace(name), "sh", "-c", command},
             timeout);
}

// scripts/yard-lab with the lab's name and this build tree's binaries.
absl::Status YardLab(const std::string& verb,
                     const std::vector<std::string>& args) {
  std::vector<std::string> argv = {
      "env", absl::StrCat("YARD_LAB_NAME=", kLabName),
      absl::StrCat("YARD_BUILD_DIR=", kBuildDir),
      absl::StrCat(kSourceDir, "/scripts/yard-lab"), verb};
  argv.insert(argv.end(), args.begin(), args.end());
  return netns::RunCommandOk(argv, kLabTimeout);
}

absl::StatusOr<netns::CommandResult> Yardctl(std::vector<std::string> args) {
  std::vector<std::string> argv = {absl::StrCat(kRunDir, "/yardctl")};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, absl::Seconds(15));
}

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Tail(const std::string& text, int lines) {
  std::vector<absl::string_view> all = absl::StrSplit(text, '\n');
  if (!all.empty() && all.back().empty()) all.pop_back();
  size_t from =
      all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0;
  return absl::StrJoin(all.begin() + from, all.end(), "\n");
}

// How many versions each node's agent has logged as applied.
std::vector<int> AppliedCounts() {
  std::vector<int> counts;
  for (int i = 1; i <= kNodes; ++i) {
    std::string log =
        ReadWhole(absl::StrCat(kRunDir, "/agent-node-", i, ".log"));
    int n = 0;
    for (size_t at = log.find("applied version"); at != std::string::npos;
         at = log.find("applied version", at + 1)) {
      ++n;
    }
    counts.push_back(n);
  }
  return counts;
}

// Waits until every agent has applied one more version than `before`:
// the write has reached every node's maps.
absl::Status WaitProgrammed(const std::vector<int>& before) {
  const absl::Time deadline = absl::Now() + kProgramTimeout;
  while (true) {
    std::vector<int> now = AppliedCounts();
    bool all = true;
    for (size_t i = 0; i < before.size(); ++i) all &= now[i] > before[i];
    if (all) return absl::OkStatus();
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the agents applied no new version within ",
          absl::FormatDuration(kProgramTimeout), " (applied versions before: ",
          absl::StrJoin(before, ","), ", now: ", absl::StrJoin(now, ","), ")"));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

// `yardctl VERB -f PATH` (apply or delete), then waits for every node to
// program it.
absl::Status Write(const std::string& verb, const std::string& path) {
  std::vector<int> before = AppliedCounts();
  absl::StatusOr<netns::CommandResult> r = Yardctl({verb, "-f", path});
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("yardctl ", verb, " -f ", path, ": ", r->output));
  }
  return WaitProgrammed(before);
}

// A manifest of the test's own, in the lab's run dir (gone with the lab).
std::string WriteManifest(const std::string& name, const std::string& yaml) {
  std::string path = absl::StrCat(kRunDir, "/test-", name, ".yaml");
  std::ofstream(path) << yaml;
  return path;
}

// ---------------------------------------------------------------------------
// Clients

// One request to an examples/serve.sh identity port, and what came back:
// "<pod> <node> <client ip> <client port> [admin]", or socat's error.
bool Answer::refused() const {
  return absl::StrContains(output, "Connection refused");
}

std::ostream& operator<<(std::ostream& os, const Answer& a) {
  if (a.answered) {
    return os << a.pod << " on " << a.node << ", saw " << a.peer_ip << " ("
              << absl::FormatDuration(a.took) << ")";
  }
  return os << "no answer after " << absl::FormatDuration(a.took) << ": \""
            << absl::StripAsciiWhitespace(a.output) << "\"";
}

Answer Request(absl::string_view from, const std::string& command) {
  Answer answer;
  const absl::Time start = absl::Now();
  absl::StatusOr<netns::CommandResult> r = InNs(from, command, kClientTimeout);
  answer.took = absl::Now() - start;
  if (!r.ok()) {
    answer.output = r.status().ToString();
    return answer;
  }
  answer.output = r->output;
  std::vector<std::string> fields =
      absl::StrSplit(r->output, absl::ByAnyChar(" \n"), absl::SkipEmpty());
  if (r->exit_code == 0 && fields.size() >= 4 &&
      absl::StartsWith(fields[0], "pod-")) {
    answer.answered = true;
    answer.pod = fields[0];
    answer.node = fields[1];
    answer.peer_ip = fields[2];
    if (fields.size() > 4) answer.extra = fields[4];
  }
  return answer;
}

// A new TCP connection from namespace `from` to `target` (ip:port).
// `options` are socat address options, e.g. ",bind=172.31.0.201".
Answer Tcp(absl::string_view from, const std::string& target,
           const std::string& options) {
  return Request(from,
                 absl::StrCat("timeout 5 socat -T2 - TCP:", target,
                              ",connect-timeout=2", options, " </dev/null"));
}

// One datagram from a new source port, and its answer.
Answer Udp(absl::string_view from, const std::string& target) {
  return Request(
      from, absl::StrCat("echo ping | timeout 4 socat -T2 - UDP:", target));
}

// Sends `count` TCP requests and keeps asking until `done` says enough
// (or `count` runs out): endpoints are chosen at random.
std::vector<Answer> TcpUntil(
    absl::string_view from, const std::string& target, int count,
    const std::function<bool(const std::vector<Answer>&)>& done) {
  std::vector<Answer> answers;
  for (int i = 0; i < count; ++i) {
    answers.push_back(Tcp(from, target));
    if (!answers.back().answered || done(answers)) break;
  }
  return answers;
}

std::set<std::string> NodesOf(const std::vector<Answer>& answers) {
  std::set<std::string> nodes;
  for (const Answer& a : answers) {
    if (a.answered) nodes.insert(a.node);
  }
  return nodes;
}

// A payload of `size` bytes that is not all one byte, so a truncation or a
// reordering shows.
std::string Payload(size_t size) {
  std::string payload(size, '\0');
  for (size_t i = 0; i < size; ++i)
    payload[i] = static_cast<char>('a' + i % 26);
  payload[size - 1] = '\n';
  return payload;
}

// Writes `text` and reads the same number of bytes back (an echo server),
// within the socket's receive timeout.
absl::Status EchoOnce(int fd, const std::string& text) {
  if (send(fd, text.data(), text.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(text.size())) {
    return absl::InternalError(absl::StrCat("send: ", std::strerror(errno)));
  }
  std::string back;
  char buf[512];
  while (back.size() < text.size()) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      return absl::InternalError(absl::StrCat(
          "recv after ", back.size(), " of ", text.size(),
          " bytes: ", n == 0 ? "connection closed" : std::strerror(errno)));
    }
    back.append(buf, n);
  }
  if (back != text) {
    return absl::InternalError(
        absl::StrCat("sent \"", text, "\", got \"", back, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<EchoClients> EchoClients::Open(std::vector<EchoTarget> targets) {
  EchoClients clients;
  for (const EchoTarget& t : targets) {
    absl::StatusOr<ScopedFd> fd = RunInNs<ScopedFd>(t.ns, [&] {
      return e2e::MustConnect(e2e::SockAddr(t.to.c_str(), t.port),
                              absl::Seconds(2));
    });
    if (!fd.ok()) {
      return absl::Status(fd.status().code(),
                          absl::StrCat(t.ns, " -> ", t.to, ":", t.port, ": ",
                                       fd.status().message()));
    }
    timeval timeout = {.tv_sec = 5, .tv_usec = 0};
    if (setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &timeout,
                   sizeof(timeout)) != 0) {
      return absl::InternalError(
          absl::StrCat("SO_RCVTIMEO: ", std::strerror(errno)));
    }
    clients.fds_.push_back(*std::move(fd));
  }
  clients.targets_ = std::move(targets);
  return clients;
}

std::string EchoClients::EchoAll(const std::string& when) {
  std::string failures;
  for (size_t i = 0; i < fds_.size(); ++i) {
    absl::Status echo = EchoOnce(fds_[i].get(), when + "\n");
    if (echo.ok()) continue;
    absl::StrAppend(&failures, when, ": ", targets_[i].ns, " -> ",
                    targets_[i].to, ":", targets_[i].port, ": ", echo.message(),
                    "\n");
  }
  return failures;
}

}  // namespace switchyard::lab
