// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/maglev_tables.h"

#include <bpf/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"

namespace switchyard::kernel {
namespace {

// An array map's values seen through mmap. The kernel lays values out at
// their size rounded up to 8 bytes, so entry i of a table of 4-byte ids
// starts at i * 8, and every entry is 4-byte aligned.
class MappedTable {
 public:
  static constexpr size_t kStride = 8;

  static absl::StatusOr<MappedTable> Map(int fd, uint32_t entries) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t length = (size_t{entries} * kStride + page - 1) / page * page;
    // Populated up front: one call instead of a fault per page.
    void* base = mmap(nullptr, length, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_POPULATE, fd, 0);
    if (base == MAP_FAILED) return ErrnoStatus(errno, "map a Maglev table");
    return MappedTable(base, length);
  }

  MappedTable(MappedTable&& other) noexcept
      : base_(std::exchange(other.base_, nullptr)), length_(other.length_) {}
  MappedTable& operator=(MappedTable&&) = delete;
  ~MappedTable() {
    if (base_ != nullptr) munmap(base_, length_);
  }

  uint32_t& entry(uint32_t i) const {
    return *reinterpret_cast<uint32_t*>(static_cast<char*>(base_) +
                                        size_t{i} * kStride);
  }

 private:
  MappedTable(void* base, size_t length) : base_(base), length_(length) {}
  void* base_;
  size_t length_;
};

absl::Status CheckTable(uint32_t svc_id, absl::Span<const uint32_t> table) {
  if (table.size() < 2 || table[0] != table.size() - 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "maglev table of set ", svc_id, ": entry 0 must hold the size"));
  }
  return absl::OkStatus();
}

ScopedFd CreateTable(uint32_t entries, bool mmapable) {
  DECLARE_LIBBPF_OPTS(bpf_map_create_opts, opts,
                      .map_flags = MaglevTableFlags(mmapable));
  return ScopedFd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "yard_mglv_tbl",
                                 sizeof(uint32_t), sizeof(uint32_t), entries,
                                 &opts));
}

absl::Status FillThroughSyscalls(int fd, uint32_t svc_id,
                                 absl::Span<const uint32_t> table) {
  std::vector<uint32_t> keys(table.size());
  for (uint32_t i = 0; i < keys.size(); ++i) keys[i] = i;
  uint32_t count = static_cast<uint32_t>(table.size());
  if (bpf_map_update_batch(fd, keys.data(), table.data(), &count, nullptr) ==
      0) {
    return absl::OkStatus();
  }
  // Kernels without batch updates of arrays: one entry at a time. The
  // array is nobody's yet, so the order does not matter.
  for (uint32_t i = 0; i < table.size(); ++i) {
    if (bpf_map_update_elem(fd, &i, &table[i], BPF_ANY) != 0) {
      return ErrnoStatus(errno,
                         absl::StrCat("fill maglev table of set ", svc_id));
    }
  }
  return absl::OkStatus();
}

// The table yard_maglev holds for svc_id, opened, with what the kernel
// says of it; nullopt when there is none. User space reads a map-in-map's
// value as the inner map's id; a table gone between that read and its
// opening (only a swap by another writer would do that) counts as none.
struct LiveTable {
  BpfMap map;
  BpfMapInfo info;
};
absl::StatusOr<std::optional<LiveTable>> OpenLiveTable(const BpfMap& maglev,
                                                       uint32_t svc_id) {
  absl::StatusOr<std::optional<uint32_t>> id = maglev.Lookup<uint32_t>(svc_id);
  if (!id.ok()) return id.status();
  if (!id->has_value()) return std::nullopt;
  absl::StatusOr<BpfMap> map = BpfMap::OpenById(**id);
  if (absl::IsNotFound(map.status())) return std::nullopt;
  if (!map.ok()) return map.status();
  absl::StatusOr<BpfMapInfo> info = map->Info();
  if (!info.ok()) return info.status();
  return LiveTable{*std::move(map), *std::move(info)};
}

// An id no backend set has: the programmer numbers sets below twice the
// frontend map's size, which is far below this.
constexpr uint32_t kProbeSetId = 0xffffffffu;

}  // namespace

uint32_t MaglevTableFlags(bool mmapable) {
  // BPF_F_INNER_MAP: each table may have its own size.
  const uint32_t mappable = mmapable ? uint32_t{BPF_F_MMAPABLE} : 0u;
  return uint32_t{BPF_F_INNER_MAP} | mappable;
}

absl::StatusOr<ScopedFd> NewMaglevTable(uint32_t svc_id,
                                        absl::Span<const uint32_t> table,
                                        bool mmapable) {
  if (absl::Status s = CheckTable(svc_id, table); !s.ok()) return s;
  const uint32_t entries = static_cast<uint32_t>(table.size());
  ScopedFd fd = CreateTable(entries, mmapable);
  if (!fd.valid()) {
    return ErrnoStatus(errno,
                       absl::StrCat("create maglev table of set ", svc_id, " (",
                                    table.size(), " entries)"));
  }
  if (!mmapable) {
    if (absl::Status s = FillThroughSyscalls(fd.get(), svc_id, table);
        !s.ok()) {
      return s;
    }
    return fd;
  }
  absl::StatusOr<MappedTable> mapped = MappedTable::Map(fd.get(), entries);
  if (!mapped.ok()) return mapped.status();
  for (uint32_t i = 0; i < entries; ++i) mapped->entry(i) = table[i];
  return fd;
}

absl::StatusOr<bool> RewriteMaglevTableInPlace(
    const BpfMap& maglev, uint32_t svc_id, absl::Span<const uint32_t> table) {
  if (absl::Status s = CheckTable(svc_id, table); !s.ok()) return s;
  absl::StatusOr<std::optional<LiveTable>> live = OpenLiveTable(maglev, svc_id);
  if (!live.ok()) return live.status();
  if (!live->has_value()) return false;
  const BpfMapInfo& info = (*live)->info;
  if ((info.map_flags & BPF_F_MMAPABLE) == 0 ||
      info.value_size != sizeof(uint32_t) || info.max_entries != table.size()) {
    return false;
  }
  absl::StatusOr<MappedTable> mapped =
      MappedTable::Map((*live)->map.fd(), info.max_entries);
  if (!mapped.ok()) return mapped.status();
  // Programs read while this writes: each store is one aligned 32-bit
  // word, which a reader sees whole, old or new. Unchanged entries are
  // not stored, so their cache lines stay clean.
  for (uint32_t i = 1; i < table.size(); ++i) {
    std::atomic_ref<uint32_t> entry(mapped->entry(i));
    if (entry.load(std::memory_order_relaxed) != table[i]) {
      entry.store(table[i], std::memory_order_relaxed);
    }
  }
  // The size is the table's own and so unchanged; stored if a table of
  // this size somehow lacks it.
  std::atomic_ref<uint32_t> size(mapped->entry(0));
  if (size.load(std::memory_order_relaxed) != table[0]) {
    size.store(table[0], std::memory_order_release);
  }
  return true;
}

std::optional<std::string> WhyNoMappableTables() {
  constexpr uint32_t kEntries = 3;
  ScopedFd fd = CreateTable(kEntries, /*mmapable=*/true);
  if (!fd.valid()) {
    return absl::StrCat("the kernel refused a mappable table: ",
                        std::strerror(errno));
  }
  absl::StatusOr<MappedTable> mapped = MappedTable::Map(fd.get(), kEntries);
  if (!mapped.ok()) {
    return absl::StrCat("the kernel refused to map a table: ",
                        mapped.status().message());
  }
  constexpr uint32_t kMark = 0x5eed1e55u;
  mapped->entry(kEntries - 1) = kMark;
  uint32_t key = kEntries - 1, value = 0;
  if (bpf_map_lookup_elem(fd.get(), &key, &value) != 0 || value != kMark) {
    return std::string("a store through a table's mapping did not reach it");
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<std::string>> WhyAdoptedTablesNotMappable(
    BpfMap& maglev) {
  constexpr absl::string_view kPlain =
      "the adopted yard_maglev takes only tables made without "
      "BPF_F_MMAPABLE (an earlier agent made it); restarting with an empty "
      "pin folder turns this on (established flows are then forgotten)";
  uint32_t key = 0;
  if (bpf_map_get_next_key(maglev.fd(), nullptr, &key) == 0) {
    absl::StatusOr<std::optional<LiveTable>> table = OpenLiveTable(maglev, key);
    if (!table.ok()) return table.status();
    if (table->has_value()) {
      if (((*table)->info.map_flags & BPF_F_MMAPABLE) != 0) {
        return std::nullopt;
      }
      return std::string(kPlain);
    }
  } else if (errno != ENOENT) {
    return ErrnoStatus(errno, "read the adopted yard_maglev's first id");
  }
  // Empty: only the kernel knows the template. One swap in and one out
  // (two grace periods), once, at the start of an agent that adopts it.
  if (std::optional<std::string> why = WhyNoMappableTables()) return why;
  const uint32_t probe[] = {1, 0};
  absl::StatusOr<ScopedFd> fd =
      NewMaglevTable(kProbeSetId, probe, /*mmapable=*/true);
  if (!fd.ok()) return fd.status();
  const uint32_t fd_value = static_cast<uint32_t>(fd->get());
  absl::Status put = maglev.Update(kProbeSetId, fd_value, BPF_NOEXIST);
  if (absl::IsInvalidArgument(put)) return std::string(kPlain);
  if (!put.ok()) return put;
  if (absl::Status s = maglev.Delete(kProbeSetId); !s.ok()) return s;
  return std::nullopt;
}

}  // namespace switchyard::kernel
