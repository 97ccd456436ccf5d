// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/trace.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"
#include "control/kernel/bpf_map.h"
#include "control/kernel/datapath.h"
#include "control/kernel/datapath_maps.h"
#include "control/kernel/pinned_layout.h"
#include "yard_datapath.skel.h"

namespace switchyard::kernel {
namespace {

// ConfigFromRodata reads .rodata as one struct yard_config.
static_assert(sizeof(yard_datapath::yard_datapath__rodata) ==
              sizeof(yard_config));

// Plenty for the tuple's two entries plus the two a new flow writes; a
// plain hash rather than the live LRU so nothing copied in is evicted.
constexpr uint32_t kPrivateCtEntries = 64;

// Room for a reject answer, which quotes the request behind new headers.
constexpr size_t kOutputSlack = 256;

struct SkelDeleter {
  void operator()(yard_datapath* skel) const { yard_datapath__destroy(skel); }
};
using Skel = std::unique_ptr<yard_datapath, SkelDeleter>;

// The node's maps the trace reads, or lends to its copy of the programs.
struct LiveMaps {
  BpfMap svc4, slots, be4, rnat4, ct4, svc_stats, maglev, lc4, affinity4;
  BpfMap svc_addrs;  // no map under pins of agents that had none
};

// The tuple's two connection-tracking keys: what the program looks up.
struct TupleKeys {
  yard_ct4_key forward;
  yard_ct4_key reply;
};

absl::StatusOr<LiveMaps> OpenLive(absl::string_view pin_dir) {
  LiveMaps live;
  for (auto [name, map] : {std::pair{YARD_MAP_SVC4, &live.svc4},
                           {YARD_MAP_SLOTS, &live.slots},
                           {YARD_MAP_BACKEND4, &live.be4},
                           {YARD_MAP_RNAT4, &live.rnat4},
                           {YARD_MAP_CT4, &live.ct4},
                           {YARD_MAP_SVC_STATS, &live.svc_stats},
                           {YARD_MAP_MAGLEV, &live.maglev},
                           {YARD_MAP_LC4, &live.lc4},
                           {YARD_MAP_AFFINITY4, &live.affinity4}}) {
    absl::StatusOr<BpfMap> opened = BpfMap::OpenPinnedIn(pin_dir, name);
    if (!opened.ok()) return opened.status();
    *map = *std::move(opened);
  }
  absl::StatusOr<BpfMap> addrs =
      BpfMap::OpenPinnedInIfPresent(pin_dir, YARD_MAP_SVC_ADDRS);
  if (!addrs.ok()) return addrs.status();
  live.svc_addrs = *std::move(addrs);
  return live;
}

yard_ct4_key TupleKey(const packet::FlowTuple& t, yard_ct_dir dir) {
  yard_ct4_key key = {};
  key.saddr = t.saddr_be;
  key.daddr = t.daddr_be;
  key.sport = t.sport_be;
  key.dport = t.dport_be;
  key.proto = t.proto;
  key.dir = static_cast<uint8_t>(dir);
  return key;
}

template <typename T>
bool SameBytes(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

absl::StatusOr<uint32_t> ProgramId(int prog_fd) {
  bpf_prog_info info = {};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) {
    return ErrnoStatus(errno, "program info");
  }
  return info.id;
}

// The node's loaded program for the request's hook goes in
// result.loaded; returns the .rodata the node's programs were given. Both
// programs of one object share it, so either will do when the hook's own
// is missing.
absl::StatusOr<std::optional<std::vector<uint8_t>>> FindLoadedRodata(
    absl::string_view pin_dir, TraceResult& result) {
  absl::StatusOr<std::vector<ProgramInfo>> loaded = FindNodePrograms(pin_dir);
  if (!loaded.ok()) return loaded.status();
  for (const ProgramInfo& program : *loaded) {
    if (program.name == result.program_name) {
      result.loaded = program;  // the newest: they come newest first
      break;
    }
  }
  for (const ProgramInfo* source :
       {result.loaded ? &*result.loaded : nullptr,
        loaded->empty() ? nullptr : &loaded->front()}) {
    if (source == nullptr) continue;
    absl::StatusOr<std::optional<std::vector<uint8_t>>> rodata =
        ReadProgramRodata(*source);
    if (!rodata.ok() || rodata->has_value()) return rodata;
  }
  return std::nullopt;
}

// What the packet will meet in the live maps: its frontend, whether its
// destination is a service address, and the tuple's entries.
absl::Status ReadLiveState(const LiveMaps& live, const packet::FlowTuple& tuple,
                           const TupleKeys& keys, TraceResult& result) {
  absl::StatusOr<std::optional<yard_svc_value>> svc =
      live.svc4.Lookup<yard_svc_value>(
          ServiceKey(tuple.daddr_be, tuple.dport_be, tuple.proto));
  if (!svc.ok()) return svc.status();
  result.service = *svc;
  absl::StatusOr<std::optional<yard_svc_value>> wildcard =
      live.svc4.Lookup<yard_svc_value>(WildcardKey(tuple.daddr_be));
  if (!wildcard.ok()) return wildcard.status();
  result.service_address = wildcard->has_value();
  for (auto [key, out] : {std::pair{&keys.forward, &result.forward_before},
                          {&keys.reply, &result.reply_before}}) {
    absl::StatusOr<std::optional<yard_ct4_value>> ct =
        live.ct4.Lookup<yard_ct4_value>(*key);
    if (!ct.ok()) return ct.status();
    *out = *ct;
  }
  return absl::OkStatus();
}

// The copy: the live read-only maps, private written ones, the loaded
// config (or this build's defaults), loaded but attached nowhere.
absl::StatusOr<Skel> LoadCopy(const LiveMaps& live,
                              const std::optional<std::vector<uint8_t>>& rodata,
                              TraceResult& result) {
  Skel skel(yard_datapath__open());
  if (!skel) return ErrnoStatus(errno, "open yard_datapath");
  for (auto [map, fd] : {std::pair{skel->maps.yard_svc4, live.svc4.fd()},
                         {skel->maps.yard_slots, live.slots.fd()},
                         {skel->maps.yard_be4, live.be4.fd()},
                         {skel->maps.yard_rnat4, live.rnat4.fd()},
                         {skel->maps.yard_maglev, live.maglev.fd()}}) {
    if (int err = bpf_map__reuse_fd(map, fd); err != 0) {
      return ErrnoStatus(err, absl::StrCat("reuse ", bpf_map__name(map)));
    }
  }
  // The node's own, else a private one with every bit set: "maybe a
  // service" everywhere gives the verdicts the node's programs give.
  const bool own_addrs = live.svc_addrs.fd() >= 0;
  if (own_addrs) {
    if (int err =
            bpf_map__reuse_fd(skel->maps.yard_svc_addrs, live.svc_addrs.fd());
        err != 0) {
      return ErrnoStatus(err, "reuse yard_svc_addrs");
    }
  }
  absl::StatusOr<uint32_t> stats_size = live.svc_stats.MaxEntries();
  if (!stats_size.ok()) return stats_size.status();
  if (int err = bpf_map__set_type(skel->maps.yard_ct4, BPF_MAP_TYPE_HASH);
      err != 0) {
    return ErrnoStatus(err, "make the private yard_ct4 a hash");
  }
  if (int err =
          bpf_map__set_max_entries(skel->maps.yard_ct4, kPrivateCtEntries);
      err != 0) {
    return ErrnoStatus(err, "size the private yard_ct4");
  }
  // Holds at most the client's entry the trace seeds.
  if (int err = bpf_map__set_max_entries(skel->maps.yard_affinity4,
                                         kPrivateCtEntries);
      err != 0) {
    return ErrnoStatus(err, "size the private yard_affinity4");
  }
  // Same size as the live one, so every rev-NAT id the node uses counts.
  if (int err =
          bpf_map__set_max_entries(skel->maps.yard_svc_stats, *stats_size);
      err != 0) {
    return ErrnoStatus(err, "size the private yard_svc_stats");
  }
  absl::StatusOr<uint32_t> lc_size = live.lc4.MaxEntries();
  if (!lc_size.ok()) return lc_size.status();
  if (int err = bpf_map__set_max_entries(skel->maps.yard_lc4, *lc_size);
      err != 0) {
    return ErrnoStatus(err, "size the private yard_lc4");
  }
  if (rodata && rodata->size() == sizeof(*skel->rodata)) {
    std::memcpy(skel->rodata, rodata->data(), rodata->size());
    result.config_from_loaded = true;
  } else {
    // What Datapath::Load gives a node started with default flags.
    skel->rodata->yard_cfg.hairpin_addr = htonl(YARD_DEFAULT_HAIRPIN_ADDR_HOST);
    skel->rodata->yard_cfg.udp_timeout_s = YARD_DEFAULT_UDP_TIMEOUT_S;
  }
  result.config = skel->rodata->yard_cfg;
  if (int err = yard_datapath__load(skel.get()); err != 0) {
    return ErrnoStatus(err, "load a copy of yard_datapath for the trace");
  }
  if (!own_addrs) {
    BpfMap addrs = BpfMap::Of(skel->maps.yard_svc_addrs);
    for (uint32_t w = 0; w < YARD_SVC_ADDR_WORDS; ++w) {
      if (absl::Status s = addrs.Update(w, ~uint64_t{0}); !s.ok()) return s;
    }
  }
  return skel;
}

// The private yard_ct4 starts with the tuple's live entries, so the copy
// continues the node's flow rather than starting a new one.
absl::Status SeedPrivateCt(BpfMap& private_ct, const TupleKeys& keys,
                           const TraceResult& result) {
  for (auto [key, value] : {std::pair{&keys.forward, &result.forward_before},
                            {&keys.reply, &result.reply_before}}) {
    if (!value->has_value()) continue;
    if (absl::Status s = private_ct.Update(*key, **value, BPF_NOEXIST);
        !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("copy the tuple's flow into "
                                                 "the trace: ",
                                                 s.message()));
    }
  }
  return absl::OkStatus();
}

// The private yard_lc4 starts with the live least-connection counts, so
// the copy chooses as the node would (and a count it takes stays its own).
absl::Status SeedPrivateLeastConn(const BpfMap& live_lc, BpfMap& private_lc) {
  absl::StatusOr<std::vector<std::pair<uint32_t, yard_lc_count>>> all =
      live_lc.Entries<uint32_t, yard_lc_count>();
  if (!all.ok()) return all.status();
  for (const auto& [id, count] : *all) {
    if (count.word == 0) continue;
    if (absl::Status s = private_lc.Update(id, count); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// A service with session affinity chooses by the client's live entry: the
// copy starts with it (in its private yard_affinity4), so the trace
// chooses as the node would, and the node's entry is left as it was.
absl::Status SeedPrivateAffinity(const LiveMaps& live, BpfMap& private_aff,
                                 const packet::FlowTuple& tuple,
                                 const TraceResult& result) {
  if (!result.service || !(result.service->flags & YARD_SVC_F_AFFINITY)) {
    return absl::OkStatus();
  }
  const yard_aff4_key key = {result.service->svc_id, tuple.saddr_be};
  absl::StatusOr<std::optional<yard_aff4_value>> entry =
      live.affinity4.Lookup<yard_aff4_value>(key);
  if (!entry.ok()) return entry.status();
  if (!entry->has_value()) return absl::OkStatus();
  return private_aff.Update(key, **entry);
}

// Runs the request's frame once through the copy's program for its hook.
absl::Status RunFrame(const yard_datapath& skel, TraceResult& result) {
  const int prog_fd =
      bpf_program__fd(result.request.hook == packet::TraceHook::kFromPod
                          ? skel.progs.yard_from_pod
                          : skel.progs.yard_to_pod);
  absl::StatusOr<uint32_t> prog_id = ProgramId(prog_fd);
  if (!prog_id.ok()) return prog_id.status();
  absl::StatusOr<ProgramInfo> copy = ReadProgramInfo(*prog_id);
  if (!copy.ok()) return copy.status();
  result.program_tag = copy->tag;

  result.input =
      packet::BuildTraceFrame(result.request.tuple, result.request.hook);
  result.output.resize(result.input.size() + kOutputSlack);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = result.input.data(),
              .data_out = result.output.data(),
              .data_size_in = static_cast<uint32_t>(result.input.size()),
              .data_size_out = static_cast<uint32_t>(result.output.size()),
              .repeat = 1);
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
    return ErrnoStatus(errno, "BPF_PROG_TEST_RUN");
  }
  result.output.resize(opts.data_size_out);
  result.verdict = static_cast<int>(opts.retval);
  return absl::OkStatus();
}

// The reason the private counters moved under, if any. One packet moves
// at most one.
absl::StatusOr<std::optional<yard_reason>> CountedReason(
    const BpfMap& reasons) {
  for (uint32_t reason = 0; reason < YARD_REASON_MAX; ++reason) {
    absl::StatusOr<std::vector<yard_counter>> per_cpu =
        reasons.LookupPerCpu<yard_counter>(reason);
    if (!per_cpu.ok()) return per_cpu.status();
    for (const yard_counter& c : *per_cpu) {
      if (c.packets != 0) return static_cast<yard_reason>(reason);
    }
  }
  return std::nullopt;
}

// What the packet left in the private yard_ct4: the entries it wrote or
// changed, and the one that decided its translation.
absl::Status ReadPrivateCt(const BpfMap& private_ct, const TupleKeys& keys,
                           TraceResult& result) {
  absl::StatusOr<std::vector<std::pair<yard_ct4_key, yard_ct4_value>>> after =
      private_ct.Entries<yard_ct4_key, yard_ct4_value>();
  if (!after.ok()) return after.status();
  for (const auto& [key, value] : *after) {
    const bool is_fwd = SameBytes(key, keys.forward);
    const bool is_rep = SameBytes(key, keys.reply);
    const std::optional<yard_ct4_value>* before =
        is_fwd ? &result.forward_before
               : (is_rep ? &result.reply_before : nullptr);
    if (before == nullptr || !before->has_value() ||
        !SameBytes(**before, value)) {
      result.ct_written.emplace_back(key, value);
    }
    // The entry that decided: the forward one of the tuple, or for a
    // packet towards a pod (or a hairpinned answer) the reply one.
    if (is_fwd || (is_rep && !result.flow_key)) {
      result.flow_key = key;
      result.flow = value;
    }
  }
  return absl::OkStatus();
}

// What the deciding entry names in the live maps: its backend, the slot
// that backend holds in the service's set, and the frontend replies
// restore.
absl::Status ResolveFlow(const LiveMaps& live, TraceResult& result) {
  if (!result.flow) return absl::OkStatus();
  absl::StatusOr<std::optional<yard_backend4>> be =
      live.be4.Lookup<yard_backend4>(result.flow->backend_id);
  if (!be.ok()) return be.status();
  result.backend = *be;
  absl::StatusOr<std::optional<yard_rnat4>> rnat =
      live.rnat4.Lookup<yard_rnat4>(result.flow->rev_nat_id);
  if (!rnat.ok()) return rnat.status();
  result.rev_nat = *rnat;
  if (!result.service) return absl::OkStatus();
  for (uint32_t slot = 1; slot <= result.service->count; ++slot) {
    absl::StatusOr<std::optional<yard_slot_value>> v =
        live.slots.Lookup<yard_slot_value>(
            yard_slot_key{result.service->svc_id, slot});
    if (!v.ok()) return v.status();
    if (v->has_value() && (*v)->backend_id == result.flow->backend_id) {
      result.slot = slot;
      break;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TraceResult> RunTrace(absl::string_view pin_dir,
                                     const TraceRequest& request) {
  const packet::FlowTuple& tuple = request.tuple;
  if (tuple.proto != IPPROTO_TCP && tuple.proto != IPPROTO_UDP) {
    return absl::InvalidArgumentError("a trace sends TCP or UDP");
  }
  RouteLibbpfLogs();
  // The copy is this build's programs: over pins of another layout they
  // would misread the node's maps.
  if (absl::Status s = CheckLayoutToRead(pin_dir); !s.ok()) return s;
  absl::StatusOr<LiveMaps> live = OpenLive(pin_dir);
  if (!live.ok()) return live.status();

  TraceResult result;
  result.request = request;
  result.program_name =
      std::string(request.hook == packet::TraceHook::kFromPod ? kFromPodProgram
                                                              : kToPodProgram);
  absl::StatusOr<std::optional<std::vector<uint8_t>>> rodata =
      FindLoadedRodata(pin_dir, result);
  if (!rodata.ok()) return rodata.status();

  const TupleKeys keys = {TupleKey(tuple, YARD_CT_FORWARD),
                          TupleKey(tuple, YARD_CT_REPLY)};
  if (absl::Status s = ReadLiveState(*live, tuple, keys, result); !s.ok()) {
    return s;
  }
  absl::StatusOr<Skel> skel = LoadCopy(*live, *rodata, result);
  if (!skel.ok()) return skel.status();
  BpfMap private_ct = BpfMap::Of((*skel)->maps.yard_ct4, "private yard_ct4");
  if (absl::Status s = SeedPrivateCt(private_ct, keys, result); !s.ok()) {
    return s;
  }
  BpfMap private_lc = BpfMap::Of((*skel)->maps.yard_lc4, "private yard_lc4");
  if (absl::Status s = SeedPrivateLeastConn(live->lc4, private_lc); !s.ok()) {
    return s;
  }
  BpfMap private_aff =
      BpfMap::Of((*skel)->maps.yard_affinity4, "private yard_affinity4");
  if (absl::Status s = SeedPrivateAffinity(*live, private_aff, tuple, result);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = RunFrame(**skel, result); !s.ok()) return s;

  absl::StatusOr<std::optional<yard_reason>> reason = CountedReason(
      BpfMap::Of((*skel)->maps.yard_reasons, "private yard_reasons"));
  if (!reason.ok()) return reason.status();
  result.reason = *reason;
  if (absl::Status s = ReadPrivateCt(private_ct, keys, result); !s.ok()) {
    return s;
  }
  if (absl::Status s = ResolveFlow(*live, result); !s.ok()) return s;
  return result;
}

}  // namespace switchyard::kernel
