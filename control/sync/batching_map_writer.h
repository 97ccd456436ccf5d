// SPDX-License-Identifier: Apache-2.0
// A MapWriter that makes the programmer's consecutive writes to one map in
// one syscall (BPF_MAP_UPDATE_BATCH / BPF_MAP_DELETE_BATCH): a cold sync
// of 10,000 services is 230,000 entries, and one bpf() call each was most
// of the agent's time.
//
// Order is kept exactly: writes are held while they go to the same map
// and are of the same kind (updates, or deletes); the next write to
// another map or of the other kind, a Maglev table write (never batched)
// and Flush make the held ones first. The kernel writes a batch in order
// and stops at the first entry it refuses, so the maps always hold a
// prefix of the programmer's writes: the state a one-by-one writer leaves
// when that entry fails, never a half-programmed service.
//
// What changes is when a failure is seen: by the call that made the
// batch, not by the write that failed. From then on every call fails
// without writing (a write after a refused one could break the order),
// until ReadBack tells the caller what the maps really hold.
//
// Deletes of absent entries are skipped, as the programmer ignores them.
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
};

const char* MapName(MapBatches::Map map);

class BatchingMapWriter : public MapWriter {
 public:
  // `entries` writes one entry per call to the same maps: for maps with
  // no batch calls, for Maglev tables, and for ReadBack.
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

  MapWriter* entries_;
  MapBatches* batches_;
  std::vector<Held> held_;
  // Scratch for the packed keys and values of one batch.
  std::vector<uint8_t> keys_, values_;
  std::array<bool, MapBatches::kMaps> one_by_one_ = {};
  absl::Status failed_;
  size_t batch_calls_ = 0;
};

}  // namespace switchyard::sync

#endif  // SWITCHYARD_CONTROL_SYNC_BATCHING_MAP_WRITER_H_
