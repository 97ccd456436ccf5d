// SPDX-License-Identifier: Apache-2.0
// Programs a node's service maps to match a desired state, writing only
// the difference, in an order that never shows a packet a broken service:
//
//   1. backends        new backends, state changes
//   2. slots           new and changed slots (beyond the old count: unseen)
//   3. reverse NAT     for new frontends
//   4. frontends       new ones, and count/set changes: counts grow here,
//                      after their slots exist, and shrink here, before
//                      the slots beyond them go
//   5. frontends       removed (port entries before wildcard entries)
//   6. slots           beyond each new count; sets nobody uses
//   7. backends        no longer in any slot nor draining
//   8. reverse NAT     of removed frontends
//
// So at every single write: a frontend's slots 1..count exist, every slot
// names an existing backend, and every frontend's reverse NAT exists.
//
// Capacity is checked before the first write: an update that would not
// fit fails whole and writes nothing. A write the kernel refuses midway
// stops the update; the bookkeeping then matches what was written, the
// invariant above still holds, and the next Apply continues from there.
#ifndef SWITCHYARD_CONTROL_SYNC_PROGRAMMER_H_
#define SWITCHYARD_CONTROL_SYNC_PROGRAMMER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "control/sync/id_allocator.h"
#include "control/sync/map_writer.h"
#include "control/translate/desired_state.h"

namespace switchyard::sync {

// max_entries of each map; ids run 1..limit-1 for the arrays.
struct Capacity {
  uint32_t frontends = 0;
  uint32_t slots = 0;
  uint32_t backends = 0;
};

struct ProgrammedCounts {
  size_t frontends = 0;
  size_t slots = 0;
  size_t backends = 0;
  size_t sets = 0;
};

class Programmer {
 public:
  Programmer(MapWriter* writer, Capacity capacity);
  Programmer(const Programmer&) = delete;
  Programmer& operator=(const Programmer&) = delete;

  // Takes what the maps already hold (a restarted agent's pinned maps) as
  // the programmed state. Nothing is written: the next Apply keeps what is
  // still desired in place and removes only what is stale.
  void Adopt(const ProgrammedEntries& entries);

  absl::Status Apply(const translate::DesiredState& desired);

  // Map writes made by the last Apply.
  size_t last_writes() const { return writes_; }
  ProgrammedCounts counts() const;

 private:
  using BackendAddr = translate::BackendAddr;
  using FrontendKey = translate::FrontendKey;

  struct BackendEntry {
    uint32_t id = 0;
    uint8_t state = 0;
  };
  struct SetEntry {
    uint32_t svc_id = 0;
    std::vector<uint32_t> slots;  // slots[i]: backend id in slot i + 1
  };
  struct FrontendEntry {
    yard_svc_value value = {};
    std::string set;
    bool set_known = true;  // false: adopted, owner not yet matched
  };

  // Planning, before any write.
  void ClaimAdoptedSets(const translate::DesiredState& desired);
  std::vector<BackendAddr> NewSlotOrder(
      const std::string& set, const std::vector<BackendAddr>& want,
      const std::map<uint32_t, BackendAddr>& by_id) const;
  absl::Status CheckCapacity(
      const translate::DesiredState& desired,
      const std::map<std::string, std::vector<BackendAddr>>& new_slots,
      const std::map<BackendAddr, uint8_t>& needed) const;

  // Writing, in the order above.
  absl::Status WriteBackends(const std::map<BackendAddr, uint8_t>& needed);
  absl::Status WriteSlots(
      const std::map<std::string, std::vector<BackendAddr>>& new_slots);
  absl::Status WriteFrontends(const translate::DesiredState& desired);
  absl::Status RemoveFrontends(const translate::DesiredState& desired,
                               std::vector<uint32_t>& freed_rev_nat);
  absl::Status TrimSlots(
      const std::map<std::string, std::vector<BackendAddr>>& new_slots);
  absl::Status RemoveBackends(const std::map<BackendAddr, uint8_t>& needed);
  absl::Status RemoveRevNat(const std::vector<uint32_t>& ids);

  absl::Status Count(absl::Status status);

  MapWriter* writer_;
  Capacity capacity_;
  IdAllocator backend_ids_;
  IdAllocator set_ids_;
  IdAllocator rev_nat_ids_;
  std::map<BackendAddr, BackendEntry> backends_;
  std::map<std::string, SetEntry> sets_;
  std::map<uint32_t, std::vector<uint32_t>> adopted_sets_;  // by svc_id
  std::map<FrontendKey, FrontendEntry> frontends_;
  std::vector<uint32_t> stale_backend_ids_;
  std::vector<uint32_t> stale_rev_nat_ids_;
  size_t writes_ = 0;
};

}  // namespace switchyard::sync

#endif  // SWITCHYARD_CONTROL_SYNC_PROGRAMMER_H_
