// SPDX-License-Identifier: Apache-2.0
#include "tests/netns/netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "control/common/errno_status.h"
#include "control/common/log.h"
#include "control/common/scoped_fd.h"

extern char** environ;

namespace switchyard::netns {
namespace {

constexpr char kNetnsDir[] = "/run/netns";
constexpr absl::string_view kPrefixHead = "ysy";

// Namespaces to remove if a fatal signal arrives. The handler may only make
// async-signal-safe calls, so this is a fixed array of paths (no
// allocation) and removal is what `ip netns delete` does: detach the bind
// mount, unlink the file.
struct SignalSlot {
  std::atomic<bool> used{false};
  char path[128] = {};
};
std::array<SignalSlot, 64> signal_slots;
std::mutex signal_slots_mu;  // serializes claiming, not the handler

void OnFatalSignal(int sig) {
  for (SignalSlot& slot : signal_slots) {
    if (slot.used.load(std::memory_order_acquire)) {
      umount2(slot.path, MNT_DETACH);
      unlink(slot.path);
    }
  }
  // SA_RESETHAND restored the default action: raising the signal again
  // ends the process as it would have without this handler.
  raise(sig);
}

void InstallSignalCleanupOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction old = {};
      // Never displace a handler someone else installed.
      if (sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL) {
        continue;
      }
      struct sigaction action = {};
      action.sa_handler = OnFatalSignal;
      action.sa_flags = SA_RESETHAND;
      sigemptyset(&action.sa_mask);
      sigaction(sig, &action, nullptr);
    }
  });
}

int ClaimSignalSlot(const std::string& path) {
  if (path.size() >= sizeof(SignalSlot::path)) return -1;
  std::lock_guard<std::mutex> lock(signal_slots_mu);
  for (size_t i = 0; i < signal_slots.size(); ++i) {
    SignalSlot& slot = signal_slots[i];
    if (!slot.used.load(std::memory_order_relaxed)) {
      std::memcpy(slot.path, path.c_str(), path.size() + 1);
      slot.used.store(true, std::memory_order_release);
      return static_cast<int>(i);
    }
  }
  return -1;
}

void ReleaseSignalSlot(int index) {
  if (index < 0) return;
  std::lock_guard<std::mutex> lock(signal_slots_mu);
  signal_slots[index].used.store(false, std::memory_order_release);
}

bool ValidShortName(absl::string_view name) {
  if (name.empty() || name.size() > 24) return false;
  for (char c : name) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') {
      return false;
    }
  }
  return true;
}

// The pid in a name made by NamePrefix(), or nullopt for other names.
std::optional<pid_t> OwnerPid(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, kPrefixHead)) return std::nullopt;
  size_t dash = name.find('-');
  if (dash == 0 || dash == absl::string_view::npos) return std::nullopt;
  int pid = 0;
  if (!absl::SimpleAtoi(name.substr(0, dash), &pid) || pid <= 0) {
    return std::nullopt;
  }
  return pid;
}

// Whether pid names a running process. A zombie (killed, not yet reaped:
// what a test run killed a moment ago often is) counts as gone. A reused
// pid keeps a stale namespace until that other process ends.
bool ProcessAlive(pid_t pid) {
  // EPERM would mean alive (another user's); only ESRCH means gone.
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return true;
  // "pid (comm) S ...": comm may hold spaces and parentheses, the state
  // follows the last ')'.
  size_t paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return true;
  char state = line[paren + 2];
  return state != 'Z' && state != 'X';
}

absl::Status Spawn(const std::vector<std::string>& argv, int out_fd,
                   pid_t* pid) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_fd, STDERR_FILENO);
  // Own process group, so a timeout kills whatever the command started;
  // default signal dispositions and an empty mask, whatever the test's
  // threads had.
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
                                      POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);

  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int err = posix_spawnp(pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) return ErrnoStatus(err, absl::StrCat("spawn ", argv[0]));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         absl::Duration timeout) {
  if (argv.empty()) return absl::InvalidArgumentError("empty command");
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  ScopedFd read_end(pipe_fds[0]);
  ScopedFd write_end(pipe_fds[1]);
  pid_t pid = -1;
  if (absl::Status s = Spawn(argv, write_end.get(), &pid); !s.ok()) return s;
  write_end.Reset();  // the child holds the only write end now

  CommandResult result;
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  bool exited = false;
  while (!exited) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      kill(-pid, SIGKILL);
      result.timed_out = true;
      waitpid(pid, &status, 0);
      break;
    }
    if (read_end.valid()) {
      // Output first; after EOF only the exit is left to wait for.
      pollfd pfd = {.fd = read_end.get(), .events = POLLIN};
      int ms = static_cast<int>(
          std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 100));
      if (poll(&pfd, 1, ms) > 0) {
        char buf[4096];
        ssize_t n = read(read_end.get(), buf, sizeof(buf));
        if (n > 0) {
          result.output.append(buf, n);
        } else if (n == 0 || errno != EINTR) {
          read_end.Reset();
        }
      }
      continue;
    }
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      exited = true;
    } else if (done < 0 && errno != EINTR) {
      return ErrnoStatus(errno, "waitpid");
    } else {
      usleep(2000);
    }
  }
  if (!result.timed_out && WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  }
  return result;
}

absl::Status RunCommandOk(const std::vector<std::string>& argv,
                          absl::Duration timeout) {
  absl::StatusOr<CommandResult> r = RunCommand(argv, timeout);
  if (!r.ok()) return r.status();
  if (r->timed_out || r->exit_code != 0) {
    return absl::InternalError(absl::StrCat(
        "`", absl::StrJoin(argv, " "), "` ",
        r->timed_out
            ? absl::StrCat("timed out after ", absl::FormatDuration(timeout))
            : absl::StrCat("exited with ", r->exit_code),
        ": ", absl::StripTrailingAsciiWhitespace(r->output)));
  }
  return absl::OkStatus();
}

std::string NamePrefix() { return absl::StrCat(kPrefixHead, getpid(), "-"); }

absl::StatusOr<int> CleanupStaleNamespaces() {
  std::error_code ec;
  if (!std::filesystem::exists(kNetnsDir, ec)) return 0;
  std::vector<std::string> stale;
  for (const auto& entry : std::filesystem::directory_iterator(kNetnsDir, ec)) {
    std::string name = entry.path().filename().string();
    std::optional<pid_t> pid = OwnerPid(name);
    if (!pid.has_value() || *pid == getpid()) continue;
    if (ProcessAlive(*pid)) continue;
    stale.push_back(name);
  }
  if (ec) return ErrnoStatus(ec.value(), absl::StrCat("list ", kNetnsDir));
  for (const std::string& name : stale) {
    if (absl::Status s = RunCommandOk({"ip", "netns", "delete", name});
        !s.ok()) {
      return s;
    }
    LOG(INFO) << "deleted stale network namespace " << name;
  }
  return static_cast<int>(stale.size());
}

absl::StatusOr<std::unique_ptr<Namespace>> Namespace::Create(
    absl::string_view name) {
  if (!ValidShortName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("namespace name \"", name, "\": want 1-24 of [a-z0-9-]"));
  }
  InstallSignalCleanupOnce();
  std::string full = absl::StrCat(NamePrefix(), name);
  // Claimed before the namespace exists, so no moment leaves it unlisted.
  int slot = ClaimSignalSlot(absl::StrCat(kNetnsDir, "/", full));
  if (absl::Status s = RunCommandOk({"ip", "netns", "add", full}); !s.ok()) {
    ReleaseSignalSlot(slot);
    return s;
  }
  auto ns = std::unique_ptr<Namespace>(new Namespace(full, slot));
  if (absl::Status s =
          RunCommandOk({"ip", "-n", full, "link", "set", "lo", "up"});
      !s.ok()) {
    return s;  // ns deletes the namespace
  }
  return ns;
}

Namespace::~Namespace() {
  if (absl::Status s = RunCommandOk({"ip", "netns", "delete", name_});
      !s.ok()) {
    LOG(WARNING) << "delete network namespace " << name_ << ": " << s;
  }
  ReleaseSignalSlot(signal_slot_);
}

absl::StatusOr<CommandResult> Namespace::Exec(absl::string_view command,
                                              absl::Duration timeout) const {
  return RunCommand(
      {"ip", "netns", "exec", name_, "sh", "-c", std::string(command)},
      timeout);
}

absl::Status Namespace::ExecOk(absl::string_view command,
                               absl::Duration timeout) const {
  return RunCommandOk(
      {"ip", "netns", "exec", name_, "sh", "-c", std::string(command)},
      timeout);
}

absl::Status Namespace::EnterThisThread() const {
  std::string path = absl::StrCat(kNetnsDir, "/", name_);
  ScopedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("open ", path));
  if (setns(fd.get(), CLONE_NEWNET) != 0) {
    return ErrnoStatus(errno, absl::StrCat("setns into ", name_));
  }
  return absl::OkStatus();
}

absl::Status Namespace::Sysctl(absl::string_view key,
                               absl::string_view value) const {
  return RunCommandOk({"ip", "netns", "exec", name_, "sysctl", "-qw",
                       absl::StrCat(key, "=", value)});
}

absl::Status Namespace::AddAddress(absl::string_view dev,
                                   absl::string_view cidr) const {
  return RunCommandOk({"ip", "-n", name_, "addr", "add", std::string(cidr),
                       "dev", std::string(dev)});
}

absl::Status Namespace::AddRoute(absl::string_view route) const {
  std::vector<std::string> argv = {"ip", "-n", name_, "route", "add"};
  for (absl::string_view word : absl::StrSplit(route, ' ', absl::SkipEmpty())) {
    argv.emplace_back(word);
  }
  return RunCommandOk(argv);
}

absl::Status Namespace::SetTxChecksum(absl::string_view dev, bool on) const {
  return RunCommandOk({"ip", "netns", "exec", name_, "ethtool", "-K",
                       std::string(dev), "tx", on ? "on" : "off"});
}

absl::StatusOr<int> Namespace::Ifindex(absl::string_view dev) const {
  std::string name(dev);
  return Run([&name]() -> absl::StatusOr<int> {
    unsigned index = if_nametoindex(name.c_str());
    if (index == 0)
      return ErrnoStatus(errno, absl::StrCat("ifindex of ", name));
    return static_cast<int>(index);
  });
}

absl::Status CreateVeth(const Namespace& a, absl::string_view dev_a,
                        const Namespace& b, absl::string_view dev_b) {
  if (absl::Status s = RunCommandOk(
          {"ip", "-n", a.name(), "link", "add", std::string(dev_a), "type",
           "veth", "peer", "name", std::string(dev_b), "netns", b.name()});
      !s.ok()) {
    return s;
  }
  if (absl::Status s = RunCommandOk(
          {"ip", "-n", a.name(), "link", "set", std::string(dev_a), "up"});
      !s.ok()) {
    return s;
  }
  return RunCommandOk(
      {"ip", "-n", b.name(), "link", "set", std::string(dev_b), "up"});
}

}  // namespace switchyard::netns
