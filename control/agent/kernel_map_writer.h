// SPDX-License-Identifier: Apache-2.0
// The programmer's MapWriter over the real, pinned maps.
#ifndef SWITCHYARD_CONTROL_AGENT_KERNEL_MAP_WRITER_H_
#define SWITCHYARD_CONTROL_AGENT_KERNEL_MAP_WRITER_H_

#include "absl/status/statusor.h"
#include "control/kernel/datapath_maps.h"
#include "control/sync/map_writer.h"

namespace switchyard::agent {

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

 private:
  kernel::DatapathMaps* maps_;
};

// Everything the service maps hold now: what a restarted agent adopts.
absl::StatusOr<sync::ProgrammedEntries> ReadProgrammed(
    const kernel::DatapathMaps& maps);

}  // namespace switchyard::agent

#endif  // SWITCHYARD_CONTROL_AGENT_KERNEL_MAP_WRITER_H_
