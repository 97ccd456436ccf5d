// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/pod_program_pins.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"
#include "control/common/scoped_fd.h"

namespace switchyard::kernel {
namespace {

constexpr TcDirection kDirections[] = {TcDirection::kIngress,
                                       TcDirection::kEgress};

absl::string_view HookName(TcDirection direction) {
  return direction == TcDirection::kIngress ? "ingress" : "egress";
}

absl::Status PinReplacing(int prog_fd, const std::string& path) {
  // bpffs refuses names with a dot (reserved by the kernel).
  const std::string staging = absl::StrCat(path, "_new");
  unlink(staging.c_str());  // left by an agent killed mid-way
  if (bpf_obj_pin(prog_fd, staging.c_str()) != 0) {
    return ErrnoStatus(errno, absl::StrCat("pin ", staging));
  }
  // bpffs renames atomically: the old pin is replaced, never absent.
  if (rename(staging.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(staging.c_str());
    return ErrnoStatus(err, absl::StrCat("rename ", staging, " to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<ScopedFd> OpenPin(absl::string_view pin_dir,
                                 TcDirection direction) {
  const std::string path = PodProgramPin(pin_dir, direction);
  ScopedFd fd(bpf_obj_get(path.c_str()));
  if (fd.valid()) return fd;
  if (errno == ENOENT) {
    return absl::NotFoundError(absl::StrCat(
        "no pod program pinned at ", path,
        ": yard-agent has not started on this node yet (or pins in another "
        "folder)"));
  }
  return ErrnoStatus(errno, absl::StrCat("open pinned program ", path));
}

absl::StatusOr<uint32_t> ProgramId(int prog_fd) {
  bpf_prog_info info = {};
  uint32_t length = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &length) != 0) {
    return ErrnoStatus(errno, "read pinned program's id");
  }
  return info.id;
}

// The name the kernel keeps for the program with this id; "" when gone.
std::string ProgramName(uint32_t id) {
  ScopedFd fd(bpf_prog_get_fd_by_id(id));
  bpf_prog_info info = {};
  uint32_t length = sizeof(info);
  if (!fd.valid() || bpf_obj_get_info_by_fd(fd.get(), &info, &length) != 0) {
    return "";
  }
  return info.name;
}

absl::string_view ProgramNameFor(TcDirection direction) {
  return direction == TcDirection::kIngress ? "yard_from_pod" : "yard_to_pod";
}

}  // namespace

std::string PodProgramPin(absl::string_view pin_dir, TcDirection direction) {
  return absl::StrCat(pin_dir, "/", ProgramNameFor(direction));
}

absl::Status PinPodPrograms(absl::string_view pin_dir, int from_pod_fd,
                            int to_pod_fd) {
  if (absl::Status s = PinReplacing(
          from_pod_fd, PodProgramPin(pin_dir, TcDirection::kIngress));
      !s.ok()) {
    return s;
  }
  return PinReplacing(to_pod_fd, PodProgramPin(pin_dir, TcDirection::kEgress));
}

absl::Status AttachPinnedPodPrograms(absl::string_view pin_dir, int ifindex) {
  // Both opened before either is attached: a missing pin leaves the
  // interface untouched rather than half served.
  absl::StatusOr<ScopedFd> from_pod = OpenPin(pin_dir, TcDirection::kIngress);
  if (!from_pod.ok()) return from_pod.status();
  absl::StatusOr<ScopedFd> to_pod = OpenPin(pin_dir, TcDirection::kEgress);
  if (!to_pod.ok()) return to_pod.status();
  if (absl::Status s =
          AttachTc(ifindex, TcDirection::kIngress, from_pod->get());
      !s.ok()) {
    return s;
  }
  return AttachTc(ifindex, TcDirection::kEgress, to_pod->get());
}

absl::Status CheckPinnedPodPrograms(absl::string_view pin_dir, int ifindex) {
  for (TcDirection direction : kDirections) {
    absl::StatusOr<ScopedFd> pinned = OpenPin(pin_dir, direction);
    if (!pinned.ok()) return pinned.status();
    absl::StatusOr<uint32_t> want = ProgramId(pinned->get());
    if (!want.ok()) return want.status();
    DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
                        .attach_point = direction == TcDirection::kIngress
                                            ? BPF_TC_INGRESS
                                            : BPF_TC_EGRESS);
    DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle,
                        .priority = kTcPriority);
    int err = bpf_tc_query(&hook, &opts);
    // ENOENT: no such filter; EINVAL: no clsact qdisc at all.
    if (err == -ENOENT || err == -EINVAL) {
      return absl::NotFoundError(absl::StrCat("no Switchyard filter on the ",
                                              HookName(direction),
                                              " of ifindex ", ifindex));
    }
    if (err != 0) {
      return ErrnoStatus(err,
                         absl::StrCat("query tc filter on ifindex ", ifindex));
    }
    // A newer agent may have attached its own programs since: any of
    // Switchyard's programs counts, but not another program in our slot.
    if (opts.prog_id != *want &&
        ProgramName(opts.prog_id) != ProgramNameFor(direction)) {
      return absl::NotFoundError(absl::StrCat(
          "the ", HookName(direction), " filter of ifindex ", ifindex,
          " runs program ", opts.prog_id, ", not Switchyard's pod program"));
    }
  }
  return absl::OkStatus();
}

}  // namespace switchyard::kernel
