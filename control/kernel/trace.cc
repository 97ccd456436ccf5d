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
#include "control/common/scoped_fd.h"
#include "control/kernel/datapath.h"
#include "control/kernel/datapath_maps.h"
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

struct LiveMaps {
  ScopedFd svc4, slots, be4, rnat4, ct4, svc_stats;
};

absl::StatusOr<LiveMaps> OpenLive(absl::string_view pin_dir) {
  LiveMaps live;
  for (auto [name, fd] : {std::pair{YARD_MAP_SVC4, &live.svc4},
                          {YARD_MAP_SLOTS, &live.slots},
                          {YARD_MAP_BACKEND4, &live.be4},
                          {YARD_MAP_RNAT4, &live.rnat4},
                          {YARD_MAP_CT4, &live.ct4},
                          {YARD_MAP_SVC_STATS, &live.svc_stats}}) {
    std::string path = absl::StrCat(pin_dir, "/", name);
    *fd = ScopedFd(bpf_obj_get(path.c_str()));
    if (!fd->valid()) {
      return ErrnoStatus(errno, absl::StrCat("open pinned ", path));
    }
  }
  return live;
}

template <typename V, typename K>
absl::StatusOr<std::optional<V>> Lookup(int fd, const K& key,
                                        absl::string_view map) {
  V value;
  if (bpf_map_lookup_elem(fd, &key, &value) != 0) {
    if (errno == ENOENT) return std::nullopt;
    return ErrnoStatus(errno, absl::StrCat("lookup in ", map));
  }
  return value;
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

bool SameCt(const yard_ct4_value& a, const yard_ct4_value& b) {
  return std::memcmp(&a, &b, sizeof(a)) == 0;
}

absl::StatusOr<uint32_t> MaxEntries(int fd) {
  bpf_map_info info = {};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
    return ErrnoStatus(errno, "map info");
  }
  return info.max_entries;
}

absl::StatusOr<uint32_t> ProgramId(int prog_fd) {
  bpf_prog_info info = {};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) {
    return ErrnoStatus(errno, "program info");
  }
  return info.id;
}

// The reason the private counters moved under, if any. One packet moves
// at most one.
absl::StatusOr<std::optional<yard_reason>> CountedReason(int fd) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return ErrnoStatus(cpus, "count possible CPUs");
  std::vector<yard_counter> per_cpu(cpus);
  for (uint32_t reason = 0; reason < YARD_REASON_MAX; ++reason) {
    if (bpf_map_lookup_elem(fd, &reason, per_cpu.data()) != 0) {
      return ErrnoStatus(errno, "read private yard_reasons");
    }
    for (const yard_counter& c : per_cpu) {
      if (c.packets != 0) return static_cast<yard_reason>(reason);
    }
  }
  return std::nullopt;
}

// Every entry of the private connection table (a handful).
absl::StatusOr<std::vector<std::pair<yard_ct4_key, yard_ct4_value>>> DumpCt(
    int fd) {
  std::vector<std::pair<yard_ct4_key, yard_ct4_value>> out;
  yard_ct4_key key, next;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    yard_ct4_value value;
    if (bpf_map_lookup_elem(fd, &next, &value) != 0) {
      return ErrnoStatus(errno, "read private yard_ct4");
    }
    out.emplace_back(next, value);
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) return ErrnoStatus(errno, "iterate private yard_ct4");
  return out;
}

}  // namespace

absl::StatusOr<TraceResult> RunTrace(absl::string_view pin_dir,
                                     const TraceRequest& request) {
  const packet::FlowTuple& tuple = request.tuple;
  if (tuple.proto != IPPROTO_TCP && tuple.proto != IPPROTO_UDP) {
    return absl::InvalidArgumentError("a trace sends TCP or UDP");
  }
  RouteLibbpfLogs();
  absl::StatusOr<LiveMaps> live = OpenLive(pin_dir);
  if (!live.ok()) return live.status();

  TraceResult result;
  result.request = request;
  const bool from_pod = request.hook == packet::TraceHook::kFromPod;
  result.program_name = std::string(from_pod ? kFromPodProgram : kToPodProgram);

  // The loaded programs give the config; both programs of one object share
  // their .rodata, so either will do when the hook's own is missing.
  absl::StatusOr<std::vector<ProgramInfo>> loaded = FindNodePrograms(pin_dir);
  if (!loaded.ok()) return loaded.status();
  std::optional<std::vector<uint8_t>> rodata;
  for (const ProgramInfo& program : *loaded) {
    if (program.name == result.program_name && !result.loaded) {
      result.loaded = program;
    }
  }
  for (const ProgramInfo* program :
       {result.loaded ? &*result.loaded : nullptr,
        loaded->empty() ? nullptr : &loaded->front()}) {
    if (program == nullptr || rodata) continue;
    absl::StatusOr<std::optional<std::vector<uint8_t>>> data =
        ReadProgramRodata(*program);
    if (!data.ok()) return data.status();
    rodata = *std::move(data);
  }

  // What the packet will meet in the live maps.
  yard_svc4_key svc_key =
      ServiceKey(tuple.daddr_be, tuple.dport_be, tuple.proto);
  absl::StatusOr<std::optional<yard_svc_value>> svc =
      Lookup<yard_svc_value>(live->svc4.get(), svc_key, YARD_MAP_SVC4);
  if (!svc.ok()) return svc.status();
  result.service = *svc;
  absl::StatusOr<std::optional<yard_svc_value>> wildcard =
      Lookup<yard_svc_value>(live->svc4.get(), WildcardKey(tuple.daddr_be),
                             YARD_MAP_SVC4);
  if (!wildcard.ok()) return wildcard.status();
  result.service_address = wildcard->has_value();
  const yard_ct4_key fwd_key = TupleKey(tuple, YARD_CT_FORWARD);
  const yard_ct4_key rep_key = TupleKey(tuple, YARD_CT_REPLY);
  for (auto [key, out] : {std::pair{&fwd_key, &result.forward_before},
                          {&rep_key, &result.reply_before}}) {
    absl::StatusOr<std::optional<yard_ct4_value>> ct =
        Lookup<yard_ct4_value>(live->ct4.get(), *key, YARD_MAP_CT4);
    if (!ct.ok()) return ct.status();
    *out = *ct;
  }

  // The copy: live read-only maps, private written ones, loaded config.
  Skel skel(yard_datapath__open());
  if (!skel) return ErrnoStatus(errno, "open yard_datapath");
  for (auto [map, fd] : {std::pair{skel->maps.yard_svc4, live->svc4.get()},
                         {skel->maps.yard_slots, live->slots.get()},
                         {skel->maps.yard_be4, live->be4.get()},
                         {skel->maps.yard_rnat4, live->rnat4.get()}}) {
    if (int err = bpf_map__reuse_fd(map, fd); err != 0) {
      return ErrnoStatus(err, absl::StrCat("reuse ", bpf_map__name(map)));
    }
  }
  absl::StatusOr<uint32_t> stats_size = MaxEntries(live->svc_stats.get());
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
  // Same size as the live one, so every rev-NAT id the node uses counts.
  if (int err =
          bpf_map__set_max_entries(skel->maps.yard_svc_stats, *stats_size);
      err != 0) {
    return ErrnoStatus(err, "size the private yard_svc_stats");
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

  const int ct_fd = bpf_map__fd(skel->maps.yard_ct4);
  for (auto [key, value] : {std::pair{&fwd_key, &result.forward_before},
                            {&rep_key, &result.reply_before}}) {
    if (value->has_value() &&
        bpf_map_update_elem(ct_fd, key, &**value, BPF_NOEXIST) != 0) {
      return ErrnoStatus(errno, "copy the tuple's flow into the trace");
    }
  }

  const int prog_fd = bpf_program__fd(from_pod ? skel->progs.yard_from_pod
                                               : skel->progs.yard_to_pod);
  absl::StatusOr<uint32_t> prog_id = ProgramId(prog_fd);
  if (!prog_id.ok()) return prog_id.status();
  absl::StatusOr<ProgramInfo> copy = ReadProgramInfo(*prog_id);
  if (!copy.ok()) return copy.status();
  result.program_tag = copy->tag;

  result.input = packet::BuildTraceFrame(tuple, request.hook);
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

  absl::StatusOr<std::optional<yard_reason>> reason =
      CountedReason(bpf_map__fd(skel->maps.yard_reasons));
  if (!reason.ok()) return reason.status();
  result.reason = *reason;

  absl::StatusOr<std::vector<std::pair<yard_ct4_key, yard_ct4_value>>> after =
      DumpCt(ct_fd);
  if (!after.ok()) return after.status();
  for (const auto& [key, value] : *after) {
    const std::optional<yard_ct4_value>* before = nullptr;
    if (std::memcmp(&key, &fwd_key, sizeof(key)) == 0) {
      before = &result.forward_before;
    } else if (std::memcmp(&key, &rep_key, sizeof(key)) == 0) {
      before = &result.reply_before;
    }
    if (before == nullptr || !before->has_value() || !SameCt(**before, value)) {
      result.ct_written.emplace_back(key, value);
    }
    // The entry that decided: the forward one of the tuple, or for a
    // packet towards a pod (or a hairpinned answer) the reply one.
    bool is_fwd = std::memcmp(&key, &fwd_key, sizeof(key)) == 0;
    bool is_rep = std::memcmp(&key, &rep_key, sizeof(key)) == 0;
    if (is_fwd || (is_rep && !result.flow_key)) {
      result.flow_key = key;
      result.flow = value;
    }
  }
  if (result.flow) {
    absl::StatusOr<std::optional<yard_backend4>> be = Lookup<yard_backend4>(
        live->be4.get(), result.flow->backend_id, YARD_MAP_BACKEND4);
    if (!be.ok()) return be.status();
    result.backend = *be;
    absl::StatusOr<std::optional<yard_rnat4>> rnat = Lookup<yard_rnat4>(
        live->rnat4.get(), result.flow->rev_nat_id, YARD_MAP_RNAT4);
    if (!rnat.ok()) return rnat.status();
    result.rev_nat = *rnat;
    if (result.service) {
      for (uint32_t slot = 1; slot <= result.service->count; ++slot) {
        yard_slot_key key = {result.service->svc_id, slot};
        absl::StatusOr<std::optional<yard_slot_value>> v =
            Lookup<yard_slot_value>(live->slots.get(), key, YARD_MAP_SLOTS);
        if (!v.ok()) return v.status();
        if (v->has_value() && (*v)->backend_id == result.flow->backend_id) {
          result.slot = slot;
          break;
        }
      }
    }
  }
  return result;
}

}  // namespace switchyard::kernel
