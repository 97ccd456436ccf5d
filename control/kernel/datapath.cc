// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/datapath.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
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
#include "control/kernel/bpf_map.h"
#include "control/kernel/maglev_tables.h"
#include "control/kernel/pinned_layout.h"
#include "yard_datapath.skel.h"

namespace switchyard::kernel {
namespace {

// The libbpf messages of the load under way on this thread, when a load
// wants them. libbpf takes one print function per process, with no
// argument to tell loads apart, hence a thread-local.
thread_local std::string* load_log = nullptr;

int LibbpfPrint(enum libbpf_print_level level, const char* format,
                va_list args) {
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string text(n > 0 ? n : 0, '\0');
  if (n > 0) vsnprintf(text.data(), text.size() + 1, format, args);
  if (load_log != nullptr && level == LIBBPF_WARN) {
    absl::StrAppend(load_log, text);
    // The verifier's log of a refused program is long; the reason is
    // logged by the caller, the whole log only at debug verbosity.
    if (absl::StrContains(text, "PROG LOAD LOG")) return 0;
  }
  absl::string_view line = absl::StripTrailingAsciiWhitespace(text);
  // bpf_tc_hook_create on an interface that already has its clsact qdisc
  // fails with EEXIST, which AttachTc expects; libbpf still prints the
  // kernel's message for it at WARN.
  if (absl::StrContains(line, "Exclusivity flag on")) return 0;
  if (level == LIBBPF_WARN) LOG(WARNING) << line;  // it says "libbpf: "
  return 0;
}

// Removes Switchyard's XDP program from a device, in whichever mode it is,
// and leaves any other program there alone.
void DetachOurXdp(int ifindex) {
  for (uint32_t mode : {XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE}) {
    uint32_t id = 0;
    if (bpf_xdp_query_id(ifindex, mode, &id) != 0 || id == 0) continue;
    ScopedFd prog(bpf_prog_get_fd_by_id(id));
    bpf_prog_info info = {};
    uint32_t len = sizeof(info);
    if (!prog.valid() || bpf_obj_get_info_by_fd(prog.get(), &info, &len) != 0 ||
        // Kernel program names stop at 15 characters.
        absl::string_view(info.name) !=
            absl::string_view("yard_from_outside").substr(0, 15)) {
      continue;
    }
    DECLARE_LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = prog.get());
    bpf_xdp_detach(ifindex, mode | XDP_FLAGS_REPLACE, &opts);
  }
}

// Maps are pinned in a folder that must be on a bpffs mount: elsewhere
// the pins fail with an error that names no cause (a missing folder).
absl::Status CheckBpffs(const std::string& pin_dir) {
  std::filesystem::path dir = pin_dir;
  std::error_code ec;
  while (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    dir = dir.parent_path();
  }
  struct statfs fs = {};
  if (dir.empty() || statfs(dir.c_str(), &fs) != 0) {
    return ErrnoStatus(errno, absl::StrCat("statfs above ", pin_dir));
  }
  if (static_cast<uint64_t>(fs.f_type) == BPF_FS_MAGIC) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      pin_dir, " is not on a bpffs mount (", dir.string(),
      " is a filesystem of type 0x", absl::Hex(fs.f_type),
      "). Mount one: `mount -t bpf bpf /sys/fs/bpf`. A process started "
      "with `ip netns exec` sees a fresh /sys without it; start daemons in "
      "a namespace with `nsenter --net=/run/netns/NAME` instead."));
}

// Everything set before load: sizes, pins, configuration, and which
// programs load at all.
absl::Status Configure(yard_datapath* skel, const DatapathConfig& config,
                       const FeatureSet& features,
                       bool maglev_tables_mappable) {
  const std::pair<bpf_map*, uint32_t> sizes[] = {
      {skel->maps.yard_svc4, config.max_frontends},
      {skel->maps.yard_slots, config.max_slots},
      {skel->maps.yard_be4, config.max_backends},
      {skel->maps.yard_rnat4, config.max_frontends},
      {skel->maps.yard_ct4, config.max_ct_entries},
      {skel->maps.yard_svc_stats, config.max_frontends},
      {skel->maps.yard_lb_src4, config.max_source_ranges},
      {skel->maps.yard_maglev, config.max_maglev_tables},
      {skel->maps.yard_lc4, config.max_backends},
  };
  for (auto [map, size] : sizes) {
    if (int err = bpf_map__set_max_entries(map, size); err != 0) {
      return ErrnoStatus(err, absl::StrCat("size ", bpf_map__name(map)));
    }
  }
  // Only read where yard_maglev is made here, not adopted.
  bpf_map* maglev_template = bpf_map__inner_map(skel->maps.yard_maglev);
  if (maglev_template == nullptr) {
    return absl::InternalError("yard_maglev has no table template");
  }
  if (int err = bpf_map__set_map_flags(
          maglev_template, MaglevTableFlags(maglev_tables_mappable));
      err != 0) {
    return ErrnoStatus(err, "flags of yard_maglev's table template");
  }
  // yard_reasons has room for reasons to come; pins made when it had one
  // slot per reason keep their size (a newer reason is not counted
  // there), so an upgraded agent adopts them and their flows.
  if (!config.pin_dir.empty()) {
    absl::StatusOr<BpfMap> pinned =
        BpfMap::OpenPinnedIn(config.pin_dir, YARD_MAP_REASONS);
    absl::StatusOr<uint32_t> slots =
        pinned.ok() ? pinned->MaxEntries() : pinned.status();
    if (slots.ok() && *slots < YARD_REASON_SLOTS) {
      bpf_map__set_max_entries(skel->maps.yard_reasons, *slots);
    }
    // yard_features likewise, from when it had one entry per feature: a
    // newer feature is then not recorded in the pins (PublishFeatures).
    absl::StatusOr<BpfMap> features_pin =
        BpfMap::OpenPinnedIn(config.pin_dir, YARD_MAP_FEATURES);
    absl::StatusOr<uint32_t> feature_slots =
        features_pin.ok() ? features_pin->MaxEntries() : features_pin.status();
    if (feature_slots.ok() && *feature_slots < YARD_FEATURE_SLOTS) {
      bpf_map__set_max_entries(skel->maps.yard_features, *feature_slots);
    }
  }
  bpf_map* all_maps[] = {skel->maps.yard_svc4,     skel->maps.yard_slots,
                         skel->maps.yard_be4,      skel->maps.yard_rnat4,
                         skel->maps.yard_ct4,      skel->maps.yard_svc_stats,
                         skel->maps.yard_reasons,  skel->maps.yard_lb_src4,
                         skel->maps.yard_frag4,    skel->maps.yard_features,
                         skel->maps.yard_layout,   skel->maps.yard_maglev,
                         skel->maps.yard_lc4,      skel->maps.yard_affinity4,
                         skel->maps.yard_svc_addrs};
  if (!config.pin_dir.empty()) {
    for (bpf_map* map : all_maps) {
      std::string path = absl::StrCat(config.pin_dir, "/", bpf_map__name(map));
      if (int err = bpf_map__set_pin_path(map, path.c_str()); err != 0) {
        return ErrnoStatus(err, absl::StrCat("pin path ", path));
      }
    }
  }

  skel->rodata->yard_cfg.hairpin_addr =
      config.hairpin_addr_be != 0 ? config.hairpin_addr_be
                                  : htonl(YARD_DEFAULT_HAIRPIN_ADDR_HOST);
  skel->rodata->yard_cfg.udp_timeout_s = config.udp_timeout_s;
  skel->rodata->yard_cfg.tcp_idle_timeout_s = config.tcp_idle_timeout_s;
  skel->rodata->yard_cfg.tcp_close_timeout_s = config.tcp_close_timeout_s;
  skel->rodata->yard_cfg.snat_addr = config.snat_addr_be;
  skel->rodata->yard_cfg.snat_port_min = config.snat_port_min;
  skel->rodata->yard_cfg.snat_port_max = config.snat_port_max;
  skel->rodata->yard_cfg.local_redirect = config.local_redirect ? 1 : 0;
  skel->rodata->yard_cfg.coarse_clock =
      features.on(Feature::kCoarseClock) ? 1 : 0;
  skel->rodata->yard_cfg.stack_bypass =
      features.on(Feature::kStackBypass) ? 1 : 0;

  // A program that is off is not loaded: the kernel never sees it.
  const bool north_south = features.on(Feature::kNorthSouth);
  bpf_program__set_autoload(skel->progs.yard_from_outside,
                            north_south && features.on(Feature::kXdp));
  bpf_program__set_autoload(skel->progs.yard_outside_ingress, north_south);
  bpf_program__set_autoload(skel->progs.yard_to_outside, north_south);

  for (const std::string& entry : config.refuse_for_test) {
    // "PROGRAM@FEATURE": refused only while FEATURE is on, as a kernel
    // that lacks a helper only that feature uses.
    std::string name = entry;
    if (size_t at = entry.find('@'); at != std::string::npos) {
      name = entry.substr(0, at);
      std::optional<Feature> f = FeatureByName(entry.substr(at + 1));
      if (!f.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("refuse_for_test: no feature in ", entry));
      }
      if (!features.on(*f)) continue;
    }
    if (name == "yard_maglev.inner") {
      // A flag no kernel defines: the template's creation fails as on a
      // kernel without mappable arrays.
      const uint32_t unknown_flag = 1u << 30;
      bpf_map__set_map_flags(
          maglev_template, bpf_map__map_flags(maglev_template) | unknown_flag);
      continue;
    }
    bpf_program* prog =
        bpf_object__find_program_by_name(skel->obj, name.c_str());
    if (prog == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("refuse_for_test: no program ", name));
    }
    bpf_program__set_type(prog, BPF_PROG_TYPE_SOCKET_FILTER);
  }
  return absl::OkStatus();
}

// Pins of another layout are refused before libbpf meets them: its own
// check stops at the first map of another shape, and would let through a
// map whose shape is unchanged but whose meaning is not. Pins without the
// record (an older agent's) go on to that check, as before the record.
absl::Status CheckLayoutToAdopt(const std::string& pin_dir) {
  absl::StatusOr<std::optional<uint32_t>> pinned = ReadPinnedLayout(pin_dir);
  if (!pinned.ok()) return pinned.status();
  if (!pinned->has_value() || **pinned == kLayoutVersion) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the maps pinned in ", pin_dir, " were made by an agent of layout ",
      **pinned, "; this agent is layout ", kLayoutVersion,
      " and cannot adopt them. Either stop the agent, remove ", pin_dir,
      " and start this one (established flows are then forgotten), or run "
      "an agent of layout ",
      **pinned, "."));
}

// Whether yard_maglev's tables can be mapped and rewritten in place
// (feature maglev_mmap; turned off here with the reason when not), and,
// where a yard_maglev is pinned already, whether its template takes
// mappable tables: the agent must then make its tables so, whatever the
// feature's state.
absl::StatusOr<std::optional<bool>> DecideMaglevMmap(const std::string& pin_dir,
                                                     FeatureSet& features) {
  std::optional<bool> adopted_mappable;
  if (!pin_dir.empty()) {
    absl::StatusOr<BpfMap> pinned =
        BpfMap::OpenPinnedInIfPresent(pin_dir, YARD_MAP_MAGLEV);
    if (!pinned.ok()) return pinned.status();
    if (pinned->fd() >= 0) {
      absl::StatusOr<std::optional<std::string>> why =
          WhyAdoptedTablesNotMappable(*pinned);
      if (!why.ok()) return why.status();
      adopted_mappable = !why->has_value();
      if (why->has_value() && features.on(Feature::kMaglevMmap)) {
        features.Set(Feature::kMaglevMmap, YARD_FEATURE_OFF_REFUSED, **why);
      }
    }
  }
  if (!adopted_mappable.has_value() && features.on(Feature::kMaglevMmap)) {
    if (std::optional<std::string> why = WhyNoMappableTables()) {
      features.Set(Feature::kMaglevMmap, YARD_FEATURE_OFF_REFUSED, *why);
    }
  }
  return adopted_mappable;
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
    if (absl::Status s = CheckBpffs(config.pin_dir); !s.ok()) return s;
    if (absl::Status s = CheckLayoutToAdopt(config.pin_dir); !s.ok()) {
      return s;
    }
    std::error_code ec;
    std::filesystem::create_directories(config.pin_dir, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("create ", config.pin_dir, ": ", ec.message()));
    }
  }

  FeatureSet features;
  for (Feature f : config.features_off) {
    features.Set(f, YARD_FEATURE_OFF_FORCED, "turned off by configuration");
  }
  if (!features.on(Feature::kNorthSouth) && features.on(Feature::kXdp)) {
    features.Set(Feature::kXdp, YARD_FEATURE_OFF_FORCED, "needs north_south");
  }
  absl::StatusOr<std::optional<bool>> adopted_mappable =
      DecideMaglevMmap(config.pin_dir, features);
  if (!adopted_mappable.ok()) return adopted_mappable.status();
  // Each failed attempt turns one feature off, so this ends.
  for (int attempt = 0; attempt <= kFeatureCount; ++attempt) {
    yard_datapath* skel = yard_datapath__open();
    if (skel == nullptr) return ErrnoStatus(errno, "open yard_datapath");
    // An adopted yard_maglev fixed its tables' flags when it was made.
    const bool tables_mappable =
        adopted_mappable->value_or(features.on(Feature::kMaglevMmap));
    if (absl::Status s = Configure(skel, config, features, tables_mappable);
        !s.ok()) {
      yard_datapath__destroy(skel);
      return s;
    }
    std::string log;
    load_log = &log;
    int err = yard_datapath__load(skel);
    load_log = nullptr;
    if (err == 0) {
      DatapathMaps::Handles maps;
      maps.svc4 = BpfMap::Of(skel->maps.yard_svc4);
      maps.slots = BpfMap::Of(skel->maps.yard_slots);
      maps.be4 = BpfMap::Of(skel->maps.yard_be4);
      maps.rnat4 = BpfMap::Of(skel->maps.yard_rnat4);
      maps.ct4 = BpfMap::Of(skel->maps.yard_ct4);
      maps.svc_stats = BpfMap::Of(skel->maps.yard_svc_stats);
      maps.reasons = BpfMap::Of(skel->maps.yard_reasons);
      maps.lb_src4 = BpfMap::Of(skel->maps.yard_lb_src4);
      maps.maglev = BpfMap::Of(skel->maps.yard_maglev);
      maps.lc4 = BpfMap::Of(skel->maps.yard_lc4);
      maps.affinity4 = BpfMap::Of(skel->maps.yard_affinity4);
      maps.svc_addrs = BpfMap::Of(skel->maps.yard_svc_addrs);
      maps.maglev_tables_mappable = tables_mappable;
      maps.maglev_in_place = features.on(Feature::kMaglevMmap);
      auto dp = std::unique_ptr<Datapath>(
          new Datapath(config, skel, DatapathMaps(std::move(maps)), features));
      if (absl::Status s = dp->PublishFeatures(features); !s.ok()) return s;
      // Before anything is attached: adopted frontends (or pins of an agent
      // that had no yard_svc_addrs) must find their bits set.
      if (absl::Status s = dp->maps().SyncServiceAddresses(); !s.ok()) {
        return s;
      }
      // Recorded on every load: pins adopted from an agent older than the
      // record get it now.
      BpfMap layout = BpfMap::Of(skel->maps.yard_layout);
      if (absl::Status s = RecordLayout(layout); !s.ok()) return s;
      return dp;
    }
    yard_datapath__destroy(skel);
    LoadFailure failure = ExplainLoadFailure(log);
    if (!failure.map.empty()) {
      // libbpf reuses a pinned map only when type, key, value and size
      // match: a map of another layout is never silently used.
      return absl::FailedPreconditionError(absl::StrCat(
          "pinned map ", failure.map, " in ", config.pin_dir,
          " does not match this datapath (another size or layout: ",
          failure.reason,
          "). Start with the sizes it was made with, or remove the folder "
          "(established flows are then forgotten)."));
    }
    std::optional<Feature> off = FeatureToTurnOff(failure, features);
    if (!off.has_value()) {
      if (failure.program.empty()) {
        return ErrnoStatus(
            err, absl::StrCat("load yard_datapath: ", failure.reason));
      }
      // The reason is in the error; what led to it is in the log's tail.
      LOG(WARNING) << "libbpf, loading yard_datapath:\n"
                   << absl::string_view(log).substr(
                          log.size() > 4000 ? log.size() - 4000 : 0);
      return absl::FailedPreconditionError(
          absl::StrCat("the kernel refused program ", failure.program, ": ",
                       failure.reason));
    }
    LOG(WARNING) << "datapath: the kernel refused "
                 << (failure.program.empty()
                         ? absl::StrCat("map ", failure.map_not_created)
                         : failure.program)
                 << " (" << failure.reason << "); loading without "
                 << FeatureName(*off);
    features.Set(*off, YARD_FEATURE_OFF_REFUSED,
                 absl::StrCat("refused by the kernel: ", failure.reason));
    if (*off == Feature::kNorthSouth && features.on(Feature::kXdp)) {
      features.Set(Feature::kXdp, YARD_FEATURE_OFF_REFUSED,
                   "needs north_south");
    }
  }
  return absl::InternalError("load yard_datapath: out of fallbacks");
}

Datapath::Datapath(DatapathConfig config, yard_datapath* skel,
                   DatapathMaps maps, FeatureSet features)
    : config_(std::move(config)),
      skel_(skel),
      maps_(std::move(maps)),
      features_(std::move(features)) {}

Datapath::~Datapath() { yard_datapath__destroy(skel_); }

absl::Status Datapath::PublishFeatures(const FeatureSet& features) {
  BpfMap map = BpfMap::Of(skel_->maps.yard_features);
  // Adopted pins may have room for fewer features than this agent knows.
  const uint32_t slots = bpf_map__max_entries(skel_->maps.yard_features);
  for (Feature f : AllFeatures()) {
    if (static_cast<uint32_t>(f) >= slots) continue;
    if (absl::Status s =
            map.Update(static_cast<uint32_t>(f), features.Value(f));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

int Datapath::from_pod_fd() const {
  return bpf_program__fd(skel_->progs.yard_from_pod);
}

int Datapath::to_pod_fd() const {
  return bpf_program__fd(skel_->progs.yard_to_pod);
}

int Datapath::from_outside_fd() const {
  // -1 when XDP is off: the program was not loaded.
  return bpf_program__fd(skel_->progs.yard_from_outside);
}

int Datapath::outside_ingress_fd() const {
  return bpf_program__fd(skel_->progs.yard_outside_ingress);
}

absl::StatusOr<std::optional<XdpMode>> Datapath::AttachExternalDevice(
    int ifindex, std::string* xdp_error) {
  if (!features_.on(Feature::kNorthSouth)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "north-south is off (", features_.why(Feature::kNorthSouth), ")"));
  }
  // tc first: it serves the device alone when XDP is off, and finishes
  // what XDP leaves undone when it is on; replies of local endpoints are
  // reverse-translated on egress.
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
  if (!features_.on(Feature::kXdp)) {
    // An XDP program of an earlier agent would translate in front of tc
    // with that agent's configuration: take it away (only ours).
    DetachOurXdp(ifindex);
    return std::optional<XdpMode>();
  }
  // No XDP_FLAGS_UPDATE_IF_NOEXIST: an earlier Switchyard program (a
  // restarted agent's) is replaced in one step.
  int fd = from_outside_fd();
  int err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, nullptr);
  if (err == 0) return std::optional<XdpMode>(XdpMode::kNative);
  int native_err = err;
  err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_SKB_MODE, nullptr);
  if (err == 0) return std::optional<XdpMode>(XdpMode::kGeneric);
  if (xdp_error != nullptr) {
    *xdp_error = absl::StrCat("attach XDP: native: ", strerror(-native_err),
                              ", generic: ", strerror(-err));
  }
  return std::optional<XdpMode>();
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
  // Known as a pod's before its programs run, so the bypass may send
  // into it from the first packet on. Not fatal: an interface the map
  // cannot hold (full) is reached through the neighbour subsystem or the
  // stack instead, which is correct, only slower.
  BpfMap pod_ifs = BpfMap::Of(skel_->maps.yard_pod_ifs);
  if (absl::Status s =
          pod_ifs.Update(static_cast<uint32_t>(ifindex), uint8_t{1});
      !s.ok()) {
    LOG(WARNING) << "record pod interface " << ifindex << ": " << s;
  }
  if (absl::Status s = AttachTc(ifindex, TcDirection::kIngress, from_pod_fd());
      !s.ok()) {
    return s;
  }
  return AttachTc(ifindex, TcDirection::kEgress, to_pod_fd());
}

void Datapath::ForgetPodInterface(int ifindex) {
  // Gone with its interface: an index the kernel hands to another device
  // later must not be taken for a pod's. Absent is fine.
  BpfMap pod_ifs = BpfMap::Of(skel_->maps.yard_pod_ifs);
  if (absl::Status s = pod_ifs.DeleteIfPresent(static_cast<uint32_t>(ifindex));
      !s.ok()) {
    LOG(WARNING) << "forget pod interface " << ifindex << ": " << s;
  }
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
