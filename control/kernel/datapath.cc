// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/datapath.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "control/common/errno_status.h"
#include "control/common/log.h"
#include "yard_datapath.skel.h"

namespace switchyard::kernel {
namespace {

int LibbpfPrint(enum libbpf_print_level level, const char* format,
                va_list args) {
  char buf[1024];
  vsnprintf(buf, sizeof(buf), format, args);
  absl::string_view line = absl::StripTrailingAsciiWhitespace(buf);
  // bpf_tc_hook_create on an interface that already has its clsact qdisc
  // fails with EEXIST, which AttachTc expects; libbpf still prints the
  // kernel's message for it at WARN.
  if (absl::StrContains(line, "Exclusivity flag on")) return 0;
  if (level == LIBBPF_WARN) {
    LOG(WARNING) << "libbpf: " << line;
  } else if (level == LIBBPF_INFO) {
    // Informational libbpf chatter is not worth a line per map.
    (void)line;
  }
  return 0;
}

ScopedFd Dup(const bpf_map* map) {
  return ScopedFd(fcntl(bpf_map__fd(map), F_DUPFD_CLOEXEC, 0));
}

}  // namespace

void RouteLibbpfLogs() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(LibbpfPrint); });
}

absl::StatusOr<std::unique_ptr<Datapath>> Datapath::Load(
    const DatapathConfig& config) {
  RouteLibbpfLogs();
  if (config.max_frontends == 0 || config.max_slots == 0 ||
      config.max_backends < 2 || config.max_ct_entries == 0) {
    return absl::InvalidArgumentError("every map needs a non-zero size");
  }
  if (!config.pin_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(config.pin_dir, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("create ", config.pin_dir, ": ", ec.message()));
    }
  }

  yard_datapath* skel = yard_datapath__open();
  if (skel == nullptr) return ErrnoStatus(errno, "open yard_datapath");
  auto fail = [&](absl::Status status) {
    yard_datapath__destroy(skel);
    return status;
  };

  const std::pair<bpf_map*, uint32_t> sizes[] = {
      {skel->maps.yard_svc4, config.max_frontends},
      {skel->maps.yard_slots, config.max_slots},
      {skel->maps.yard_be4, config.max_backends},
      {skel->maps.yard_rnat4, config.max_frontends},
      {skel->maps.yard_ct4, config.max_ct_entries},
      {skel->maps.yard_svc_stats, config.max_frontends},
      {skel->maps.yard_lb_src4, config.max_source_ranges},
  };
  for (auto [map, size] : sizes) {
    if (int err = bpf_map__set_max_entries(map, size); err != 0) {
      return fail(ErrnoStatus(err, absl::StrCat("size ", bpf_map__name(map))));
    }
  }
  bpf_map* all_maps[] = {skel->maps.yard_svc4,    skel->maps.yard_slots,
                         skel->maps.yard_be4,     skel->maps.yard_rnat4,
                         skel->maps.yard_ct4,     skel->maps.yard_svc_stats,
                         skel->maps.yard_reasons, skel->maps.yard_lb_src4,
                         skel->maps.yard_frag4};
  if (!config.pin_dir.empty()) {
    for (bpf_map* map : all_maps) {
      std::string path = absl::StrCat(config.pin_dir, "/", bpf_map__name(map));
      if (int err = bpf_map__set_pin_path(map, path.c_str()); err != 0) {
        return fail(ErrnoStatus(err, absl::StrCat("pin path ", path)));
      }
    }
  }

  skel->rodata->yard_cfg.hairpin_addr =
      config.hairpin_addr_be != 0 ? config.hairpin_addr_be
                                  : htonl(YARD_DEFAULT_HAIRPIN_ADDR_HOST);
  skel->rodata->yard_cfg.udp_timeout_s = config.udp_timeout_s;
  skel->rodata->yard_cfg.snat_addr = config.snat_addr_be;
  skel->rodata->yard_cfg.snat_port_min = config.snat_port_min;
  skel->rodata->yard_cfg.snat_port_max = config.snat_port_max;
  skel->rodata->yard_cfg.local_redirect = config.local_redirect ? 1 : 0;

  // libbpf reuses a pinned map only when type, key, value and size match;
  // otherwise load fails here and names the map, rather than silently
  // running with a map of another layout.
  if (int err = yard_datapath__load(skel); err != 0) {
    return fail(ErrnoStatus(
        err, absl::StrCat(
                 "load yard_datapath (verifier or pinned map mismatch in ",
                 config.pin_dir.empty() ? "<unpinned>" : config.pin_dir, ")")));
  }

  DatapathMaps::Fds fds;
  fds.svc4 = Dup(skel->maps.yard_svc4);
  fds.slots = Dup(skel->maps.yard_slots);
  fds.be4 = Dup(skel->maps.yard_be4);
  fds.rnat4 = Dup(skel->maps.yard_rnat4);
  fds.ct4 = Dup(skel->maps.yard_ct4);
  fds.svc_stats = Dup(skel->maps.yard_svc_stats);
  fds.reasons = Dup(skel->maps.yard_reasons);
  fds.lb_src4 = Dup(skel->maps.yard_lb_src4);
  return std::unique_ptr<Datapath>(
      new Datapath(config, skel, DatapathMaps(std::move(fds))));
}

Datapath::Datapath(DatapathConfig config, yard_datapath* skel,
                   DatapathMaps maps)
    : config_(std::move(config)), skel_(skel), maps_(std::move(maps)) {}

Datapath::~Datapath() { yard_datapath__destroy(skel_); }

int Datapath::from_pod_fd() const {
  return bpf_program__fd(skel_->progs.yard_from_pod);
}

int Datapath::to_pod_fd() const {
  return bpf_program__fd(skel_->progs.yard_to_pod);
}

int Datapath::from_outside_fd() const {
  return bpf_program__fd(skel_->progs.yard_from_outside);
}

absl::StatusOr<XdpMode> Datapath::AttachExternalDevice(int ifindex) {
  // tc first: frames XDP hands up for neighbour resolution need it, and
  // replies of local endpoints are reverse-translated on egress.
  if (absl::Status s =
          AttachTc(ifindex, TcDirection::kIngress,
                   bpf_program__fd(skel_->progs.yard_outside_ingress));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = AttachTc(ifindex, TcDirection::kEgress,
                                bpf_program__fd(skel_->progs.yard_to_outside));
      !s.ok()) {
    return s;
  }
  // No XDP_FLAGS_UPDATE_IF_NOEXIST: an earlier Switchyard program (a
  // restarted agent's) is replaced in one step.
  int fd = from_outside_fd();
  int err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, nullptr);
  if (err == 0) return XdpMode::kNative;
  int native_err = err;
  err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_SKB_MODE, nullptr);
  if (err == 0) return XdpMode::kGeneric;
  return ErrnoStatus(err,
                     absl::StrCat("attach XDP on ifindex ", ifindex,
                                  " (native: ", strerror(-native_err), ")"));
}

absl::Status Datapath::DetachExternalDevice(int ifindex) {
  // Whichever mode it is in: detaching a mode with no program is a no-op.
  bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, nullptr);
  bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, nullptr);
  absl::Status in = DetachTc(ifindex, TcDirection::kIngress);
  absl::Status out = DetachTc(ifindex, TcDirection::kEgress);
  return in.ok() ? out : in;
}

absl::Status Datapath::AttachPodInterface(int ifindex) {
  if (absl::Status s = AttachTc(ifindex, TcDirection::kIngress, from_pod_fd());
      !s.ok()) {
    return s;
  }
  return AttachTc(ifindex, TcDirection::kEgress, to_pod_fd());
}

absl::Status Datapath::DetachPodInterface(int ifindex) {
  absl::Status in = DetachTc(ifindex, TcDirection::kIngress);
  absl::Status out = DetachTc(ifindex, TcDirection::kEgress);
  return in.ok() ? out : in;
}

absl::Status AttachTc(int ifindex, TcDirection direction, int prog_fd) {
  DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
                      .attach_point = direction == TcDirection::kIngress
                                          ? BPF_TC_INGRESS
                                          : BPF_TC_EGRESS);
  // The clsact qdisc may exist already (ours from an earlier run, or
  // another tool's): that is fine, filters are what we own.
  int err = bpf_tc_hook_create(&hook);
  if (err != 0 && err != -EEXIST) {
    return ErrnoStatus(err, absl::StrCat("create clsact on ifindex ", ifindex));
  }
  DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd,
                      .flags = BPF_TC_F_REPLACE, .handle = kTcHandle,
                      .priority = kTcPriority);
  if (err = bpf_tc_attach(&hook, &opts); err != 0) {
    return ErrnoStatus(err,
                       absl::StrCat("attach tc program on ifindex ", ifindex));
  }
  return absl::OkStatus();
}

absl::Status DetachTc(int ifindex, TcDirection direction) {
  DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
                      .attach_point = direction == TcDirection::kIngress
                                          ? BPF_TC_INGRESS
                                          : BPF_TC_EGRESS);
  DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle,
                      .priority = kTcPriority);
  int err = bpf_tc_detach(&hook, &opts);
  if (err != 0 && err != -ENOENT) {
    return ErrnoStatus(err,
                       absl::StrCat("detach tc program on ifindex ", ifindex));
  }
  return absl::OkStatus();
}

}  // namespace switchyard::kernel
