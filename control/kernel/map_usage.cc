// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/map_usage.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <functional>

#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"
#include "control/common/scoped_fd.h"
#include "control/kernel/abi.h"

namespace switchyard::kernel {
namespace {

// Counts the entries of a map for which `used(value)` holds, reading in
// batches: a full yard_ct4 has a million keys, and one syscall per key
// would take seconds.
absl::StatusOr<uint64_t> CountBatched(
    int fd, const bpf_map_info& info,
    const std::function<bool(const uint8_t*)>& used) {
  // Hash batches stop at bucket boundaries; a bucket larger than the batch
  // is ENOSPC, so the batch is comfortably larger than any bucket.
  constexpr uint32_t kBatch = 4096;
  std::vector<uint8_t> keys(static_cast<size_t>(kBatch) * info.key_size);
  std::vector<uint8_t> values(static_cast<size_t>(kBatch) * info.value_size);
  // The batch cursor is opaque; hash maps use a 4-byte bucket index, arrays
  // a key. 8 bytes holds either.
  uint64_t in_batch = 0, out_batch = 0;
  bool first = true;
  uint64_t count = 0;
  for (;;) {
    uint32_t n = kBatch;
    int err = bpf_map_lookup_batch(fd, first ? nullptr : &in_batch, &out_batch,
                                   keys.data(), values.data(), &n, nullptr);
    first = false;
    if (err != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, absl::StrCat("batch read ", info.name));
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (used(values.data() + static_cast<size_t>(i) * info.value_size)) {
        ++count;
      }
    }
    if (err != 0) break;  // ENOENT: that was the last batch
    in_batch = out_batch;
  }
  return count;
}

}  // namespace

absl::StatusOr<std::vector<MapUsage>> ReadMapUsage(absl::string_view pin_dir) {
  std::vector<MapUsage> out;
  for (const char* name :
       {YARD_MAP_SVC4, YARD_MAP_SLOTS, YARD_MAP_BACKEND4, YARD_MAP_RNAT4,
        YARD_MAP_CT4, YARD_MAP_SVC_STATS, YARD_MAP_REASONS}) {
    std::string path = absl::StrCat(pin_dir, "/", name);
    ScopedFd fd(bpf_obj_get(path.c_str()));
    if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("open ", path));
    bpf_map_info info = {};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) {
      return ErrnoStatus(errno, absl::StrCat("map info of ", path));
    }
    MapUsage usage;
    usage.name = name;
    const char* type =
        libbpf_bpf_map_type_str(static_cast<bpf_map_type>(info.type));
    usage.type = type != nullptr ? type : absl::StrCat("type ", info.type);
    usage.id = info.id;
    usage.max_entries = info.max_entries;
    switch (info.type) {
      case BPF_MAP_TYPE_HASH:
      case BPF_MAP_TYPE_LRU_HASH: {
        absl::StatusOr<uint64_t> n =
            CountBatched(fd.get(), info, [](const uint8_t*) { return true; });
        if (!n.ok()) return n.status();
        usage.entries = *n;
        break;
      }
      case BPF_MAP_TYPE_ARRAY: {
        // Counted as `yardctl bpf backends|revnat` list them: a backend
        // whose state is EMPTY, a reverse-NAT entry of address and port 0,
        // is an unused id.
        std::function<bool(const uint8_t*)> used;
        if (usage.name == YARD_MAP_BACKEND4) {
          used = [](const uint8_t* v) {
            return reinterpret_cast<const yard_backend4*>(v)->state !=
                   YARD_BACKEND_EMPTY;
          };
        } else {
          used = [](const uint8_t* v) {
            const auto* r = reinterpret_cast<const yard_rnat4*>(v);
            return r->addr != 0 || r->port != 0;
          };
        }
        absl::StatusOr<uint64_t> n = CountBatched(fd.get(), info, used);
        if (!n.ok()) return n.status();
        usage.entries = *n;
        break;
      }
      default:
        break;  // per-CPU counters: indexed, nothing to count
    }
    out.push_back(std::move(usage));
  }
  return out;
}

}  // namespace switchyard::kernel
