// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/map_usage.h"

#include <bpf/libbpf.h>

#include <functional>

#include "absl/strings/str_cat.h"
#include "control/kernel/abi.h"
#include "control/kernel/bpf_map.h"

namespace switchyard::kernel {
namespace {

// Counts the entries for which `used(value)` holds. Whole-map reads go in
// batches: a full yard_ct4 has a million keys, and one syscall per key
// would take seconds.
absl::StatusOr<uint64_t> Count(const BpfMap& map, const BpfMapInfo& info,
                               const std::function<bool(const void*)>& used) {
  uint64_t count = 0;
  absl::Status s = map.ForEachEntryRaw(
      info.key_size, info.value_size,
      [&](const void*, const void* value) { count += used(value) ? 1 : 0; });
  if (!s.ok()) return s;
  return count;
}

// Which values of an array are ids in use, as `yardctl bpf backends|revnat`
// list them: a backend whose state is EMPTY, a reverse-NAT entry of
// address and port 0, is an unused id.
std::function<bool(const void*)> ArrayEntryUsed(absl::string_view map) {
  if (map == YARD_MAP_BACKEND4) {
    return [](const void* v) {
      return static_cast<const yard_backend4*>(v)->state != YARD_BACKEND_EMPTY;
    };
  }
  return [](const void* v) {
    const auto* r = static_cast<const yard_rnat4*>(v);
    return r->addr != 0 || r->port != 0;
  };
}

}  // namespace

absl::StatusOr<std::vector<MapUsage>> ReadMapUsage(absl::string_view pin_dir) {
  std::vector<MapUsage> out;
  for (const char* name :
       {YARD_MAP_SVC4, YARD_MAP_SLOTS, YARD_MAP_BACKEND4, YARD_MAP_RNAT4,
        YARD_MAP_CT4, YARD_MAP_SVC_STATS, YARD_MAP_REASONS}) {
    absl::StatusOr<BpfMap> map =
        BpfMap::OpenPinned(absl::StrCat(pin_dir, "/", name));
    if (!map.ok()) return map.status();
    absl::StatusOr<BpfMapInfo> info = map->Info();
    if (!info.ok()) return info.status();
    MapUsage usage;
    usage.name = name;
    const char* type =
        libbpf_bpf_map_type_str(static_cast<bpf_map_type>(info->type));
    usage.type = type != nullptr ? type : absl::StrCat("type ", info->type);
    usage.id = info->id;
    usage.max_entries = info->max_entries;
    std::function<bool(const void*)> used;
    switch (info->type) {
      case BPF_MAP_TYPE_HASH:
      case BPF_MAP_TYPE_LRU_HASH:
        used = [](const void*) { return true; };
        break;
      case BPF_MAP_TYPE_ARRAY:
        used = ArrayEntryUsed(name);
        break;
      default:
        break;  // per-CPU counters: indexed, nothing to count
    }
    if (used) {
      absl::StatusOr<uint64_t> n = Count(*map, *info, used);
      if (!n.ok()) return n.status();
      usage.entries = *n;
    }
    out.push_back(std::move(usage));
  }
  return out;
}

}  // namespace switchyard::kernel
