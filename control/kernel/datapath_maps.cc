// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/datapath_maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"

namespace switchyard::kernel {
namespace {

absl::Status Update(int fd, const void* key, const void* value,
                    absl::string_view map) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) != 0) {
    return ErrnoStatus(errno, absl::StrCat("update ", map));
  }
  return absl::OkStatus();
}

absl::Status Delete(int fd, const void* key, absl::string_view map) {
  if (bpf_map_delete_elem(fd, key) != 0) {
    return ErrnoStatus(errno, absl::StrCat("delete from ", map));
  }
  return absl::OkStatus();
}

// Looks up key; nullopt when absent.
template <typename V>
absl::StatusOr<std::optional<V>> Lookup(int fd, const void* key,
                                        absl::string_view map) {
  V value;
  if (bpf_map_lookup_elem(fd, key, &value) != 0) {
    if (errno == ENOENT) return std::nullopt;
    return ErrnoStatus(errno, absl::StrCat("lookup in ", map));
  }
  return value;
}

absl::StatusOr<uint32_t> MaxEntries(int fd) {
  bpf_map_info info = {};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
    return ErrnoStatus(errno, "map info");
  }
  return info.max_entries;
}

// Reads one per-CPU array slot and hands each CPU's value to add().
template <typename V, typename Add>
absl::Status SumPerCpu(int fd, uint32_t key, absl::string_view map, Add add) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return ErrnoStatus(cpus, "count possible CPUs");
  std::vector<V> values(cpus);
  if (bpf_map_lookup_elem(fd, &key, values.data()) != 0) {
    return ErrnoStatus(errno, absl::StrCat("lookup in ", map));
  }
  for (const V& v : values) add(v);
  return absl::OkStatus();
}

template <typename V>
absl::Status ZeroPerCpu(int fd, uint32_t entries, absl::string_view map) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return ErrnoStatus(cpus, "count possible CPUs");
  std::vector<V> zeros(cpus);
  for (uint32_t key = 0; key < entries; ++key) {
    if (bpf_map_update_elem(fd, &key, zeros.data(), BPF_ANY) != 0) {
      return ErrnoStatus(errno, absl::StrCat("zero ", map));
    }
  }
  return absl::OkStatus();
}

// Every entry of a hash map, one entry at a time. Entries may come and go
// while iterating; an entry deleted between get_next_key and lookup is
// skipped.
template <typename K, typename V>
absl::StatusOr<std::vector<std::pair<K, V>>> DumpHashOneByOne(
    int fd, absl::string_view map) {
  std::vector<std::pair<K, V>> out;
  K key, next;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    V value;
    if (bpf_map_lookup_elem(fd, &next, &value) == 0) {
      out.emplace_back(next, value);
    } else if (errno != ENOENT) {
      return ErrnoStatus(errno, absl::StrCat("lookup in ", map));
    }
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) return ErrnoStatus(errno, absl::StrCat("iterate ", map));
  return out;
}

// Every entry of a hash map, read a few thousand at a time: a million
// connection-tracking entries take one syscall per batch instead of two
// per entry. Falls back to one by one where batches are not supported.
template <typename K, typename V>
absl::StatusOr<std::vector<std::pair<K, V>>> DumpHash(int fd,
                                                      absl::string_view map) {
  std::vector<std::pair<K, V>> out;
  uint32_t batch_size = 4096;
  std::vector<K> keys(batch_size);
  std::vector<V> values(batch_size);
  uint32_t token = 0;  // hash maps resume from a bucket index
  bool first = true;
  for (;;) {
    uint32_t count = batch_size;
    uint32_t in = token;
    int err = bpf_map_lookup_batch(fd, first ? nullptr : &in, &token,
                                   keys.data(), values.data(), &count, nullptr);
    if (err != 0 && errno == ENOSPC && count == 0) {
      // One bucket holds more entries than the buffer: grow and retry.
      batch_size *= 2;
      keys.resize(batch_size);
      values.resize(batch_size);
      token = in;
      continue;
    }
    if (err != 0 && errno != ENOENT) {
      if (first &&
          (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP)) {
        return DumpHashOneByOne<K, V>(fd, map);
      }
      return ErrnoStatus(errno, absl::StrCat("batch read ", map));
    }
    first = false;
    for (uint32_t i = 0; i < count; ++i) out.emplace_back(keys[i], values[i]);
    if (err != 0) break;  // ENOENT: that was the last batch
  }
  return out;
}

// The non-empty entries of an array map, read in batches: one syscall per
// few thousand entries instead of one per entry.
template <typename V, typename Empty>
absl::StatusOr<std::vector<std::pair<uint32_t, V>>> DumpArray(
    int fd, absl::string_view map, Empty is_empty) {
  absl::StatusOr<uint32_t> entries = MaxEntries(fd);
  if (!entries.ok()) return entries.status();
  std::vector<std::pair<uint32_t, V>> out;
  constexpr uint32_t kBatch = 4096;
  std::vector<uint32_t> keys(kBatch);
  std::vector<V> values(kBatch);
  uint32_t out_batch = 0;
  bool first = true;
  for (;;) {
    uint32_t count = kBatch;
    uint32_t in_batch = out_batch;
    int err = bpf_map_lookup_batch(fd, first ? nullptr : &in_batch, &out_batch,
                                   keys.data(), values.data(), &count, nullptr);
    first = false;
    if (err != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, absl::StrCat("batch read ", map));
    }
    for (uint32_t i = 0; i < count; ++i) {
      if (!is_empty(values[i])) out.emplace_back(keys[i], values[i]);
    }
    if (err != 0) break;  // ENOENT: that was the last batch
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::pair<yard_svc4_key, yard_svc_value>>>
DatapathMaps::DumpFrontends() const {
  return DumpHash<yard_svc4_key, yard_svc_value>(fds_.svc4.get(),
                                                 YARD_MAP_SVC4);
}

absl::StatusOr<std::vector<std::pair<yard_slot_key, yard_slot_value>>>
DatapathMaps::DumpSlots() const {
  return DumpHash<yard_slot_key, yard_slot_value>(fds_.slots.get(),
                                                  YARD_MAP_SLOTS);
}

absl::StatusOr<std::vector<std::pair<uint32_t, yard_backend4>>>
DatapathMaps::DumpBackends() const {
  return DumpArray<yard_backend4>(
      fds_.be4.get(), YARD_MAP_BACKEND4,
      [](const yard_backend4& b) { return b.state == YARD_BACKEND_EMPTY; });
}

absl::StatusOr<std::vector<std::pair<uint32_t, yard_rnat4>>>
DatapathMaps::DumpRevNat() const {
  return DumpArray<yard_rnat4>(
      fds_.rnat4.get(), YARD_MAP_RNAT4,
      [](const yard_rnat4& r) { return r.addr == 0 && r.port == 0; });
}

DatapathMaps::DatapathMaps(Fds fds) : fds_(std::move(fds)) {}

absl::StatusOr<DatapathMaps> DatapathMaps::OpenPinned(
    absl::string_view pin_dir) {
  auto open = [&](const char* name, ScopedFd& out) -> absl::Status {
    std::string path = absl::StrCat(pin_dir, "/", name);
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open pinned ", path));
    out = ScopedFd(fd);
    return absl::OkStatus();
  };
  Fds fds;
  for (auto [name, slot] : {std::pair{YARD_MAP_SVC4, &fds.svc4},
                            {YARD_MAP_SLOTS, &fds.slots},
                            {YARD_MAP_BACKEND4, &fds.be4},
                            {YARD_MAP_RNAT4, &fds.rnat4},
                            {YARD_MAP_CT4, &fds.ct4},
                            {YARD_MAP_SVC_STATS, &fds.svc_stats},
                            {YARD_MAP_REASONS, &fds.reasons},
                            {YARD_MAP_LB_SRC4, &fds.lb_src4}}) {
    if (absl::Status s = open(name, *slot); !s.ok()) return s;
  }
  return DatapathMaps(std::move(fds));
}

absl::StatusOr<MapCapacity> DatapathMaps::Capacity() const {
  MapCapacity c;
  for (auto [fd, out] : {std::pair{fds_.svc4.get(), &c.frontends},
                         {fds_.slots.get(), &c.slots},
                         {fds_.be4.get(), &c.backends},
                         {fds_.ct4.get(), &c.ct_entries},
                         {fds_.lb_src4.get(), &c.source_ranges}}) {
    absl::StatusOr<uint32_t> n = MaxEntries(fd);
    if (!n.ok()) return n.status();
    *out = *n;
  }
  return c;
}

absl::Status DatapathMaps::PutFrontend(const yard_svc4_key& key,
                                       const yard_svc_value& value) {
  return Update(fds_.svc4.get(), &key, &value, YARD_MAP_SVC4);
}

absl::Status DatapathMaps::DeleteFrontend(const yard_svc4_key& key) {
  return Delete(fds_.svc4.get(), &key, YARD_MAP_SVC4);
}

absl::StatusOr<std::optional<yard_svc_value>> DatapathMaps::LookupFrontend(
    const yard_svc4_key& key) const {
  return Lookup<yard_svc_value>(fds_.svc4.get(), &key, YARD_MAP_SVC4);
}

absl::Status DatapathMaps::PutSlot(const yard_slot_key& key,
                                   const yard_slot_value& value) {
  return Update(fds_.slots.get(), &key, &value, YARD_MAP_SLOTS);
}

absl::Status DatapathMaps::PutSourceRange(const yard_lb_src4_key& key) {
  uint8_t admitted = 1;
  return Update(fds_.lb_src4.get(), &key, &admitted, YARD_MAP_LB_SRC4);
}

absl::Status DatapathMaps::DeleteSourceRange(const yard_lb_src4_key& key) {
  return Delete(fds_.lb_src4.get(), &key, YARD_MAP_LB_SRC4);
}

absl::StatusOr<std::vector<yard_lb_src4_key>> DatapathMaps::DumpSourceRanges()
    const {
  // LPM tries have no batch reads; they are small.
  std::vector<yard_lb_src4_key> out;
  yard_lb_src4_key key = {}, next = {};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fds_.lb_src4.get(), prev, &next) == 0) {
    out.push_back(next);
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) {
    return ErrnoStatus(errno, absl::StrCat("read ", YARD_MAP_LB_SRC4));
  }
  return out;
}

absl::Status DatapathMaps::DeleteSlot(const yard_slot_key& key) {
  return Delete(fds_.slots.get(), &key, YARD_MAP_SLOTS);
}

absl::Status DatapathMaps::PutBackend(uint32_t id,
                                      const yard_backend4& backend) {
  return Update(fds_.be4.get(), &id, &backend, YARD_MAP_BACKEND4);
}

absl::Status DatapathMaps::ClearBackend(uint32_t id) {
  yard_backend4 empty = {};
  return Update(fds_.be4.get(), &id, &empty, YARD_MAP_BACKEND4);
}

absl::StatusOr<yard_backend4> DatapathMaps::LookupBackend(uint32_t id) const {
  absl::StatusOr<std::optional<yard_backend4>> be =
      Lookup<yard_backend4>(fds_.be4.get(), &id, YARD_MAP_BACKEND4);
  if (!be.ok()) return be.status();
  if (!be->has_value()) {
    return absl::OutOfRangeError(absl::StrCat("backend id ", id));
  }
  return **be;
}

absl::Status DatapathMaps::PutRevNat(uint32_t id, const yard_rnat4& frontend) {
  return Update(fds_.rnat4.get(), &id, &frontend, YARD_MAP_RNAT4);
}

absl::Status DatapathMaps::ClearRevNat(uint32_t id) {
  yard_rnat4 empty = {};
  return Update(fds_.rnat4.get(), &id, &empty, YARD_MAP_RNAT4);
}

absl::StatusOr<std::optional<yard_ct4_value>> DatapathMaps::LookupCt(
    const yard_ct4_key& key) const {
  return Lookup<yard_ct4_value>(fds_.ct4.get(), &key, YARD_MAP_CT4);
}

absl::Status DatapathMaps::PutCt(const yard_ct4_key& key,
                                 const yard_ct4_value& value) {
  return Update(fds_.ct4.get(), &key, &value, YARD_MAP_CT4);
}

absl::StatusOr<std::vector<std::pair<yard_ct4_key, yard_ct4_value>>>
DatapathMaps::DumpCt() const {
  return DumpHash<yard_ct4_key, yard_ct4_value>(fds_.ct4.get(), YARD_MAP_CT4);
}

absl::Status DatapathMaps::ClearCt() {
  absl::StatusOr<std::vector<std::pair<yard_ct4_key, yard_ct4_value>>> all =
      DumpCt();
  if (!all.ok()) return all.status();
  for (const auto& [key, value] : *all) {
    if (bpf_map_delete_elem(fds_.ct4.get(), &key) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, "delete from yard_ct4");
    }
  }
  return absl::OkStatus();
}

absl::Status DatapathMaps::DeleteCt(const yard_ct4_key& key) {
  if (bpf_map_delete_elem(fds_.ct4.get(), &key) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "delete from yard_ct4");
  }
  return absl::OkStatus();
}

absl::StatusOr<yard_counter> DatapathMaps::ReasonCounter(
    yard_reason reason) const {
  yard_counter sum = {};
  // Pins of an older agent have fewer slots: a newer reason is not
  // counted there, which reads as zero.
  absl::StatusOr<uint32_t> slots = MaxEntries(fds_.reasons.get());
  if (!slots.ok()) return slots.status();
  if (static_cast<uint32_t>(reason) >= *slots) return sum;
  absl::Status s = SumPerCpu<yard_counter>(
      fds_.reasons.get(), reason, YARD_MAP_REASONS, [&](const yard_counter& c) {
        sum.packets += c.packets;
        sum.bytes += c.bytes;
      });
  if (!s.ok()) return s;
  return sum;
}

absl::StatusOr<yard_svc_stats> DatapathMaps::ServiceStats(
    uint32_t rev_nat_id) const {
  yard_svc_stats sum = {};
  absl::Status s = SumPerCpu<yard_svc_stats>(
      fds_.svc_stats.get(), rev_nat_id, YARD_MAP_SVC_STATS,
      [&](const yard_svc_stats& c) {
        sum.forward.packets += c.forward.packets;
        sum.forward.bytes += c.forward.bytes;
        sum.reply.packets += c.reply.packets;
        sum.reply.bytes += c.reply.bytes;
      });
  if (!s.ok()) return s;
  return sum;
}

absl::Status DatapathMaps::ResetCounters() {
  absl::StatusOr<uint32_t> slots = MaxEntries(fds_.reasons.get());
  if (!slots.ok()) return slots.status();
  if (absl::Status s = ZeroPerCpu<yard_counter>(fds_.reasons.get(), *slots,
                                                YARD_MAP_REASONS);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<uint32_t> entries = MaxEntries(fds_.svc_stats.get());
  if (!entries.ok()) return entries.status();
  return ZeroPerCpu<yard_svc_stats>(fds_.svc_stats.get(), *entries,
                                    YARD_MAP_SVC_STATS);
}

yard_svc4_key ServiceKey(uint32_t addr_be, uint16_t port_be, uint8_t proto,
                         uint8_t scope) {
  yard_svc4_key key = {};
  key.addr = addr_be;
  key.port = port_be;
  key.proto = proto;
  key.scope = scope;
  return key;
}

yard_svc4_key WildcardKey(uint32_t addr_be, uint8_t scope) {
  return ServiceKey(addr_be, 0, 0, scope);
}

}  // namespace switchyard::kernel
