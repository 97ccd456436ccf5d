// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/netns_scope.h"

#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"
#include "control/common/log.h"

namespace switchyard::kernel {

absl::StatusOr<std::unique_ptr<NetnsScope>> NetnsScope::Enter(
    absl::string_view name) {
  if (name.empty()) {
    return std::unique_ptr<NetnsScope>(new NetnsScope(ScopedFd()));
  }
  if (name.find("..") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid network namespace name \"", name, "\""));
  }
  std::string path = absl::StartsWith(name, "/")
                         ? std::string(name)
                         : absl::StrCat("/run/netns/", name);
  ScopedFd target(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!target.valid()) {
    return ErrnoStatus(errno, absl::StrCat("open network namespace ", path));
  }
  // thread-self: setns moves this thread only, so the way back must be
  // this thread's namespace, not the process leader's.
  ScopedFd original(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!original.valid()) {
    return ErrnoStatus(errno, "open this thread's network namespace");
  }
  if (setns(target.get(), CLONE_NEWNET) != 0) {
    return ErrnoStatus(errno, absl::StrCat("enter network namespace ", path));
  }
  return std::unique_ptr<NetnsScope>(new NetnsScope(std::move(original)));
}

NetnsScope::~NetnsScope() {
  if (original_.valid() && setns(original_.get(), CLONE_NEWNET) != 0) {
    // Nothing sensible is left to do: later netlink calls of this thread
    // would act on the wrong namespace, so say so loudly.
    LOG(ERROR) << "could not return to the original network namespace: "
               << ErrnoStatus(errno, "setns").message();
  }
}

}  // namespace switchyard::kernel
