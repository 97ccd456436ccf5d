// SPDX-License-Identifier: Apache-2.0
#include "control/sync/programmer.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "control/translate/frontend_key_abi.h"
#include "control/translate/maglev_table.h"

namespace switchyard::sync {
namespace {

using translate::BackendAddr;
using translate::DesiredChange;
using translate::DesiredState;
using translate::FrontendKey;

constexpr BackendAddr kGap = {0, 0};

yard_lb_src4_key RangeKey(uint32_t rev_nat_id,
                          const translate::SourceRange& range) {
  yard_lb_src4_key key = {};
  key.prefixlen = 32 + range.prefix_len;
  key.rev_nat_id = htonl(rev_nat_id);
  key.addr = range.addr_be;
  return key;
}

bool SameValue(const yard_svc_value& a, const yard_svc_value& b) {
  return a.svc_id == b.svc_id && a.rev_nat_id == b.rev_nat_id &&
         a.count == b.count && a.flags == b.flags && a.policy == b.policy &&
         a.aff_timeout_s == b.aff_timeout_s;
}

// Deleting what is already gone is success: an adopted map may have gaps.
absl::Status IgnoreNotFound(absl::Status s) {
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

}  // namespace

Programmer::Programmer(MapWriter* writer, Capacity capacity)
    : writer_(writer),
      capacity_(capacity),
      backend_ids_(capacity.backends),
      // A frontend uses one set; mid-update a frontend's old and new sets
      // coexist, hence twice.
      set_ids_(2 * capacity.frontends + 2),
      rev_nat_ids_(capacity.frontends) {}

absl::Status Programmer::Count(absl::Status status) {
  ++writes_;
  return status;
}

ProgrammedCounts Programmer::counts() const {
  return {frontends_.size(),
          total_slots_,
          backends_.size() - retired_count_,
          retired_count_,
          sets_.size() + adopted_sets_.size(),
          written_tables_ + adopted_tables_.size()};
}

void Programmer::Adopt(const ProgrammedEntries& entries) {
  std::map<uint32_t, BackendAddr> by_id;
  for (const auto& [id, be] : entries.backends) {
    if (be.state == YARD_BACKEND_EMPTY || !backend_ids_.Claim(id)) continue;
    BackendAddr addr{be.addr, be.port};
    if (backends_.emplace(addr, BackendEntry{id, be.state, 0, 0}).second) {
      by_id[id] = addr;
      if (be.state == YARD_BACKEND_RETIRED) {
        retired_.push_back(addr);
        ++retired_count_;
      }
    } else {
      stale_backend_ids_.push_back(id);  // a duplicate: cleared later
    }
  }
  for (const auto& [key, value] : entries.slots) {
    const auto [svc_id, slot] = key;
    const uint32_t backend_id = value.backend_id;
    if (slot == 0) continue;
    set_ids_.Claim(svc_id);
    std::vector<BackendAddr>& slots = adopted_sets_[svc_id];
    if (slots.size() < slot) slots.resize(slot, kGap);
    auto addr = by_id.find(backend_id);
    // A slot naming no backend is kept as a gap: deleted, never followed.
    if (addr == by_id.end()) continue;
    slots[slot - 1] = addr->second;
    ++backends_[addr->second].slot_refs;
    ++total_slots_;
  }
  for (const auto& [key, value] : entries.frontends) {
    FrontendEntry entry;
    entry.value = value;
    entry.set_known = (value.flags & YARD_SVC_F_WILDCARD) != 0;
    if (!entry.set_known) rev_nat_ids_.Claim(value.rev_nat_id);
    frontends_[translate::FromSvc4Key(key)] = entry;
  }
  std::map<uint32_t, FrontendEntry*> by_rev_nat;
  for (auto& [key, entry] : frontends_) {
    if (entry.value.rev_nat_id) by_rev_nat[entry.value.rev_nat_id] = &entry;
  }
  for (const yard_lb_src4_key& key : entries.source_ranges) {
    auto owner = by_rev_nat.find(ntohl(key.rev_nat_id));
    if (owner == by_rev_nat.end() || key.prefixlen < 32 || key.prefixlen > 64) {
      stale_ranges_.push_back(key);
      continue;
    }
    owner->second->ranges.push_back(
        {key.addr, static_cast<uint8_t>(key.prefixlen - 32)});
    ++total_ranges_;
  }
  for (auto& [rev_nat, entry] : by_rev_nat) {
    std::sort(entry->ranges.begin(), entry->ranges.end());
  }
  for (const auto& [id, table] : entries.maglev_tables) {
    adopted_tables_.insert(id);
  }
  for (const auto& [id, rnat] : entries.rev_nat) {
    // No frontend names it: stays claimed until cleared, so no new
    // frontend can be given the id before that.
    if (rev_nat_ids_.Claim(id)) stale_rev_nat_ids_.push_back(id);
  }
}

// An adopted frontend that is still desired keeps its slots: the desired
// set takes over the adopted set's id, so the update edits slots in place
// instead of building a second copy and switching over.
void Programmer::ClaimAdoptedSets(const DesiredState& desired,
                                  const Work& work) {
  if (adopted_sets_.empty()) return;
  for (const FrontendKey& key : work.frontends) {
    auto fe = desired.frontends.find(key);
    if (fe == desired.frontends.end() || fe->second.set.empty() ||
        sets_.contains(fe->second.set)) {
      continue;
    }
    auto current = frontends_.find(key);
    if (current == frontends_.end() || current->second.set_known) continue;
    auto adopted = adopted_sets_.find(current->second.value.svc_id);
    if (adopted == adopted_sets_.end()) continue;
    sets_[fe->second.set] =
        SetEntry{adopted->first, std::move(adopted->second), {}};
    adopted_sets_.erase(adopted);
  }
}

// The new slot order for a set: backends that stay keep their slot, a new
// backend fills a freed slot, and remaining holes are filled from the
// tail. One write per changed backend instead of a reshuffle.
std::vector<BackendAddr> Programmer::NewSlotOrder(
    const std::string& set, const std::vector<BackendAddr>& want) const {
  std::set<BackendAddr> wanted(want.begin(), want.end());
  std::vector<std::optional<BackendAddr>> order;
  std::set<BackendAddr> placed;
  if (auto it = sets_.find(set); it != sets_.end()) {
    for (const BackendAddr& addr : it->second.slots) {
      if (addr != kGap && wanted.contains(addr) && placed.insert(addr).second) {
        order.push_back(addr);
      } else {
        order.push_back(std::nullopt);
      }
    }
  }
  std::vector<BackendAddr> fresh;
  for (const BackendAddr& addr : want) {
    if (!placed.contains(addr)) fresh.push_back(addr);
  }
  size_t next_fresh = 0;
  for (auto& slot : order) {
    if (!slot && next_fresh < fresh.size()) slot = fresh[next_fresh++];
  }
  while (next_fresh < fresh.size()) order.push_back(fresh[next_fresh++]);
  for (size_t i = 0; i < order.size(); ++i) {
    while (!order.empty() && !order.back()) order.pop_back();
    if (i >= order.size()) break;
    if (!order[i]) {
      order[i] = order.back();
      order.pop_back();
    }
  }
  std::vector<BackendAddr> result;
  for (const auto& slot : order) {
    if (slot) result.push_back(*slot);
  }
  return result;
}

// The state each backend whose references change will have once the
// update is done; those with no reference left are absent.
Programmer::BackendStates Programmer::FinalStates(const DesiredState& desired,
                                                  Work& work) const {
  // Each backend's change in slot and draining references.
  absl::btree_map<BackendAddr, std::pair<int64_t, int64_t>> delta;
  for (const std::string& name : work.sets) {
    if (auto old = sets_.find(name); old != sets_.end()) {
      for (const BackendAddr& a : old->second.slots) {
        if (a != kGap) --delta[a].first;
      }
      for (const BackendAddr& a : old->second.draining) --delta[a].second;
    }
    if (auto fresh = work.new_slots.find(name); fresh != work.new_slots.end()) {
      for (const BackendAddr& a : fresh->second) ++delta[a].first;
      for (const BackendAddr& a : desired.sets.at(name).draining) {
        ++delta[a].second;
      }
    }
  }
  if (work.drop_adopted) {
    for (const auto& [id, slots] : adopted_sets_) {
      for (const BackendAddr& a : slots) {
        if (a != kGap) --delta[a].first;
      }
    }
  }
  BackendStates states;
  for (const auto& [addr, d] : delta) {
    work.touched.insert(addr);
    int64_t slot_refs = d.first, drain_refs = d.second;
    if (auto it = backends_.find(addr); it != backends_.end()) {
      slot_refs += it->second.slot_refs;
      drain_refs += it->second.draining_refs;
    }
    if (slot_refs > 0) {
      states[addr] = YARD_BACKEND_ACTIVE;
    } else if (drain_refs > 0) {
      states[addr] = YARD_BACKEND_TERMINATING;
    }
  }
  return states;
}

absl::Status Programmer::CheckCapacity(const DesiredState& desired,
                                       const Work& work,
                                       const BackendStates& states) const {
  size_t new_backends = 0;
  size_t revived = 0;
  for (const auto& [addr, state] : states) {
    auto it = backends_.find(addr);
    if (it == backends_.end()) {
      ++new_backends;
    } else if (it->second.state == YARD_BACKEND_RETIRED) {
      ++revived;
    }
  }
  // Retired backends give up their ids to new ones.
  const size_t room = backend_ids_.available() + retired_count_ - revived;
  if (new_backends > room) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "backend map full: ", new_backends, " new backends, room for ", room,
        " (", capacity_.backends - 1, " in all)"));
  }
  // Slots peak mid-update: every current slot, plus the growth of each set.
  size_t peak_slots = total_slots_;
  size_t new_sets = 0;
  for (const auto& [name, slots] : work.new_slots) {
    auto it = sets_.find(name);
    size_t current = it == sets_.end() ? 0 : it->second.slots.size();
    if (it == sets_.end()) ++new_sets;
    if (slots.size() > current) peak_slots += slots.size() - current;
  }
  if (peak_slots > capacity_.slots) {
    return absl::ResourceExhaustedError(
        absl::StrCat("slot map full: the update needs ", peak_slots,
                     " slots at its peak, the map holds ", capacity_.slots));
  }
  if (new_sets > set_ids_.available()) {
    return absl::ResourceExhaustedError("out of backend set ids");
  }
  size_t new_frontends = 0, new_rev_nat = 0;
  for (const FrontendKey& key : work.frontends) {
    if (frontends_.contains(key) || !desired.frontends.contains(key)) continue;
    ++new_frontends;
    if (!key.is_wildcard()) ++new_rev_nat;
  }
  if (frontends_.size() + new_frontends > capacity_.frontends) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "service map full: ", frontends_.size() + new_frontends,
        " entries needed at the peak, the map holds ", capacity_.frontends));
  }
  if (capacity_.source_ranges != 0) {
    // At most every range desired of the frontends in the update, on top
    // of what is written: additions come before removals.
    size_t peak = total_ranges_;
    for (const FrontendKey& key : work.frontends) {
      auto fe = desired.frontends.find(key);
      if (fe != desired.frontends.end()) {
        peak += fe->second.source_ranges.size();
      }
    }
    if (peak > capacity_.source_ranges) {
      return absl::ResourceExhaustedError(
          absl::StrCat("source-range map full: ", peak,
                       " entries needed at the peak, the map holds ",
                       capacity_.source_ranges));
    }
  }
  if (capacity_.maglev_tables != 0) {
    // New tables are written before unwanted ones go: the peak is every
    // table now plus every set that gets its first.
    size_t peak = written_tables_ + adopted_tables_.size();
    for (const auto& [name, slots] : work.new_slots) {
      const translate::BackendSet& want = desired.sets.at(name);
      if (want.maglev_table_size == 0 || want.eligible.empty()) continue;
      auto it = sets_.find(name);
      if (it != sets_.end() &&
          (it->second.maglev || adopted_tables_.contains(it->second.svc_id))) {
        continue;  // replaced in place
      }
      ++peak;
    }
    if (peak > capacity_.maglev_tables) {
      return absl::ResourceExhaustedError(
          absl::StrCat("Maglev table map full: ", peak,
                       " tables needed at the peak, the map holds ",
                       capacity_.maglev_tables));
    }
  }
  if (new_rev_nat > rev_nat_ids_.available()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("reverse NAT ids exhausted: ", new_rev_nat, " needed, ",
                     rev_nat_ids_.available(), " free"));
  }
  return absl::OkStatus();
}

absl::Status Programmer::WriteBackends(const BackendStates& states) {
  for (const auto& [addr, state] : states) {
    auto it = backends_.find(addr);
    if (it != backends_.end() && it->second.state == state) continue;
    bool fresh = it == backends_.end();
    uint32_t id = 0;
    if (fresh) {
      absl::StatusOr<uint32_t> allocated = AllocateBackendId();
      if (!allocated.ok()) return allocated.status();
      id = *allocated;
    } else {
      id = it->second.id;
    }
    yard_backend4 be = {};
    be.addr = addr.addr_be;
    be.port = addr.port_be;
    be.state = state;
    if (absl::Status s = Count(writer_->PutBackend(id, be)); !s.ok()) {
      if (fresh) backend_ids_.Free(id);
      return s;
    }
    if (fresh) {
      backends_[addr] = BackendEntry{id, state, 0, 0};
    } else {
      if (it->second.state == YARD_BACKEND_RETIRED) --retired_count_;
      it->second.state = state;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> Programmer::AllocateBackendId() {
  if (std::optional<uint32_t> id = backend_ids_.Allocate()) return *id;
  while (!retired_.empty()) {
    BackendAddr addr = retired_.front();
    retired_.pop_front();
    auto it = backends_.find(addr);
    if (it == backends_.end() || it->second.state != YARD_BACKEND_RETIRED ||
        it->second.slot_refs != 0 || it->second.draining_refs != 0) {
      continue;  // revived (or gone) since it was retired
    }
    // Its flows now find another address under the id: they end, as
    // flows of a vanished endpoint do. The caller writes the new backend
    // over it.
    uint32_t id = it->second.id;
    backends_.erase(it);
    --retired_count_;
    return id;
  }
  return absl::ResourceExhaustedError("backend ids exhausted");
}

absl::Status Programmer::Retire(BackendMap::iterator it) {
  if (it->second.state == YARD_BACKEND_RETIRED) return absl::OkStatus();
  yard_backend4 be = {};
  be.addr = it->first.addr_be;
  be.port = it->first.port_be;
  be.state = YARD_BACKEND_RETIRED;
  if (absl::Status s = Count(writer_->PutBackend(it->second.id, be)); !s.ok()) {
    return s;
  }
  it->second.state = YARD_BACKEND_RETIRED;
  retired_.push_back(it->first);
  ++retired_count_;
  // An endpoint that flaps leaves a stale place in the queue each time it
  // comes back; keep the queue within twice what is retired.
  if (retired_.size() > 2 * retired_count_ + 64) CompactRetired();
  return absl::OkStatus();
}

void Programmer::CompactRetired() {
  // Each retired backend keeps its latest place only: that is when it
  // retired.
  std::map<BackendAddr, size_t> last;
  for (size_t i = 0; i < retired_.size(); ++i) last[retired_[i]] = i;
  std::deque<BackendAddr> kept;
  for (size_t i = 0; i < retired_.size(); ++i) {
    const BackendAddr& addr = retired_[i];
    auto it = backends_.find(addr);
    if (last[addr] == i && it != backends_.end() &&
        it->second.state == YARD_BACKEND_RETIRED) {
      kept.push_back(addr);
    }
  }
  retired_ = std::move(kept);
}

void Programmer::Unref(const BackendAddr& addr, bool draining, Work& work) {
  if (addr == kGap) return;
  auto it = backends_.find(addr);
  if (it == backends_.end()) return;
  uint32_t& refs = draining ? it->second.draining_refs : it->second.slot_refs;
  if (refs > 0) --refs;
  work.touched.insert(addr);
}

absl::Status Programmer::WriteSlot(uint32_t svc_id, size_t index, SetEntry& set,
                                   const BackendAddr& addr, Work& work) {
  BackendEntry& be = backends_.at(addr);
  yard_slot_key key = {svc_id, static_cast<uint32_t>(index + 1)};
  yard_slot_value value = {be.id};
  if (absl::Status s = Count(writer_->PutSlot(key, value)); !s.ok()) return s;
  ++be.slot_refs;
  if (index < set.slots.size()) {
    if (set.slots[index] == kGap) ++total_slots_;
    Unref(set.slots[index], false, work);
    set.slots[index] = addr;
  } else {
    set.slots.push_back(addr);
    ++total_slots_;
  }
  return absl::OkStatus();
}

absl::Status Programmer::WriteSlots(const DesiredState& desired, Work& work) {
  for (const auto& [name, addrs] : work.new_slots) {
    auto it = sets_.find(name);
    if (it == sets_.end()) {
      it = sets_.emplace(name, SetEntry{*set_ids_.Allocate(), {}, {}}).first;
    }
    SetEntry& set = it->second;
    for (size_t i = 0; i < addrs.size(); ++i) {
      if (i < set.slots.size() && set.slots[i] == addrs[i]) continue;
      if (absl::Status s = WriteSlot(set.svc_id, i, set, addrs[i], work);
          !s.ok()) {
        return s;
      }
    }
    // Draining backends are references, not map entries: no write.
    const std::vector<BackendAddr>& draining = desired.sets.at(name).draining;
    for (const BackendAddr& a : draining) ++backends_.at(a).draining_refs;
    for (const BackendAddr& a : set.draining) Unref(a, true, work);
    set.draining = draining;
  }
  // Tables after every set's slots, one after another: a table names
  // backends only (written before any slot), and a writer that batches
  // swaps consecutive tables in with one call, one kernel wait for them
  // all (yard_maglev is a map of maps: the kernel waits a grace period
  // after each call that writes it).
  for (const auto& [name, addrs] : work.new_slots) {
    if (absl::Status s =
            WriteMaglevTable(desired.sets.at(name), sets_.at(name));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status Programmer::WriteMaglevTable(const translate::BackendSet& want,
                                          SetEntry& set) {
  if (want.maglev_table_size == 0 || want.eligible.empty()) {
    return absl::OkStatus();
  }
  MaglevInput input{want.maglev_table_size, want.eligible, want.weights};
  if (set.maglev == input) return absl::OkStatus();
  // Keyed by endpoint, not backend id: every node builds the same table.
  std::vector<translate::MaglevBackend> backends;
  backends.reserve(want.eligible.size());
  for (size_t i = 0; i < want.eligible.size(); ++i) {
    const BackendAddr& a = want.eligible[i];
    backends.push_back({uint64_t{ntohl(a.addr_be)} << 16 | ntohs(a.port_be),
                        want.weights.empty() ? 1u : want.weights[i]});
  }
  std::vector<uint32_t> picks =
      translate::BuildMaglevTable(backends, want.maglev_table_size);
  // Each backend's id looked up once, not once per entry.
  std::vector<uint32_t> ids;
  ids.reserve(want.eligible.size());
  for (const BackendAddr& a : want.eligible) ids.push_back(backends_.at(a).id);
  std::vector<uint32_t> table;
  table.reserve(picks.size() + 1);
  table.push_back(static_cast<uint32_t>(picks.size()));
  for (uint32_t pick : picks) table.push_back(ids[pick]);
  if (absl::Status s = Count(writer_->PutMaglevTable(set.svc_id, table));
      !s.ok()) {
    return s;
  }
  if (!set.maglev) ++written_tables_;
  set.maglev = std::move(input);
  adopted_tables_.erase(set.svc_id);
  return absl::OkStatus();
}

absl::Status Programmer::RemoveMaglevTable(SetEntry& set) {
  if (!set.maglev) return absl::OkStatus();
  if (absl::Status s =
          Count(IgnoreNotFound(writer_->DeleteMaglevTable(set.svc_id)));
      !s.ok()) {
    return s;
  }
  set.maglev.reset();
  --written_tables_;
  return absl::OkStatus();
}

absl::Status Programmer::WriteFrontends(const DesiredState& desired,
                                        const Work& work) {
  NewRevNat new_rev_nats;
  absl::Status s = WriteNewRevNat(desired, work, new_rev_nats);
  // Ports before wildcards: a new service's ports answer before its
  // address starts rejecting unknown ports.
  for (bool wildcards : {false, true}) {
    for (const FrontendKey& key : work.frontends) {
      if (!s.ok()) break;
      auto want = desired.frontends.find(key);
      if (key.is_wildcard() != wildcards || want == desired.frontends.end()) {
        continue;
      }
      s = WriteFrontend(desired, key, want->second, new_rev_nats);
    }
  }
  // Written for frontends a failure left unwritten: cleared in step 7.
  for (const auto& [key, id] : new_rev_nats) stale_rev_nat_ids_.push_back(id);
  return s;
}

absl::Status Programmer::WriteNewRevNat(const DesiredState& desired,
                                        const Work& work, NewRevNat& written) {
  for (const FrontendKey& key : work.frontends) {
    auto want = desired.frontends.find(key);
    if (key.is_wildcard() || want == desired.frontends.end() ||
        frontends_.contains(key) || !sets_.contains(want->second.set)) {
      continue;
    }
    std::optional<uint32_t> id = rev_nat_ids_.Allocate();
    if (!id) return absl::ResourceExhaustedError("no reverse NAT id left");
    yard_rnat4 rnat = {};
    rnat.addr = key.addr_be;
    rnat.port = key.port_be;
    if (absl::Status s = Count(writer_->PutRevNat(*id, rnat)); !s.ok()) {
      rev_nat_ids_.Free(*id);
      return s;
    }
    written[key] = *id;
  }
  return absl::OkStatus();
}

absl::Status Programmer::PortFrontendValue(
    const DesiredState& desired, const FrontendKey& key,
    const translate::Frontend& fe, uint32_t current_rev_nat,
    NewRevNat& new_rev_nats, yard_svc_value& value, uint32_t& new_rev_nat) {
  auto set = sets_.find(fe.set);
  if (set == sets_.end()) {
    return absl::InternalError(
        absl::StrCat(fe.service, ": set ", fe.set, " not programmed"));
  }
  value.svc_id = set->second.svc_id;
  value.count = static_cast<uint16_t>(std::min(
      desired.sets.at(fe.set).eligible.size(), set->second.slots.size()));
  if (current_rev_nat != 0) {
    value.rev_nat_id = current_rev_nat;
    return absl::OkStatus();
  }
  if (auto written = new_rev_nats.find(key); written != new_rev_nats.end()) {
    new_rev_nat = written->second;
    value.rev_nat_id = new_rev_nat;
    new_rev_nats.erase(written);
    return absl::OkStatus();
  }
  new_rev_nat = *rev_nat_ids_.Allocate();
  value.rev_nat_id = new_rev_nat;
  yard_rnat4 rnat = {};
  rnat.addr = key.addr_be;
  rnat.port = key.port_be;
  if (absl::Status s = Count(writer_->PutRevNat(new_rev_nat, rnat)); !s.ok()) {
    rev_nat_ids_.Free(new_rev_nat);
    new_rev_nat = 0;
    return s;
  }
  return absl::OkStatus();
}

absl::Status Programmer::WriteFrontend(const DesiredState& desired,
                                       const FrontendKey& key,
                                       const translate::Frontend& fe,
                                       NewRevNat& new_rev_nats) {
  auto current = frontends_.find(key);
  yard_svc_value value = {};
  value.flags = fe.flags;
  value.policy = fe.policy;
  value.aff_timeout_s = fe.aff_timeout_s;
  uint32_t new_rev_nat = 0;
  if (!key.is_wildcard()) {
    uint32_t current_rev_nat =
        current != frontends_.end() ? current->second.value.rev_nat_id : 0;
    if (absl::Status s = PortFrontendValue(desired, key, fe, current_rev_nat,
                                           new_rev_nats, value, new_rev_nat);
        !s.ok()) {
      return s;
    }
  }
  // A frontend's admitted sources exist before it names them, and go only
  // after it no longer does.
  std::vector<translate::SourceRange> ranges;
  if (current != frontends_.end()) ranges = current->second.ranges;
  // After a refused write: what was written stays accounted for, on the
  // frontend or as stale entries the next Apply clears.
  auto keep_what_was_written = [&] {
    if (current != frontends_.end()) {
      current->second.ranges = ranges;
    } else {
      for (const auto& r : ranges) {
        stale_ranges_.push_back(RangeKey(value.rev_nat_id, r));
      }
    }
    if (new_rev_nat) stale_rev_nat_ids_.push_back(new_rev_nat);
  };
  if (absl::Status s =
          UpdateRanges(value.rev_nat_id, ranges, fe.source_ranges, true);
      !s.ok()) {
    keep_what_was_written();
    return s;
  }
  if (current != frontends_.end() && SameValue(current->second.value, value)) {
    current->second.set_known = true;
  } else {
    if (absl::Status s =
            Count(writer_->PutFrontend(translate::ToSvc4Key(key), value));
        !s.ok()) {
      keep_what_was_written();
      return s;
    }
    current =
        frontends_.insert_or_assign(key, FrontendEntry{value, true, {}}).first;
  }
  current->second.ranges = ranges;
  return UpdateRanges(value.rev_nat_id, current->second.ranges,
                      fe.source_ranges, false);
}

absl::Status Programmer::RemoveFrontends(const DesiredState& desired,
                                         const Work& work,
                                         std::vector<uint32_t>& freed_rev_nat) {
  for (bool wildcards : {false, true}) {
    for (const FrontendKey& key : work.frontends) {
      auto it = frontends_.find(key);
      if (key.is_wildcard() != wildcards || it == frontends_.end() ||
          desired.frontends.contains(key)) {
        continue;
      }
      absl::Status s = Count(
          IgnoreNotFound(writer_->DeleteFrontend(translate::ToSvc4Key(key))));
      if (!s.ok()) return s;
      if (s = UpdateRanges(it->second.value.rev_nat_id, it->second.ranges, {},
                           false);
          !s.ok()) {
        return s;
      }
      if (it->second.value.rev_nat_id) {
        freed_rev_nat.push_back(it->second.value.rev_nat_id);
      }
      frontends_.erase(it);
    }
  }
  return absl::OkStatus();
}

absl::Status Programmer::DeleteLastSlot(uint32_t svc_id,
                                        std::vector<BackendAddr>& slots,
                                        Work& work) {
  yard_slot_key key = {svc_id, static_cast<uint32_t>(slots.size())};
  absl::Status s = Count(IgnoreNotFound(writer_->DeleteSlot(key)));
  if (!s.ok()) return s;
  if (slots.back() != kGap) --total_slots_;
  Unref(slots.back(), false, work);
  slots.pop_back();
  return absl::OkStatus();
}

absl::Status Programmer::TrimSlots(const DesiredState& desired, Work& work) {
  // Tables first, every set's one after another (a batching writer
  // deletes them in one call: one kernel wait for a map of maps). The
  // frontends that read them stopped doing so in step 3.
  for (const std::string& name : work.sets) {
    auto it = sets_.find(name);
    if (it == sets_.end()) continue;
    if (auto desired_set = desired.sets.find(name);
        desired_set == desired.sets.end() ||
        desired_set->second.maglev_table_size == 0 ||
        desired_set->second.eligible.empty()) {
      if (absl::Status s = RemoveMaglevTable(it->second); !s.ok()) return s;
    }
  }
  for (const std::string& name : work.sets) {
    auto it = sets_.find(name);
    if (it == sets_.end()) continue;
    auto want = work.new_slots.find(name);
    size_t keep = want == work.new_slots.end() ? 0 : want->second.size();
    while (it->second.slots.size() > keep) {
      if (absl::Status s =
              DeleteLastSlot(it->second.svc_id, it->second.slots, work);
          !s.ok()) {
        return s;
      }
    }
    if (want == work.new_slots.end()) {
      for (const BackendAddr& a : it->second.draining) Unref(a, true, work);
      set_ids_.Free(it->second.svc_id);
      sets_.erase(it);
    }
  }
  if (work.drop_adopted) {
    for (auto it = adopted_sets_.begin(); it != adopted_sets_.end();) {
      while (!it->second.empty()) {
        if (absl::Status s = DeleteLastSlot(it->first, it->second, work);
            !s.ok()) {
          return s;
        }
      }
      set_ids_.Free(it->first);
      it = adopted_sets_.erase(it);
    }
    while (!adopted_tables_.empty()) {
      uint32_t id = *adopted_tables_.begin();
      if (absl::Status s =
              Count(IgnoreNotFound(writer_->DeleteMaglevTable(id)));
          !s.ok()) {
        return s;
      }
      adopted_tables_.erase(adopted_tables_.begin());
    }
  }
  return absl::OkStatus();
}

absl::Status Programmer::RemoveBackends(const Work& work) {
  auto unused = [](const BackendEntry& be) {
    return be.slot_refs == 0 && be.draining_refs == 0;
  };
  if (work.drop_adopted) {
    // Adopted backends that nothing named were never touched: sweep all,
    // in address order (their ids are reused in the order they retire).
    std::vector<BackendAddr> sweep;
    for (const auto& [addr, be] : backends_) {
      if (unused(be)) sweep.push_back(addr);
    }
    std::sort(sweep.begin(), sweep.end());
    for (const BackendAddr& addr : sweep) {
      if (absl::Status s = Retire(backends_.find(addr)); !s.ok()) return s;
    }
  } else {
    for (const BackendAddr& addr : work.touched) {
      auto it = backends_.find(addr);
      if (it == backends_.end() || !unused(it->second)) continue;
      if (absl::Status s = Retire(it); !s.ok()) return s;
    }
  }
  while (!stale_backend_ids_.empty()) {
    uint32_t id = stale_backend_ids_.back();
    if (absl::Status s = Count(writer_->ClearBackend(id)); !s.ok()) return s;
    backend_ids_.Free(id);
    stale_backend_ids_.pop_back();
  }
  return absl::OkStatus();
}

absl::Status Programmer::UpdateRanges(
    uint32_t rev_nat_id, std::vector<translate::SourceRange>& from,
    const std::vector<translate::SourceRange>& wanted, bool adding) {
  // Sorted and unique, whatever the caller gave: the searches below
  // depend on it.
  std::vector<translate::SourceRange> to = wanted;
  std::sort(to.begin(), to.end());
  to.erase(std::unique(to.begin(), to.end()), to.end());
  if (adding) {
    for (const translate::SourceRange& r : to) {
      if (std::binary_search(from.begin(), from.end(), r)) continue;
      if (absl::Status s =
              Count(writer_->PutSourceRange(RangeKey(rev_nat_id, r)));
          !s.ok()) {
        return s;
      }
      from.insert(std::upper_bound(from.begin(), from.end(), r), r);
      ++total_ranges_;
    }
    return absl::OkStatus();
  }
  for (auto it = from.begin(); it != from.end();) {
    if (std::binary_search(to.begin(), to.end(), *it)) {
      ++it;
      continue;
    }
    if (absl::Status s = Count(IgnoreNotFound(
            writer_->DeleteSourceRange(RangeKey(rev_nat_id, *it))));
        !s.ok()) {
      return s;
    }
    it = from.erase(it);
    --total_ranges_;
  }
  return absl::OkStatus();
}

absl::Status Programmer::RemoveRevNat(const std::vector<uint32_t>& ids) {
  while (!stale_ranges_.empty()) {
    if (absl::Status s = Count(
            IgnoreNotFound(writer_->DeleteSourceRange(stale_ranges_.back())));
        !s.ok()) {
      return s;
    }
    stale_ranges_.pop_back();
  }
  for (uint32_t id : ids) {
    if (absl::Status s = Count(writer_->ClearRevNat(id)); !s.ok()) return s;
    rev_nat_ids_.Free(id);
  }
  while (!stale_rev_nat_ids_.empty()) {
    uint32_t id = stale_rev_nat_ids_.back();
    if (absl::Status s = Count(writer_->ClearRevNat(id)); !s.ok()) return s;
    rev_nat_ids_.Free(id);
    stale_rev_nat_ids_.pop_back();
  }
  return absl::OkStatus();
}

absl::Status Programmer::Apply(const DesiredState& desired) {
  DesiredChange everything;
  everything.everything = true;
  return Apply(desired, everything);
}

absl::Status Programmer::Apply(const DesiredState& desired,
                               const DesiredChange& change) {
  writes_ = 0;
  if (resync_pending_) {
    if (absl::Status s = Resynchronize(absl::OkStatus()); !s.ok()) return s;
  }
  Work work;
  if (change.everything) {
    for (const auto& [name, set] : desired.sets) work.sets.insert(name);
    for (const auto& [name, set] : sets_) work.sets.insert(name);
    for (const auto& [key, fe] : desired.frontends) work.frontends.insert(key);
    for (const auto& [key, fe] : frontends_) work.frontends.insert(key);
    work.drop_adopted = true;
  } else {
    work.sets.insert(change.sets.begin(), change.sets.end());
    work.frontends.insert(change.frontends.begin(), change.frontends.end());
  }
  for (const FrontendKey& key : work.frontends) {
    auto fe = desired.frontends.find(key);
    if (fe == desired.frontends.end()) continue;
    if (key.is_wildcard() != fe->second.set.empty() ||
        (!fe->second.set.empty() && !desired.sets.contains(fe->second.set))) {
      return absl::InvalidArgumentError(
          absl::StrCat(fe->second.service, ": frontend names no backend set"));
    }
  }
  ClaimAdoptedSets(desired, work);
  for (const std::string& name : work.sets) {
    auto set = desired.sets.find(name);
    if (set == desired.sets.end()) continue;
    if (set->second.eligible.size() > UINT16_MAX) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": ", set->second.eligible.size(),
                       " endpoints, at most 65535"));
    }
    work.new_slots[name] = NewSlotOrder(name, set->second.eligible);
  }
  BackendStates states = FinalStates(desired, work);
  if (absl::Status s = CheckCapacity(desired, work, states); !s.ok()) {
    return s;
  }

  std::vector<uint32_t> freed_rev_nat;
  absl::Status s = WriteBackends(states);
  if (s.ok()) s = WriteSlots(desired, work);
  if (s.ok()) s = WriteFrontends(desired, work);
  if (s.ok()) s = RemoveFrontends(desired, work, freed_rev_nat);
  if (s.ok()) s = TrimSlots(desired, work);
  if (s.ok()) s = RemoveBackends(work);
  // Freed reverse-NAT ids are cleared even after a failure above: their
  // frontends are gone already.
  absl::Status rev = RemoveRevNat(freed_rev_nat);
  if (s.ok()) s = rev;
  // Held writes go out before the update counts as done (the ack says the
  // datapath has it).
  if (s.ok()) s = writer_->Flush();
  if (!s.ok() && writer_->DefersFailures()) return Resynchronize(s);
  return s;
}

absl::Status Programmer::Resynchronize(absl::Status failure) {
  absl::StatusOr<ProgrammedEntries> entries = writer_->ReadBack();
  if (!entries.ok()) {
    resync_pending_ = true;
    if (failure.ok()) failure = entries.status();
    return absl::Status(
        failure.code(),
        absl::StrCat(failure.message(), "; reading the maps back to see what ",
                     "was written failed too: ", entries.status().message()));
  }
  resync_pending_ = false;
  Forget();
  Adopt(*entries);
  return failure;
}

void Programmer::Forget() {
  backend_ids_ = IdAllocator(capacity_.backends);
  set_ids_ = IdAllocator(2 * capacity_.frontends + 2);
  rev_nat_ids_ = IdAllocator(capacity_.frontends);
  backends_.clear();
  retired_.clear();
  retired_count_ = 0;
  sets_.clear();
  adopted_sets_.clear();
  adopted_tables_.clear();
  written_tables_ = 0;
  frontends_.clear();
  stale_backend_ids_.clear();
  stale_rev_nat_ids_.clear();
  stale_ranges_.clear();
  total_ranges_ = 0;
  total_slots_ = 0;
}

}  // namespace switchyard::sync
