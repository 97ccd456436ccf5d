// SPDX-License-Identifier: Apache-2.0
#include "control/sync/programmer.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"

namespace switchyard::sync {
namespace {

using translate::BackendAddr;
using translate::DesiredState;
using translate::FrontendKey;

yard_svc4_key ToKey(const FrontendKey& k) {
  yard_svc4_key key = {};
  key.addr = k.addr_be;
  key.port = k.port_be;
  key.proto = k.proto;
  return key;
}

bool SameValue(const yard_svc_value& a, const yard_svc_value& b) {
  return a.svc_id == b.svc_id && a.rev_nat_id == b.rev_nat_id &&
         a.count == b.count && a.flags == b.flags && a.policy == b.policy;
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
      // A frontend uses at most one set; during an update old and new sets
      // of a frontend coexist, hence twice.
      set_ids_(2 * capacity.frontends + 2),
      rev_nat_ids_(capacity.frontends) {}

absl::Status Programmer::Count(absl::Status status) {
  ++writes_;
  return status;
}

ProgrammedCounts Programmer::counts() const {
  ProgrammedCounts c;
  c.frontends = frontends_.size();
  c.backends = backends_.size();
  c.sets = sets_.size() + adopted_sets_.size();
  for (const auto& [name, set] : sets_) c.slots += set.slots.size();
  for (const auto& [id, slots] : adopted_sets_) c.slots += slots.size();
  return c;
}

void Programmer::Adopt(const ProgrammedEntries& entries) {
  for (const auto& [id, be] : entries.backends) {
    if (be.state == YARD_BACKEND_EMPTY || !backend_ids_.Claim(id)) continue;
    BackendAddr addr{be.addr, be.port};
    if (!backends_.emplace(addr, BackendEntry{id, be.state}).second) {
      stale_backend_ids_.push_back(id);  // a duplicate: clear it later
    }
  }
  for (const auto& [key, backend_id] : entries.slots) {
    auto [svc_id, slot] = key;
    if (slot == 0) continue;
    set_ids_.Claim(svc_id);
    std::vector<uint32_t>& slots = adopted_sets_[svc_id];
    if (slots.size() < slot) slots.resize(slot, 0);  // 0: a gap
    slots[slot - 1] = backend_id;
  }
  for (const auto& [key, value] : entries.frontends) {
    FrontendEntry entry;
    entry.value = value;
    entry.set_known = (value.flags & YARD_SVC_F_WILDCARD) != 0;
    if (!entry.set_known) rev_nat_ids_.Claim(value.rev_nat_id);
    frontends_[FrontendKey{key.addr, key.port, key.proto}] = entry;
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
void Programmer::ClaimAdoptedSets(const DesiredState& desired) {
  if (adopted_sets_.empty()) return;
  for (const auto& [key, fe] : desired.frontends) {
    if (fe.set.empty() || sets_.contains(fe.set)) continue;
    auto current = frontends_.find(key);
    if (current == frontends_.end() || current->second.set_known) continue;
    auto adopted = adopted_sets_.find(current->second.value.svc_id);
    if (adopted == adopted_sets_.end()) continue;
    sets_[fe.set] = SetEntry{adopted->first, std::move(adopted->second)};
    adopted_sets_.erase(adopted);
  }
}

// The new slot order for a set: backends that stay keep their slot, a new
// backend fills a freed slot, and remaining holes are filled from the
// tail. One write per changed backend instead of a reshuffle.
std::vector<BackendAddr> Programmer::NewSlotOrder(
    const std::string& set, const std::vector<BackendAddr>& want,
    const std::map<uint32_t, BackendAddr>& by_id) const {
  std::set<BackendAddr> wanted(want.begin(), want.end());
  std::vector<std::optional<BackendAddr>> order;
  std::set<BackendAddr> placed;
  if (auto it = sets_.find(set); it != sets_.end()) {
    for (uint32_t id : it->second.slots) {
      auto addr = by_id.find(id);
      if (addr != by_id.end() && wanted.contains(addr->second) &&
          placed.insert(addr->second).second) {
        order.push_back(addr->second);
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
  // Fill the holes left from the tail.
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

absl::Status Programmer::CheckCapacity(
    const DesiredState& desired,
    const std::map<std::string, std::vector<BackendAddr>>& new_slots,
    const std::map<BackendAddr, uint8_t>& needed) const {
  size_t new_backends = 0;
  for (const auto& [addr, state] : needed) {
    if (!backends_.contains(addr)) ++new_backends;
  }
  if (new_backends > backend_ids_.available()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "backend map full: ", new_backends, " new backends, room for ",
        backend_ids_.available(), " (", capacity_.backends - 1, " in all)"));
  }
  // Slots peak mid-update: every current slot, plus growth of each set.
  size_t peak_slots = counts().slots;
  size_t new_sets = 0;
  for (const auto& [name, slots] : new_slots) {
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
  for (const auto& [key, fe] : desired.frontends) {
    if (frontends_.contains(key)) continue;
    ++new_frontends;
    if (!key.is_wildcard()) ++new_rev_nat;
  }
  if (frontends_.size() + new_frontends > capacity_.frontends) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "service map full: ", frontends_.size() + new_frontends,
        " entries needed at the peak, the map holds ", capacity_.frontends));
  }
  if (new_rev_nat > rev_nat_ids_.available()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "reverse NAT ids exhausted: ", new_rev_nat, " needed, ",
        rev_nat_ids_.available(), " free"));
  }
  return absl::OkStatus();
}

absl::Status Programmer::WriteBackends(
    const std::map<BackendAddr, uint8_t>& needed) {
  for (const auto& [addr, state] : needed) {
    auto it = backends_.find(addr);
    if (it != backends_.end() && it->second.state == state) continue;
    uint32_t id = it != backends_.end() ? it->second.id
                                        : *backend_ids_.Allocate();
    yard_backend4 be = {};
    be.addr = addr.addr_be;
    be.port = addr.port_be;
    be.state = state;
    if (absl::Status s = Count(writer_->PutBackend(id, be)); !s.ok()) {
      if (it == backends_.end()) backend_ids_.Free(id);
      return s;
    }
    backends_[addr] = BackendEntry{id, state};
  }
  return absl::OkStatus();
}

absl::Status Programmer::WriteSlots(
    const std::map<std::string, std::vector<BackendAddr>>& new_slots) {
  for (const auto& [name, addrs] : new_slots) {
    auto it = sets_.find(name);
    if (it == sets_.end()) {
      it = sets_.emplace(name, SetEntry{*set_ids_.Allocate(), {}}).first;
    }
    SetEntry& set = it->second;
    for (size_t i = 0; i < addrs.size(); ++i) {
      uint32_t id = backends_.at(addrs[i]).id;
      if (i < set.slots.size() && set.slots[i] == id) continue;
      yard_slot_key key = {set.svc_id, static_cast<uint32_t>(i + 1)};
      yard_slot_value value = {id};
      if (absl::Status s = Count(writer_->PutSlot(key, value)); !s.ok()) {
        return s;
      }
      if (i < set.slots.size()) {
        set.slots[i] = id;
      } else {
        set.slots.push_back(id);
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Programmer::WriteFrontends(const DesiredState& desired) {
  // Ports before wildcards: a new service's ports answer before its
  // address starts rejecting unknown ports.
  for (bool wildcards : {false, true}) {
    for (const auto& [key, fe] : desired.frontends) {
      if (key.is_wildcard() != wildcards) continue;
      auto current = frontends_.find(key);
      yard_svc_value value = {};
      value.flags = fe.flags;
      value.policy = fe.policy;
      uint32_t new_rev_nat = 0;
      if (!wildcards) {
        const SetEntry& set = sets_.at(fe.set);
        value.svc_id = set.svc_id;
        value.count = static_cast<uint16_t>(
            std::min(desired.sets.at(fe.set).eligible.size(),
                     set.slots.size()));
        if (current != frontends_.end() && current->second.value.rev_nat_id) {
          value.rev_nat_id = current->second.value.rev_nat_id;
        } else {
          new_rev_nat = *rev_nat_ids_.Allocate();
          value.rev_nat_id = new_rev_nat;
          yard_rnat4 rnat = {};
          rnat.addr = key.addr_be;
          rnat.port = key.port_be;
          if (absl::Status s = Count(writer_->PutRevNat(new_rev_nat, rnat));
              !s.ok()) {
            rev_nat_ids_.Free(new_rev_nat);
            return s;
          }
        }
      }
      if (current != frontends_.end() &&
          SameValue(current->second.value, value)) {
        current->second.set = fe.set;
        current->second.set_known = true;
        continue;
      }
      if (absl::Status s = Count(writer_->PutFrontend(ToKey(key), value));
          !s.ok()) {
        // The reverse NAT entry was written for nothing: clear it with the
        // other stale ones.
        if (new_rev_nat) stale_rev_nat_ids_.push_back(new_rev_nat);
        return s;
      }
      frontends_[key] = FrontendEntry{value, fe.set, true};
    }
  }
  return absl::OkStatus();
}

absl::Status Programmer::RemoveFrontends(const DesiredState& desired,
                                         std::vector<uint32_t>& freed_rev_nat) {
  for (bool wildcards : {false, true}) {
    for (auto it = frontends_.begin(); it != frontends_.end();) {
      if (it->first.is_wildcard() != wildcards ||
          desired.frontends.contains(it->first)) {
        ++it;
        continue;
      }
      absl::Status s = Count(
          IgnoreNotFound(writer_->DeleteFrontend(ToKey(it->first))));
      if (!s.ok()) return s;
      if (it->second.value.rev_nat_id) {
        freed_rev_nat.push_back(it->second.value.rev_nat_id);
      }
      it = frontends_.erase(it);
    }
  }
  return absl::OkStatus();
}

absl::Status Programmer::TrimSlots(
    const std::map<std::string, std::vector<BackendAddr>>& new_slots) {
  auto trim = [&](uint32_t svc_id, std::vector<uint32_t>& slots,
                  size_t keep) -> absl::Status {
    while (slots.size() > keep) {
      yard_slot_key key = {svc_id, static_cast<uint32_t>(slots.size())};
      absl::Status s = Count(IgnoreNotFound(writer_->DeleteSlot(key)));
      if (!s.ok()) return s;
      slots.pop_back();
    }
    return absl::OkStatus();
  };
  for (auto it = sets_.begin(); it != sets_.end();) {
    auto want = new_slots.find(it->first);
    size_t keep = want == new_slots.end() ? 0 : want->second.size();
    if (absl::Status s = trim(it->second.svc_id, it->second.slots, keep);
        !s.ok()) {
      return s;
    }
    if (want == new_slots.end()) {
      set_ids_.Free(it->second.svc_id);
      it = sets_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = adopted_sets_.begin(); it != adopted_sets_.end();) {
    if (absl::Status s = trim(it->first, it->second, 0); !s.ok()) return s;
    set_ids_.Free(it->first);
    it = adopted_sets_.erase(it);
  }
  return absl::OkStatus();
}

absl::Status Programmer::RemoveBackends(
    const std::map<BackendAddr, uint8_t>& needed) {
  for (auto it = backends_.begin(); it != backends_.end();) {
    if (needed.contains(it->first)) {
      ++it;
      continue;
    }
    if (absl::Status s = Count(writer_->ClearBackend(it->second.id)); !s.ok()) {
      return s;
    }
    backend_ids_.Free(it->second.id);
    it = backends_.erase(it);
  }
  while (!stale_backend_ids_.empty()) {
    uint32_t id = stale_backend_ids_.back();
    if (absl::Status s = Count(writer_->ClearBackend(id)); !s.ok()) return s;
    backend_ids_.Free(id);
    stale_backend_ids_.pop_back();
  }
  return absl::OkStatus();
}

absl::Status Programmer::RemoveRevNat(const std::vector<uint32_t>& ids) {
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
  writes_ = 0;
  for (const auto& [key, fe] : desired.frontends) {
    if (key.is_wildcard() != fe.set.empty() ||
        (!fe.set.empty() && !desired.sets.contains(fe.set))) {
      return absl::InvalidArgumentError(
          absl::StrCat(fe.service, ": frontend names no backend set"));
    }
  }
  ClaimAdoptedSets(desired);

  std::map<uint32_t, BackendAddr> by_id;
  for (const auto& [addr, be] : backends_) by_id[be.id] = addr;
  std::map<std::string, std::vector<BackendAddr>> new_slots;
  std::map<BackendAddr, uint8_t> needed;
  for (const auto& [name, set] : desired.sets) {
    if (set.eligible.size() > UINT16_MAX) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": ", set.eligible.size(), " endpoints, at most 65535"));
    }
    new_slots[name] = NewSlotOrder(name, set.eligible, by_id);
    for (const BackendAddr& addr : set.draining) {
      needed.emplace(addr, YARD_BACKEND_TERMINATING);
    }
  }
  for (const auto& [name, set] : desired.sets) {
    for (const BackendAddr& addr : set.eligible) {
      needed[addr] = YARD_BACKEND_ACTIVE;
    }
  }
  if (absl::Status s = CheckCapacity(desired, new_slots, needed); !s.ok()) {
    return s;
  }

  std::vector<uint32_t> freed_rev_nat;
  absl::Status s = WriteBackends(needed);
  if (s.ok()) s = WriteSlots(new_slots);
  if (s.ok()) s = WriteFrontends(desired);
  if (s.ok()) s = RemoveFrontends(desired, freed_rev_nat);
  if (s.ok()) s = TrimSlots(new_slots);
  if (s.ok()) s = RemoveBackends(needed);
  // Freed reverse-NAT ids are cleared even after a failure above: their
  // frontends are gone already.
  absl::Status rev = RemoveRevNat(freed_rev_nat);
  return s.ok() ? rev : s;
}

}  // namespace switchyard::sync
