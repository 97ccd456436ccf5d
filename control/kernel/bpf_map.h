// SPDX-License-Identifier: Apache-2.0
// One BPF map, typed at each call: the libbpf calls that every reader and
// writer of the datapath's maps shares (open a pin, look up telling
// "absent" from failure, update, delete, read every entry in batches,
// per-CPU values), each error naming the map. The typed calls only check
// sizes at compile time; the map's own key and value sizes are the
// caller's contract (abi.h, and the layout version of the pins).
#ifndef SWITCHYARD_CONTROL_KERNEL_BPF_MAP_H_
#define SWITCHYARD_CONTROL_KERNEL_BPF_MAP_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/common/scoped_fd.h"

struct bpf_map;  // libbpf's handle of a skeleton's map

namespace switchyard::kernel {

// What the kernel says about a map (a subset of struct bpf_map_info).
struct BpfMapInfo {
  uint32_t id = 0;
  uint32_t type = 0;  // enum bpf_map_type
  uint32_t key_size = 0;
  uint32_t value_size = 0;  // per CPU, for per-CPU maps
  uint32_t max_entries = 0;
  uint32_t map_flags = 0;  // BPF_F_*
  std::string name;        // the kernel's (at most 15 characters)
};

class BpfMap {
 public:
  // Opens the map pinned at `path`. NotFound when nothing is pinned there;
  // the error names the path. `name` is how later errors call the map
  // (default: the path).
  static absl::StatusOr<BpfMap> OpenPinned(absl::string_view path,
                                           std::string name = "");
  // The map `name` pinned in the folder `pin_dir`, called `name`.
  static absl::StatusOr<BpfMap> OpenPinnedIn(absl::string_view pin_dir,
                                             absl::string_view name);
  // The same, or no map (fd() < 0) when nothing is pinned there: for maps
  // that pins of older agents do not have.
  static absl::StatusOr<BpfMap> OpenPinnedInIfPresent(absl::string_view pin_dir,
                                                      absl::string_view name);
  // The map with this kernel id (NotFound once it is gone), called by its
  // kernel name.
  static absl::StatusOr<BpfMap> OpenById(uint32_t id);
  // A skeleton's map, through a descriptor of its own (the skeleton keeps
  // its). Called by the map's name unless `name` is given.
  static BpfMap Of(const bpf_map* map, std::string name = "");

  BpfMap() = default;  // no map: every call fails (EBADF)
  BpfMap(ScopedFd fd, std::string name)
      : fd_(std::move(fd)), name_(std::move(name)) {}
  BpfMap(BpfMap&&) = default;
  BpfMap& operator=(BpfMap&&) = default;

  int fd() const { return fd_.get(); }
  const std::string& name() const { return name_; }

  absl::StatusOr<BpfMapInfo> Info() const;
  absl::StatusOr<uint32_t> MaxEntries() const;

  // The value under key; nullopt when there is none.
  template <typename V, typename K>
  absl::StatusOr<std::optional<V>> Lookup(const K& key) const {
    Plain<K, V>();
    V value;
    absl::StatusOr<bool> found = LookupRaw(&key, &value);
    if (!found.ok()) return found.status();
    if (!*found) return std::nullopt;
    return value;
  }

  // flags: BPF_ANY (0), BPF_NOEXIST (1) or BPF_EXIST (2).
  template <typename K, typename V>
  absl::Status Update(const K& key, const V& value, uint64_t flags = 0) {
    Plain<K, V>();
    return UpdateRaw(&key, &value, flags);
  }

  // NotFound when there was no such entry.
  template <typename K>
  absl::Status Delete(const K& key) {
    Plain<K>();
    return DeleteRaw(&key, /*missing_ok=*/false);
  }
  // An entry already gone is not an error.
  template <typename K>
  absl::Status DeleteIfPresent(const K& key) {
    Plain<K>();
    return DeleteRaw(&key, /*missing_ok=*/true);
  }

  // Many entries in one syscall (BPF_MAP_UPDATE_BATCH): keys[i] ->
  // values[i] for i < count, packed, in order. The kernel stops at the
  // first entry it refuses; `done` says how many were written before it
  // (all on success). Unimplemented, with nothing written, when this map
  // or kernel has no batch updates.
  absl::Status UpdateBatchRaw(const void* keys, const void* values,
                              uint32_t count, uint32_t& done);
  // Deletes keys[i] likewise (BPF_MAP_DELETE_BATCH); NotFound when
  // keys[done] is absent.
  absl::Status DeleteBatchRaw(const void* keys, uint32_t count, uint32_t& done);

  // Every key, one syscall each (for maps with no values worth reading,
  // or no batch reads: LPM tries).
  template <typename K>
  absl::StatusOr<std::vector<K>> Keys() const {
    Plain<K>();
    std::vector<K> out;
    absl::Status s = ForEachKeyRaw(sizeof(K), [&](const void* key) {
      out.emplace_back();
      std::memcpy(&out.back(), key, sizeof(K));
    });
    if (!s.ok()) return s;
    return out;
  }

  // Every entry, read a few thousand per syscall where the kernel can (a
  // million connection-tracking entries would otherwise take two syscalls
  // each), else one by one. Entries may come and go meanwhile; one deleted
  // while being read is left out.
  template <typename K, typename V>
  absl::StatusOr<std::vector<std::pair<K, V>>> Entries() const {
    Plain<K, V>();
    std::vector<std::pair<K, V>> out;
    absl::Status s = ForEachEntryRaw(
        sizeof(K), sizeof(V), [&](const void* key, const void* value) {
          out.emplace_back();
          std::memcpy(&out.back().first, key, sizeof(K));
          std::memcpy(&out.back().second, value, sizeof(V));
        });
    if (!s.ok()) return s;
    return out;
  }

  // The same, untyped, for callers that take the sizes from Info().
  absl::StatusOr<bool> LookupRaw(const void* key, void* value) const;
  absl::Status ForEachEntryRaw(
      size_t key_size, size_t value_size,
      absl::FunctionRef<void(const void* key, const void* value)> visit) const;

  // Per-CPU maps: the value of every possible CPU under one index.
  template <typename V>
  absl::StatusOr<std::vector<V>> LookupPerCpu(uint32_t key) const {
    Plain<uint32_t, V>();
    // The kernel lays per-CPU values out 8 bytes apart.
    static_assert(sizeof(V) % 8 == 0, "per-CPU values must be 8-byte sized");
    absl::StatusOr<int> cpus = PossibleCpus();
    if (!cpus.ok()) return cpus.status();
    std::vector<V> values(*cpus);
    absl::StatusOr<bool> found = LookupRaw(&key, values.data());
    if (!found.ok()) return found.status();
    if (!*found) return NotFound(key);
    return values;
  }
  // Zeroes indexes 0..entries-1 on every CPU.
  template <typename V>
  absl::Status ZeroPerCpu(uint32_t entries) {
    static_assert(sizeof(V) % 8 == 0, "per-CPU values must be 8-byte sized");
    absl::StatusOr<int> cpus = PossibleCpus();
    if (!cpus.ok()) return cpus.status();
    return ZeroRaw(entries, static_cast<size_t>(*cpus) * sizeof(V));
  }

 private:
  // Keys and values go to the kernel byte for byte.
  template <typename... T>
  static constexpr void Plain() {
    static_assert((std::is_trivially_copyable_v<T> && ...));
  }
  static absl::StatusOr<int> PossibleCpus();

  absl::Status UpdateRaw(const void* key, const void* value, uint64_t flags);
  absl::Status DeleteRaw(const void* key, bool missing_ok);
  absl::Status ZeroRaw(uint32_t entries, size_t value_bytes);
  absl::Status ForEachKeyRaw(size_t key_size,
                             absl::FunctionRef<void(const void*)> visit) const;
  absl::Status ForEachEntryOneByOne(
      size_t key_size, size_t value_size,
      absl::FunctionRef<void(const void*, const void*)> visit) const;
  absl::Status NotFound(uint32_t key) const;

  ScopedFd fd_;
  std::string name_;
};

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_BPF_MAP_H_
