// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/datapath_maps.h"

#include <bpf/bpf.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"
#include "control/common/scoped_fd.h"
#include "control/kernel/maglev_tables.h"
#include "control/kernel/pinned_layout.h"

namespace switchyard::kernel {
namespace {

// The non-empty entries of an array map (arrays have every index; an
// unused one holds zeroes the datapath reads as such).
template <typename V, typename Empty>
absl::StatusOr<std::vector<std::pair<uint32_t, V>>> NonEmpty(const BpfMap& map,
                                                             Empty is_empty) {
  absl::StatusOr<std::vector<std::pair<uint32_t, V>>> all =
      map.Entries<uint32_t, V>();
  if (!all.ok()) return all.status();
  std::erase_if(*all,
                [&](const auto& entry) { return is_empty(entry.second); });
  return all;
}

// One per-CPU array slot summed over every possible CPU by add().
template <typename V, typename Add>
absl::Status SumPerCpu(const BpfMap& map, uint32_t key, Add add) {
  absl::StatusOr<std::vector<V>> values = map.LookupPerCpu<V>(key);
  if (!values.ok()) return values.status();
  for (const V& v : *values) add(v);
  return absl::OkStatus();
}

}  // namespace

DatapathMaps::DatapathMaps(Handles maps) : maps_(std::move(maps)) {}

absl::StatusOr<DatapathMaps> DatapathMaps::OpenPinned(
    absl::string_view pin_dir) {
  // This build's structs would misread maps of another layout.
  if (absl::Status s = CheckLayoutToRead(pin_dir); !s.ok()) return s;
  Handles maps;
  for (auto [name, slot] : {std::pair{YARD_MAP_SVC4, &maps.svc4},
                            {YARD_MAP_SLOTS, &maps.slots},
                            {YARD_MAP_BACKEND4, &maps.be4},
                            {YARD_MAP_RNAT4, &maps.rnat4},
                            {YARD_MAP_CT4, &maps.ct4},
                            {YARD_MAP_SVC_STATS, &maps.svc_stats},
                            {YARD_MAP_REASONS, &maps.reasons},
                            {YARD_MAP_LB_SRC4, &maps.lb_src4},
                            {YARD_MAP_MAGLEV, &maps.maglev},
                            {YARD_MAP_LC4, &maps.lc4},
                            {YARD_MAP_AFFINITY4, &maps.affinity4}}) {
    absl::StatusOr<BpfMap> map = BpfMap::OpenPinnedIn(pin_dir, name);
    if (!map.ok()) return map.status();
    *slot = *std::move(map);
  }
  absl::StatusOr<BpfMap> addrs =
      BpfMap::OpenPinnedInIfPresent(pin_dir, YARD_MAP_SVC_ADDRS);
  if (!addrs.ok()) return addrs.status();
  maps.svc_addrs = *std::move(addrs);
  return DatapathMaps(std::move(maps));
}

absl::StatusOr<MapCapacity> DatapathMaps::Capacity() const {
  MapCapacity c;
  for (auto [map, out] : {std::pair{&maps_.svc4, &c.frontends},
                          {&maps_.slots, &c.slots},
                          {&maps_.be4, &c.backends},
                          {&maps_.ct4, &c.ct_entries},
                          {&maps_.lb_src4, &c.source_ranges},
                          {&maps_.maglev, &c.maglev_tables}}) {
    absl::StatusOr<uint32_t> n = map->MaxEntries();
    if (!n.ok()) return n.status();
    *out = *n;
  }
  return c;
}

absl::Status DatapathMaps::SyncServiceAddresses() {
  if (maps_.svc_addrs.fd() < 0) return absl::OkStatus();
  // Read in batches: an adopting agent's maps hold tens of thousands.
  absl::StatusOr<std::vector<std::pair<yard_svc4_key, yard_svc_value>>> all =
      DumpFrontends();
  if (!all.ok()) return all.status();
  std::vector<yard_svc4_key> keys;
  keys.reserve(all->size());
  for (const auto& [key, value] : *all) keys.push_back(key);
  addr_bits_synced_ = false;
  if (absl::Status s = WriteAddressWords(addr_bits_.Reset(keys)); !s.ok()) {
    return s;
  }
  addr_bits_synced_ = true;
  return absl::OkStatus();
}

absl::StatusOr<bool> DatapathMaps::MayBeServiceAddress(uint32_t addr_be) const {
  if (maps_.svc_addrs.fd() < 0) return true;
  const uint32_t bit = yard_svc_addr_bit(addr_be);
  absl::StatusOr<std::optional<uint64_t>> word =
      maps_.svc_addrs.Lookup<uint64_t>(bit / 64);
  if (!word.ok()) return word.status();
  return word->has_value() && ((**word >> (bit % 64)) & 1) != 0;
}

absl::Status DatapathMaps::WriteAddressWords(
    const ServiceAddressBits::Words& words) {
  if (maps_.svc_addrs.fd() < 0 || words.empty()) return absl::OkStatus();
  std::vector<uint32_t> index(words.size());
  std::vector<uint64_t> value(words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    index[i] = words[i].first;
    value[i] = words[i].second;
  }
  uint32_t done = 0;
  absl::Status s = maps_.svc_addrs.UpdateBatchRaw(
      index.data(), value.data(), static_cast<uint32_t>(words.size()), done);
  if (absl::IsUnimplemented(s)) {
    // No batch updates on this kernel: one word at a time.
    s = absl::OkStatus();
    for (size_t i = 0; i < words.size() && s.ok(); ++i) {
      s = maps_.svc_addrs.Update(index[i], value[i]);
    }
  }
  if (!s.ok()) addr_bits_synced_ = false;
  return s;
}

absl::Status DatapathMaps::AddressesBeforePut(
    absl::Span<const yard_svc4_key> keys) {
  if (maps_.svc_addrs.fd() < 0) return absl::OkStatus();
  if (!addr_bits_synced_) {
    if (absl::Status s = SyncServiceAddresses(); !s.ok()) return s;
  }
  return WriteAddressWords(addr_bits_.Added(keys));
}

absl::Status DatapathMaps::AddressesAfterDelete(
    absl::Span<const yard_svc4_key> keys) {
  if (maps_.svc_addrs.fd() < 0) return absl::OkStatus();
  // Not synced: the next write rebuilds from what the map holds then.
  if (!addr_bits_synced_) return absl::OkStatus();
  return WriteAddressWords(addr_bits_.Removed(keys));
}

absl::Status DatapathMaps::PutFrontend(const yard_svc4_key& key,
                                       const yard_svc_value& value) {
  if (absl::Status s = AddressesBeforePut({&key, 1}); !s.ok()) return s;
  return maps_.svc4.Update(key, value);
}

absl::Status DatapathMaps::DeleteFrontend(const yard_svc4_key& key) {
  absl::Status s = maps_.svc4.Delete(key);
  // A key that was not there is not there either way.
  if (s.ok() || absl::IsNotFound(s)) {
    if (absl::Status a = AddressesAfterDelete({&key, 1}); !a.ok()) return a;
  }
  return s;
}

absl::StatusOr<std::optional<yard_svc_value>> DatapathMaps::LookupFrontend(
    const yard_svc4_key& key) const {
  return maps_.svc4.Lookup<yard_svc_value>(key);
}

absl::Status DatapathMaps::PutSlot(const yard_slot_key& key,
                                   const yard_slot_value& value) {
  return maps_.slots.Update(key, value);
}

absl::Status DatapathMaps::DeleteSlot(const yard_slot_key& key) {
  return maps_.slots.Delete(key);
}

absl::Status DatapathMaps::PutBackend(uint32_t id,
                                      const yard_backend4& backend) {
  return maps_.be4.Update(id, backend);
}

absl::Status DatapathMaps::ClearBackend(uint32_t id) {
  return maps_.be4.Update(id, yard_backend4{});
}

absl::StatusOr<yard_backend4> DatapathMaps::LookupBackend(uint32_t id) const {
  absl::StatusOr<std::optional<yard_backend4>> be =
      maps_.be4.Lookup<yard_backend4>(id);
  if (!be.ok()) return be.status();
  if (!be->has_value()) {
    return absl::OutOfRangeError(absl::StrCat("backend id ", id));
  }
  return **be;
}

absl::Status DatapathMaps::PutRevNat(uint32_t id, const yard_rnat4& frontend) {
  return maps_.rnat4.Update(id, frontend);
}

absl::Status DatapathMaps::ClearRevNat(uint32_t id) {
  return maps_.rnat4.Update(id, yard_rnat4{});
}

BpfMap& DatapathMaps::Service(ServiceMap map) {
  switch (map) {
    case ServiceMap::kFrontends:
      return maps_.svc4;
    case ServiceMap::kSlots:
      return maps_.slots;
    case ServiceMap::kBackends:
      return maps_.be4;
    case ServiceMap::kRevNat:
      return maps_.rnat4;
    case ServiceMap::kLbSrc:
      return maps_.lb_src4;
  }
  return maps_.svc4;
}

absl::Status DatapathMaps::UpdateBatch(ServiceMap map, const void* keys,
                                       const void* values, uint32_t count,
                                       uint32_t& done) {
  if (map == ServiceMap::kFrontends) {
    done = 0;
    if (absl::Status s = AddressesBeforePut(
            {static_cast<const yard_svc4_key*>(keys), count});
        !s.ok()) {
      return s;
    }
  }
  return Service(map).UpdateBatchRaw(keys, values, count, done);
}

absl::Status DatapathMaps::DeleteBatch(ServiceMap map, const void* keys,
                                       uint32_t count, uint32_t& done) {
  absl::Status s = Service(map).DeleteBatchRaw(keys, count, done);
  if (map == ServiceMap::kFrontends) {
    if (absl::Status a = AddressesAfterDelete(
            {static_cast<const yard_svc4_key*>(keys), done});
        !a.ok() && s.ok()) {
      return a;
    }
  }
  return s;
}

absl::StatusOr<std::vector<std::pair<yard_svc4_key, yard_svc_value>>>
DatapathMaps::DumpFrontends() const {
  return maps_.svc4.Entries<yard_svc4_key, yard_svc_value>();
}

absl::StatusOr<std::vector<std::pair<yard_slot_key, yard_slot_value>>>
DatapathMaps::DumpSlots() const {
  return maps_.slots.Entries<yard_slot_key, yard_slot_value>();
}

absl::StatusOr<std::vector<std::pair<uint32_t, yard_backend4>>>
DatapathMaps::DumpBackends() const {
  return NonEmpty<yard_backend4>(maps_.be4, [](const yard_backend4& b) {
    return b.state == YARD_BACKEND_EMPTY;
  });
}

absl::StatusOr<std::vector<std::pair<uint32_t, yard_rnat4>>>
DatapathMaps::DumpRevNat() const {
  return NonEmpty<yard_rnat4>(maps_.rnat4, [](const yard_rnat4& r) {
    return r.addr == 0 && r.port == 0;
  });
}

absl::Status DatapathMaps::PutSourceRange(const yard_lb_src4_key& key) {
  const uint8_t admitted = 1;
  return maps_.lb_src4.Update(key, admitted);
}

absl::Status DatapathMaps::DeleteSourceRange(const yard_lb_src4_key& key) {
  return maps_.lb_src4.Delete(key);
}

absl::StatusOr<std::vector<yard_lb_src4_key>> DatapathMaps::DumpSourceRanges()
    const {
  // LPM tries have no batch reads, and the value says nothing; they are
  // small.
  return maps_.lb_src4.Keys<yard_lb_src4_key>();
}

absl::StatusOr<std::optional<yard_ct4_value>> DatapathMaps::LookupCt(
    const yard_ct4_key& key) const {
  return maps_.ct4.Lookup<yard_ct4_value>(key);
}

absl::Status DatapathMaps::PutCt(const yard_ct4_key& key,
                                 const yard_ct4_value& value) {
  return maps_.ct4.Update(key, value);
}

absl::StatusOr<std::vector<std::pair<yard_ct4_key, yard_ct4_value>>>
DatapathMaps::DumpCt() const {
  return maps_.ct4.Entries<yard_ct4_key, yard_ct4_value>();
}

absl::Status DatapathMaps::ClearCt() {
  absl::StatusOr<std::vector<std::pair<yard_ct4_key, yard_ct4_value>>> all =
      DumpCt();
  if (!all.ok()) return all.status();
  for (const auto& [key, value] : *all) {
    if (absl::Status s = maps_.ct4.DeleteIfPresent(key); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status DatapathMaps::DeleteCt(const yard_ct4_key& key) {
  return maps_.ct4.DeleteIfPresent(key);
}

absl::StatusOr<std::vector<std::pair<uint32_t, yard_lc_count>>>
DatapathMaps::DumpLeastConnCounts() const {
  return NonEmpty<yard_lc_count>(
      maps_.lc4, [](const yard_lc_count& c) { return c.word == 0; });
}

absl::StatusOr<yard_lc_count> DatapathMaps::LeastConnCount(
    uint32_t backend_id) const {
  absl::StatusOr<std::optional<yard_lc_count>> c =
      maps_.lc4.Lookup<yard_lc_count>(backend_id);
  if (!c.ok()) return c.status();
  if (!c->has_value()) {
    return absl::OutOfRangeError(absl::StrCat("backend id ", backend_id));
  }
  return **c;
}

absl::Status DatapathMaps::PutLeastConnCount(uint32_t backend_id,
                                             const yard_lc_count& count) {
  return maps_.lc4.Update(backend_id, count);
}

absl::StatusOr<std::optional<yard_aff4_value>> DatapathMaps::LookupAffinity(
    const yard_aff4_key& key) const {
  return maps_.affinity4.Lookup<yard_aff4_value>(key);
}

absl::Status DatapathMaps::PutAffinity(const yard_aff4_key& key,
                                       const yard_aff4_value& value) {
  return maps_.affinity4.Update(key, value);
}

absl::StatusOr<std::vector<std::pair<yard_aff4_key, yard_aff4_value>>>
DatapathMaps::DumpAffinity() const {
  return maps_.affinity4.Entries<yard_aff4_key, yard_aff4_value>();
}

absl::StatusOr<yard_counter> DatapathMaps::ReasonCounter(
    yard_reason reason) const {
  yard_counter sum = {};
  // Pins of an older agent have fewer slots: a newer reason is not
  // counted there, which reads as zero.
  absl::StatusOr<uint32_t> slots = maps_.reasons.MaxEntries();
  if (!slots.ok()) return slots.status();
  if (static_cast<uint32_t>(reason) >= *slots) return sum;
  absl::Status s = SumPerCpu<yard_counter>(maps_.reasons, reason,
                                           [&](const yard_counter& c) {
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
      maps_.svc_stats, rev_nat_id, [&](const yard_svc_stats& c) {
        sum.forward.packets += c.forward.packets;
        sum.forward.bytes += c.forward.bytes;
        sum.reply.packets += c.reply.packets;
        sum.reply.bytes += c.reply.bytes;
      });
  if (!s.ok()) return s;
  return sum;
}

absl::Status DatapathMaps::ResetCounters() {
  absl::StatusOr<uint32_t> slots = maps_.reasons.MaxEntries();
  if (!slots.ok()) return slots.status();
  if (absl::Status s = maps_.reasons.ZeroPerCpu<yard_counter>(*slots);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<uint32_t> entries = maps_.svc_stats.MaxEntries();
  if (!entries.ok()) return entries.status();
  return maps_.svc_stats.ZeroPerCpu<yard_svc_stats>(*entries);
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

absl::Status DatapathMaps::PutMaglevTable(uint32_t svc_id,
                                          const std::vector<uint32_t>& table) {
  if (maps_.maglev_in_place) {
    absl::StatusOr<bool> done =
        RewriteMaglevTableInPlace(maps_.maglev, svc_id, table);
    if (!done.ok() || *done) return done.status();
  }
  absl::StatusOr<ScopedFd> inner =
      NewMaglevTable(svc_id, table, maps_.maglev_tables_mappable);
  if (!inner.ok()) return inner.status();
  // The swap: yard_maglev now holds the new array (and a reference to
  // it); the old one is freed once no program can be reading it.
  int inner_fd = inner->get();
  return maps_.maglev.Update(svc_id, inner_fd);
}

absl::Status DatapathMaps::PutMaglevTables(
    absl::Span<const uint32_t> svc_ids,
    absl::Span<const std::vector<uint32_t>> tables, uint32_t& done) {
  done = 0;
  if (svc_ids.size() != tables.size()) {
    return absl::InvalidArgumentError("maglev tables: ids and tables differ");
  }
  // A call either rewrites a run of leading tables in place or swaps in a
  // run of new ones, never both: `done` counts a prefix, in order. Once a
  // call swaps, the tables after join the swap even where they could be
  // rewritten: the one wait it pays covers them all.
  uint32_t rewritten = 0;
  std::vector<ScopedFd> inner;
  std::vector<uint32_t> fds;
  size_t bytes = 0;
  for (size_t i = 0; i < tables.size(); ++i) {
    if (maps_.maglev_in_place && inner.empty()) {
      absl::StatusOr<bool> in_place =
          RewriteMaglevTableInPlace(maps_.maglev, svc_ids[i], tables[i]);
      if (!in_place.ok()) {
        done = rewritten;
        return in_place.status();
      }
      if (*in_place) {
        ++rewritten;
        continue;
      }
    }
    if (rewritten > 0) break;
    // The kernel keeps each 4-byte entry in 8 bytes (array elements are
    // rounded up to 8).
    const size_t table_bytes = tables[i].size() * 8;
    if (inner.size() == kMaglevBatchTables ||
        (!inner.empty() && bytes + table_bytes > kMaglevBatchBytes)) {
      break;
    }
    absl::StatusOr<ScopedFd> fd =
        NewMaglevTable(svc_ids[i], tables[i], maps_.maglev_tables_mappable);
    // A table that cannot be built ends the batch before it: what comes
    // before is swapped in, and the caller sees the failure next call.
    if (!fd.ok()) {
      if (!inner.empty()) break;
      return fd.status();
    }
    fds.push_back(static_cast<uint32_t>(fd->get()));
    inner.push_back(*std::move(fd));
    bytes += table_bytes;
  }
  if (rewritten > 0) {
    done = rewritten;
    return absl::OkStatus();
  }
  // The map holds its own reference to each array it took; the fds here
  // close when `inner` goes.
  return maps_.maglev.UpdateBatchRaw(svc_ids.data(), fds.data(),
                                     static_cast<uint32_t>(fds.size()), done);
}

absl::Status DatapathMaps::DeleteMaglevTables(
    absl::Span<const uint32_t> svc_ids, uint32_t& done) {
  return maps_.maglev.DeleteBatchRaw(
      svc_ids.data(), static_cast<uint32_t>(svc_ids.size()), done);
}

absl::Status DatapathMaps::DeleteMaglevTable(uint32_t svc_id) {
  return maps_.maglev.Delete(svc_id);
}

absl::StatusOr<std::vector<uint32_t>> DatapathMaps::MaglevTableIds() const {
  return maps_.maglev.Keys<uint32_t>();
}

absl::StatusOr<std::optional<uint32_t>> DatapathMaps::MaglevTableMapId(
    uint32_t svc_id) const {
  // User space reads a map-in-map's value as the inner map's id.
  return maps_.maglev.Lookup<uint32_t>(svc_id);
}

absl::StatusOr<std::vector<uint32_t>> DatapathMaps::ReadMaglevTable(
    uint32_t svc_id) const {
  absl::StatusOr<std::optional<uint32_t>> id = MaglevTableMapId(svc_id);
  if (!id.ok()) return id.status();
  if (!id->has_value()) return std::vector<uint32_t>{};
  absl::StatusOr<BpfMap> inner = BpfMap::OpenById(**id);
  if (!inner.ok()) return inner.status();
  absl::StatusOr<std::optional<uint32_t>> size = inner->Lookup<uint32_t>(0u);
  if (!size.ok()) return size.status();
  std::vector<uint32_t> table(1, size->value_or(0));
  for (uint32_t i = 1; i <= table[0]; ++i) {
    absl::StatusOr<std::optional<uint32_t>> v = inner->Lookup<uint32_t>(i);
    if (!v.ok()) return v.status();
    table.push_back(v->value_or(0));
  }
  return table;
}

}  // namespace switchyard::kernel
