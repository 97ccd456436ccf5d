// SPDX-License-Identifier: Apache-2.0
// A MapWriter that makes the programmer's consecutive writes to one map in
// one syscall (BPF_MAP_UPDATE_BATCH / BPF_MAP_DELETE_BATCH): a cold sync
// of 10,000 services is 230,000 entries, and one bpf() call each was most
// of the agent's time.
//
// Order is kept exactly: writes are held while they go to the same map
// and are of the same kind (updates, or deletes); the next write to
// another map or of the other kind and Flush make the held ones first.
// Maglev tables are held the same way, consecutive puts (or deletes)
// together: the kernel waits for running programs after every write to a
// map of maps (a full RCU grace period, 17 ms on the bench VM), once per
// call, so one call for many tables is one wait instead of one each.
// The kernel writes a batch in order and stops at the first entry it
// refuses, so the maps always hold a prefix of the programmer's writes:
// the state a one-by-one writer leaves when that entry fails, never a
// half-programmed service.
//
// What changes is when a failure is seen: by the call that made the
// batch, not by the write that failed. From then on every call fails
// without writing (a write after a refused one could break the order),
// until ReadBack tells the caller what the maps really hold.
//
// Deletes of absent entries (and tables) are skipped, as the programmer
// ignores them.
// A map whose kernel has no batch calls (LPM tries on older kernels; any
// map before 5.6) is written one call per entry through `entries`,
// decided at its first batch and logged.
#ifndef SWITCHYARD_CONTROL_SYNC_BATCHING_MAP_WRITER_H_
#define SWITCHYARD_CONTROL_SYNC_BATCHING_MAP_WRITER_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "control/sync/map_writer.h"

namespace switchyard::sync {

// The kernel's batch calls on the service maps: many entries of one map,
// one call.
class MapBatches {
 public:
  enum class Map : uint8_t {
    kBackends,
    kSlots,
    kFrontends,
    kRevNat,
    kSourceRanges,
  };
  static constexpr size_t kMaps = 5;

  virtual ~MapBatches() = default;
  // Writes keys[i] -> values[i] for i < count (packed C structs), in
  // order, stopping at the first entry refused. `done` says how many were
  // written. Unimplemented: this map has no batch calls (nothing written).
  // The source-range trie's value is one byte, 1.
  virtual absl::Status Update(Map map, const void* keys, const void* values,
                              uint32_t count, uint32_t& done) = 0;
  // Deletes keys[i] likewise; NotFound when keys[done] is absent.
  virtual absl::Status Delete(Map map, const void* keys, uint32_t count,
                              uint32_t& done) = 0;
  // Maglev tables (yard_maglev): tables[i] becomes set ids[i]'s, each
  // swapped in whole, in order, stopping at the first refused. `done` as
  // Update's; it may stop short with OK (a call's memory bound), and the
  // caller goes on from there. Unimplemented: no batch calls (the default:
  // tables are then written one per call).
  virtual absl::Status PutMaglevTables(
      absl::Span<const uint32_t> ids,
      absl::Span<const std::vector<uint32_t>> tables, uint32_t& done) {
    done = 0;
    return absl::UnimplementedError("no batch calls for Maglev tables");
  }
  // Deletes the tables of sets ids[i] likewise; NotFound when ids[done]
  // has none.
  virtual absl::Status DeleteMaglevTables(absl::Span<const uint32_t> ids,
                                          uint32_t& done) {
    done = 0;
    return absl::UnimplementedError("no batch calls for Maglev tables");
  }
};

const char* MapName(MapBatches::Map map);

class BatchingMapWriter : public MapWriter {
 public:
  // `entries` writes one entry per call to the same maps: for maps with
  // no batch calls and for ReadBack.
  BatchingMapWriter(MapWriter* entries, MapBatches* batches)
      : entries_(entries), batches_(batches) {}
  BatchingMapWriter(const BatchingMapWriter&) = delete;
  BatchingMapWriter& operator=(const BatchingMapWriter&) = delete;

  absl::Status PutBackend(uint32_t id, const yard_backend4& value) override;
  absl::Status ClearBackend(uint32_t id) override;
  absl::Status PutSlot(const yard_slot_key& key,
                       const yard_slot_value& value) override;
  absl::Status DeleteSlot(const yard_slot_key& key) override;
  absl::Status PutFrontend(const yard_svc4_key& key,
                           const yard_svc_value& value) override;
  absl::Status DeleteFrontend(const yard_svc4_key& key) override;
  absl::Status PutRevNat(uint32_t id, const yard_rnat4& value) override;
  absl::Status ClearRevNat(uint32_t id) override;
  absl::Status PutSourceRange(const yard_lb_src4_key& key) override;
  absl::Status DeleteSourceRange(const yard_lb_src4_key& key) override;
  absl::Status PutMaglevTable(uint32_t svc_id,
                              const std::vector<uint32_t>& table) override;
  absl::Status DeleteMaglevTable(uint32_t svc_id) override;

  absl::Status Flush() override;
  bool DefersFailures() const override { return true; }
  absl::StatusOr<ProgrammedEntries> ReadBack() override;

  // True once the map turned out to have no batch calls.
  bool OneByOne(MapBatches::Map map) const {
    return one_by_one_[static_cast<size_t>(map)];
  }
  bool TablesOneByOne() const { return tables_one_by_one_; }
  // Batch calls made so far (each one syscall), for tests and logs.
  size_t batch_calls() const { return batch_calls_; }

 private:
  // One held write, as the programmer made it (the fallback replays it
  // with the same call, so a Clear stays a Clear).
  enum class Call : uint8_t {
    kPutBackend,
    kClearBackend,
    kPutSlot,
    kDeleteSlot,
    kPutFrontend,
    kDeleteFrontend,
    kPutRevNat,
    kClearRevNat,
    kPutSourceRange,
    kDeleteSourceRange,
  };
  struct Held {
    Call call;
    union {
      uint32_t id;
      yard_slot_key slot;
      yard_svc4_key frontend;
      yard_lb_src4_key range;
    } key;
    union {
      yard_backend4 backend;
      yard_slot_value slot;
      yard_svc_value frontend;
      yard_rnat4 rev_nat;
      uint8_t admitted;
    } value;
  };

  static MapBatches::Map MapOf(Call call);
  static bool IsDelete(Call call);
  // Holds `held`, first making what is held if it cannot join them.
  absl::Status Hold(const Held& held);
  // Writes held_[from..] as one batch, or one by one; returns how far it
  // got in `from` and the first failure.
  absl::Status WriteBatch(size_t& from);
  absl::Status WriteOneByOne(size_t& from);
  absl::Status WriteOne(const Held& held);
  // The held write at `index` named for an error message.
  std::string Describe(size_t index) const;
  // Makes the held Maglev table puts or deletes (never both at once), in
  // batches where the kernel has them.
  absl::Status FlushTables();
  absl::Status WriteTableBatch(size_t& from);
  absl::Status WriteTablesOneByOne(size_t& from);
  bool HoldsTables() const { return !table_ids_.empty(); }

  MapWriter* entries_;
  MapBatches* batches_;
  std::vector<Held> held_;
  // Held Maglev table writes: sets' ids, with their tables when they are
  // puts (tables_ empty: deletes).
  std::vector<uint32_t> table_ids_;
  std::vector<std::vector<uint32_t>> tables_;
  bool tables_one_by_one_ = false;
  // Scratch for the packed keys and values of one batch.
  std::vector<uint8_t> keys_, values_;
  std::array<bool, MapBatches::kMaps> one_by_one_ = {};
  absl::Status failed_;
  size_t batch_calls_ = 0;
};

}  // namespace switchyard::sync

#endif  // SWITCHYARD_CONTROL_SYNC_BATCHING_MAP_WRITER_H_
