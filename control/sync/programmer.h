// SPDX-License-Identifier: Apache-2.0
// Programs a node's service maps to match a desired state, writing only
// the difference, in an order that never shows a packet a broken service:
//
//   1. backends        new backends, state changes
//   2. slots           new and changed slots (beyond the old count: unseen)
//   3. frontends       new ones (their reverse NAT entries first, all of
//                      them before the first frontend), and
//                      count/set changes: counts grow here, after their
//                      slots exist, and shrink here, before the slots
//                      beyond them go
//   4. frontends       removed (port entries before wildcard entries)
//   2b. Maglev tables  of sets whose endpoints, weights or size changed:
//                      built whole and swapped in (backends exist by now)
//   5. slots           beyond each new count; sets nobody uses, and the
//                      Maglev tables of sets that no longer want one
//   6. backends        no longer in any slot nor draining
//   7. reverse NAT     of removed frontends
//
// So at every single write: a frontend's slots 1..count exist, every slot
// and every Maglev table entry names an existing backend, a Maglev
// frontend with endpoints has its set's table, and every frontend's
// reverse NAT exists.
//
// Work is proportional to the change: Apply reconciles only the frontends
// and sets a DesiredChange names (backends are reference-counted across
// sets), so one endpoint update of one service costs a few map writes and
// no scan of the cluster.
//
// Capacity is checked before the first write: an update that would not
// fit fails whole and writes nothing. A write the kernel refuses midway
// stops the update; the bookkeeping then matches what was written, the
// invariant above still holds, and the next Apply continues from there.
// A writer that holds writes back and makes them in batches reports a
// refused write late, when the bookkeeping already counts the writes
// after it: then the programmer reads the maps back and adopts them, as a
// restarted agent does, and the next full Apply continues from there.
#ifndef SWITCHYARD_CONTROL_SYNC_PROGRAMMER_H_
#define SWITCHYARD_CONTROL_SYNC_PROGRAMMER_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/sync/id_allocator.h"
#include "control/sync/map_writer.h"
#include "control/translate/desired_state.h"

namespace switchyard::sync {

// max_entries of each map; ids run 1..limit-1 for the arrays.
struct Capacity {
  uint32_t frontends = 0;
  uint32_t slots = 0;
  uint32_t backends = 0;
  uint32_t source_ranges = 0;  // 0: unchecked
  uint32_t maglev_tables = 0;  // 0: unchecked
};

struct ProgrammedCounts {
  size_t frontends = 0;
  size_t slots = 0;
  size_t backends = 0;  // listed: active or terminating
  size_t retired_backends = 0;
  size_t sets = 0;
  size_t maglev_tables = 0;
};

class Programmer {
 public:
  Programmer(MapWriter* writer, Capacity capacity);
  Programmer(const Programmer&) = delete;
  Programmer& operator=(const Programmer&) = delete;

  // Takes what the maps already hold (a restarted agent's pinned maps) as
  // the programmed state. Nothing is written: the next full Apply keeps
  // what is still desired in place and removes only what is stale.
  void Adopt(const ProgrammedEntries& entries);

  // Reconciles what `change` names against `desired`.
  absl::Status Apply(const translate::DesiredState& desired,
                     const translate::DesiredChange& change);
  // Reconciles everything.
  absl::Status Apply(const translate::DesiredState& desired);

  // Map writes made by the last Apply.
  size_t last_writes() const { return writes_; }
  ProgrammedCounts counts() const;

 private:
  using BackendAddr = translate::BackendAddr;
  using FrontendKey = translate::FrontendKey;

  struct BackendEntry {
    uint32_t id = 0;
    uint8_t state = 0;           // as written
    uint32_t slot_refs = 0;      // slots naming it, over all sets
    uint32_t draining_refs = 0;  // sets keeping it for its flows
  };
  // What a written Maglev table was built from: equal inputs, equal table
  // (backend ids do not change while a slot names the backend).
  struct MaglevInput {
    uint32_t size = 0;
    std::vector<BackendAddr> backends;
    std::vector<uint32_t> weights;
    bool operator==(const MaglevInput&) const = default;
  };
  struct SetEntry {
    uint32_t svc_id = 0;
    std::vector<BackendAddr> slots;  // slot i + 1; {0, 0} marks a gap
    std::vector<BackendAddr> draining;
    std::optional<MaglevInput> maglev;  // the table written, if any
  };
  struct FrontendEntry {
    yard_svc_value value = {};
    // False: adopted, and no desired frontend has claimed its set yet. The
    // set's name is not kept: the desired state has it, and value.svc_id
    // says which set is written.
    bool set_known = true;
    // In yard_lb_src4 under value.rev_nat_id, as written.
    std::vector<translate::SourceRange> ranges;
  };
  // A flat hash map: an endpoint change looks up each backend it touches
  // five times over (final states, capacity, writes, removal), and in a
  // B-tree of 100,000 backends each lookup was several cache misses: a
  // fifth of the agent's time for a one-endpoint change. Flat, so no heap
  // node per entry (about the B-tree's memory at 100,000); unordered, so
  // the sweep sorts what it retires to keep address order.
  using BackendMap = absl::flat_hash_map<BackendAddr, BackendEntry>;
  using FrontendMap = absl::btree_map<FrontendKey, FrontendEntry>;
  // What one Apply works on, resolved from a DesiredChange. B-trees too:
  // a cold apply of 10,000 services fills them with 20,000 frontends and
  // 100,000 backends, and with a heap node per entry FinalStates alone
  // took 15% of that apply's time.
  struct Work {
    absl::btree_set<std::string> sets;
    absl::btree_set<FrontendKey> frontends;
    bool drop_adopted = false;
    absl::btree_map<std::string, std::vector<BackendAddr>> new_slots;
    absl::btree_set<BackendAddr> touched;  // backends whose refs may reach 0
  };
  // The state each backend ends an Apply in, for those it changes.
  using BackendStates = absl::btree_map<BackendAddr, uint8_t>;

  // Planning, before any write.
  void ClaimAdoptedSets(const translate::DesiredState& desired,
                        const Work& work);
  std::vector<BackendAddr> NewSlotOrder(
      const std::string& set, const std::vector<BackendAddr>& want) const;
  BackendStates FinalStates(const translate::DesiredState& desired,
                            Work& work) const;
  absl::Status CheckCapacity(const translate::DesiredState& desired,
                             const Work& work,
                             const BackendStates& states) const;

  // Writing, in the order above.
  absl::Status WriteBackends(const BackendStates& states);
  absl::Status WriteSlots(const translate::DesiredState& desired, Work& work);
  // The set's Maglev table, when it wants one that differs from what was
  // written; removal waits for TrimSlots (RemoveMaglevTable).
  absl::Status WriteMaglevTable(const translate::BackendSet& want,
                                SetEntry& set);
  absl::Status RemoveMaglevTable(SetEntry& set);
  // Reverse NAT entries written for new frontends that no frontend names
  // yet, by frontend.
  using NewRevNat = std::map<FrontendKey, uint32_t>;
  absl::Status WriteFrontends(const translate::DesiredState& desired,
                              const Work& work);
  // The reverse NAT entries of the port frontends step 3 adds, all before
  // the first frontend: one batch for a batching writer, not one each.
  absl::Status WriteNewRevNat(const translate::DesiredState& desired,
                              const Work& work, NewRevNat& written);
  absl::Status WriteFrontend(const translate::DesiredState& desired,
                             const FrontendKey& key,
                             const translate::Frontend& fe,
                             NewRevNat& new_rev_nats);
  // The set, count and reverse NAT of a port frontend's value; a frontend
  // without a reverse NAT entry takes its one from new_rev_nats, or gets
  // one written here (either way: new_rev_nat).
  absl::Status PortFrontendValue(const translate::DesiredState& desired,
                                 const FrontendKey& key,
                                 const translate::Frontend& fe,
                                 uint32_t current_rev_nat,
                                 NewRevNat& new_rev_nats, yard_svc_value& value,
                                 uint32_t& new_rev_nat);
  absl::Status RemoveFrontends(const translate::DesiredState& desired,
                               const Work& work,
                               std::vector<uint32_t>& freed_rev_nat);
  absl::Status TrimSlots(const translate::DesiredState& desired, Work& work);
  absl::Status RemoveBackends(const Work& work);
  absl::Status RemoveRevNat(const std::vector<uint32_t>& ids);
  // Makes the ranges under rev_nat_id go from `from` to `to`: additions
  // (adding) or removals (!adding) only, so callers can put the frontend
  // write between the two.
  absl::Status UpdateRanges(uint32_t rev_nat_id,
                            std::vector<translate::SourceRange>& from,
                            const std::vector<translate::SourceRange>& to,
                            bool adding);

  absl::Status WriteSlot(uint32_t svc_id, size_t index, SetEntry& set,
                         const BackendAddr& addr, Work& work);
  absl::Status DeleteLastSlot(uint32_t svc_id, std::vector<BackendAddr>& slots,
                              Work& work);
  void Unref(const BackendAddr& addr, bool draining, Work& work);
  // A backend nothing lists any more stays in the map as retired (its TCP
  // flows go on; it keeps its id, so if its endpoint comes back its flows
  // find it again), until its id is needed.
  absl::Status Retire(BackendMap::iterator it);
  // Drops the queue's places of backends revived since, and all but the
  // latest of any backend's.
  void CompactRetired();
  // A backend id: a free one, else the longest-retired backend's.
  absl::StatusOr<uint32_t> AllocateBackendId();
  absl::Status Count(absl::Status status);
  // After a failure the writer reported late: the bookkeeping starts again
  // from what the maps hold. `failure` is the Apply's status, returned
  // with a note when the maps cannot be read either.
  absl::Status Resynchronize(absl::Status failure);
  // Drops every piece of bookkeeping, as before the first Apply.
  void Forget();

  MapWriter* writer_;
  Capacity capacity_;
  IdAllocator backend_ids_;
  IdAllocator set_ids_;
  IdAllocator rev_nat_ids_;
  BackendMap backends_;
  // Retired backends, longest-retired first; an address revived since is
  // skipped when its turn comes (and dropped by CompactRetired).
  std::deque<BackendAddr> retired_;
  size_t retired_count_ = 0;
  std::map<std::string, SetEntry> sets_;
  std::map<uint32_t, std::vector<BackendAddr>> adopted_sets_;  // by svc_id
  // Maglev tables found on adoption that no set has rewritten yet (by
  // set id): removed by the next full Apply.
  std::set<uint32_t> adopted_tables_;
  size_t written_tables_ = 0;  // sets_ entries with a table
  FrontendMap frontends_;
  std::vector<uint32_t> stale_backend_ids_;
  std::vector<uint32_t> stale_rev_nat_ids_;
  // Source-range entries nothing names (adopted, or left by a failure):
  // deleted before their reverse-NAT id can be given out again.
  std::vector<yard_lb_src4_key> stale_ranges_;
  size_t total_ranges_ = 0;
  size_t total_slots_ = 0;
  size_t writes_ = 0;
  // A late failure whose read-back failed too: tried again first thing in
  // the next Apply.
  bool resync_pending_ = false;
};

}  // namespace switchyard::sync

#endif  // SWITCHYARD_CONTROL_SYNC_PROGRAMMER_H_
