// SPDX-License-Identifier: Apache-2.0
#include "tests/netns/process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "control/common/errno_status.h"
#include "control/common/scoped_fd.h"

namespace switchyard::netns {
namespace {

// How often Stop() looks whether the child is gone: far below any timeout
// a test would give, far above a busy loop.
constexpr absl::Duration kReapPoll = absl::Milliseconds(5);

// The child between fork and exec. The parent may have many threads, so
// only async-signal-safe calls here: every string and descriptor was made
// before the fork. Never returns.
[[noreturn]] void ExecChild(char* const* argv, int log_fd, int null_fd,
                            int netns_fd, int error_fd, pid_t parent) {
  auto fail = [error_fd] {
    int err = errno;
    (void)!write(error_fd, &err, sizeof(err));
    _exit(127);
  };
  setpgid(0, 0);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail();
  // The parent may have died before the line above took effect.
  if (getppid() != parent) _exit(127);
  // Handlers do not survive exec, but ignored signals and the mask do;
  // the daemons expect defaults (they block what they sigwait for).
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) {
    sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) != 0) fail();
  if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
      dup2(log_fd, STDERR_FILENO) < 0) {
    fail();
  }
  execv(argv[0], argv);
  fail();
  _exit(127);  // not reached: fail() exits, but is not [[noreturn]]
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const ChildOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("empty argv");
  std::vector<char*> argv;
  for (const std::string& a : options.argv) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);

  ScopedFd null_fd(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null_fd.valid()) return ErrnoStatus(errno, "open /dev/null");
  ScopedFd log_fd(options.log_path.empty()
                      ? fcntl(null_fd.get(), F_DUPFD_CLOEXEC, 0)
                      : open(options.log_path.c_str(),
                             O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log_fd.valid()) {
    return ErrnoStatus(errno, absl::StrCat("open ", options.log_path));
  }
  ScopedFd netns_fd;
  if (!options.netns.empty()) {
    std::string path = absl::StrCat("/run/netns/", options.netns);
    netns_fd = ScopedFd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns_fd.valid())
      return ErrnoStatus(errno, absl::StrCat("open ", path));
  }
  // Closed by a successful exec: EOF with nothing read means it started.
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  ScopedFd error_read(pipe_fds[0]);
  ScopedFd error_write(pipe_fds[1]);

  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return ErrnoStatus(errno, "fork");
  if (pid == 0) {
    ExecChild(argv.data(), log_fd.get(), null_fd.get(),
              netns_fd.valid() ? netns_fd.get() : -1, error_write.get(),
              parent);
  }
  // Also here, so a Stop() right away cannot race the child's own call.
  setpgid(pid, pid);
  auto child = std::unique_ptr<ChildProcess>(new ChildProcess(pid));
  error_write.Reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(error_read.get(), &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    return ErrnoStatus(child_errno, absl::StrCat("start ", options.argv[0]));
  }
  return child;  // destroying it on the error paths above kills and reaps
}

ChildProcess::~ChildProcess() {
  if (wait_status_.has_value()) return;
  kill(-pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

bool ChildProcess::Reap() {
  if (wait_status_.has_value()) return true;
  int status = 0;
  pid_t done = waitpid(pid_, &status, WNOHANG);
  if (done == pid_) {
    wait_status_ = status;
    return true;
  }
  return false;
}

bool ChildProcess::Running() { return !Reap(); }

absl::StatusOr<int> ChildProcess::Stop(int signal, absl::Duration timeout) {
  if (Reap()) return *wait_status_;
  // Never signal a reaped pid: it may belong to someone else by now.
  kill(-pid_, signal);
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (Reap()) return *wait_status_;
    absl::SleepFor(kReapPoll);
  }
  kill(-pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  wait_status_ = status;
  return absl::DeadlineExceededError(absl::StrCat(
      "pid ", pid_, " still running ", absl::FormatDuration(timeout),
      " after signal ", signal, "; killed"));
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status))
    return absl::StrCat("exited with ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(status), " (",
                        strsignal(WTERMSIG(status)), ")");
  }
  return absl::StrCat("wait status ", status);
}

}  // namespace switchyard::netns
