// SPDX-License-Identifier: Apache-2.0
// The programmer's MapWriter over the real, pinned maps: one syscall per
// entry (KernelMapWriter), and the batch calls a BatchingMapWriter makes
// many entries with (KernelMapBatches).
#ifndef SWITCHYARD_CONTROL_AGENT_KERNEL_MAP_WRITER_H_
#define SWITCHYARD_CONTROL_AGENT_KERNEL_MAP_WRITER_H_

#include "absl/status/statusor.h"
#include "control/kernel/datapath_maps.h"
#include "control/sync/batching_map_writer.h"
#include "control/sync/map_writer.h"

namespace switchyard::agent {

// Everything the service maps hold now: what a restarted agent adopts.
// Inline, like the writer: tools that write the maps link no agent code.
inline absl::StatusOr<sync::ProgrammedEntries> ReadProgrammed(
    const kernel::DatapathMaps& maps) {
  sync::ProgrammedEntries out;
  auto frontends = maps.DumpFrontends();
  if (!frontends.ok()) return frontends.status();
  for (const auto& [key, value] : *frontends) out.frontends[key] = value;
  auto slots = maps.DumpSlots();
  if (!slots.ok()) return slots.status();
  for (const auto& [key, value] : *slots) out.slots[key] = value;
  auto backends = maps.DumpBackends();
  if (!backends.ok()) return backends.status();
  for (const auto& [id, value] : *backends) out.backends[id] = value;
  auto rev_nat = maps.DumpRevNat();
  if (!rev_nat.ok()) return rev_nat.status();
  for (const auto& [id, value] : *rev_nat) out.rev_nat[id] = value;
  auto ranges = maps.DumpSourceRanges();
  if (!ranges.ok()) return ranges.status();
  out.source_ranges = std::move(*ranges);
  auto tables = maps.MaglevTableIds();
  if (!tables.ok()) return tables.status();
  for (uint32_t id : *tables) out.maglev_tables[id] = {};
  return out;
}

class KernelMapWriter : public sync::MapWriter {
 public:
  explicit KernelMapWriter(kernel::DatapathMaps* maps) : maps_(maps) {}

  absl::Status PutBackend(uint32_t id, const yard_backend4& value) override {
    return maps_->PutBackend(id, value);
  }
  absl::Status ClearBackend(uint32_t id) override {
    return maps_->ClearBackend(id);
  }
  absl::Status PutSlot(const yard_slot_key& key,
                       const yard_slot_value& value) override {
    return maps_->PutSlot(key, value);
  }
  absl::Status DeleteSlot(const yard_slot_key& key) override {
    return maps_->DeleteSlot(key);
  }
  absl::Status PutFrontend(const yard_svc4_key& key,
                           const yard_svc_value& value) override {
    return maps_->PutFrontend(key, value);
  }
  absl::Status DeleteFrontend(const yard_svc4_key& key) override {
    return maps_->DeleteFrontend(key);
  }
  absl::Status PutRevNat(uint32_t id, const yard_rnat4& value) override {
    return maps_->PutRevNat(id, value);
  }
  absl::Status ClearRevNat(uint32_t id) override {
    return maps_->ClearRevNat(id);
  }
  absl::Status PutSourceRange(const yard_lb_src4_key& key) override {
    return maps_->PutSourceRange(key);
  }
  absl::Status DeleteSourceRange(const yard_lb_src4_key& key) override {
    return maps_->DeleteSourceRange(key);
  }
  absl::Status PutMaglevTable(uint32_t svc_id,
                              const std::vector<uint32_t>& table) override {
    return maps_->PutMaglevTable(svc_id, table);
  }
  absl::Status DeleteMaglevTable(uint32_t svc_id) override {
    return maps_->DeleteMaglevTable(svc_id);
  }
  absl::StatusOr<sync::ProgrammedEntries> ReadBack() override {
    return ReadProgrammed(*maps_);
  }

 private:
  kernel::DatapathMaps* maps_;
};

class KernelMapBatches : public sync::MapBatches {
 public:
  explicit KernelMapBatches(kernel::DatapathMaps* maps) : maps_(maps) {}

  absl::Status Update(Map map, const void* keys, const void* values,
                      uint32_t count, uint32_t& done) override;
  absl::Status Delete(Map map, const void* keys, uint32_t count,
                      uint32_t& done) override;
  absl::Status PutMaglevTables(absl::Span<const uint32_t> ids,
                               absl::Span<const std::vector<uint32_t>> tables,
                               uint32_t& done) override {
    return maps_->PutMaglevTables(ids, tables, done);
  }
  absl::Status DeleteMaglevTables(absl::Span<const uint32_t> ids,
                                  uint32_t& done) override {
    return maps_->DeleteMaglevTables(ids, done);
  }

 private:
  kernel::DatapathMaps* maps_;
};

}  // namespace switchyard::agent

#endif  // SWITCHYARD_CONTROL_AGENT_KERNEL_MAP_WRITER_H_
