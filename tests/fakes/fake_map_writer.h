// SPDX-License-Identifier: Apache-2.0
// In-memory stand-in for the datapath's service maps. After every single
// write it checks the invariant the datapath relies on, and it can refuse
// the Nth write, so tests can prove an update never shows a broken state.
#ifndef SWITCHYARD_TESTS_FAKES_FAKE_MAP_WRITER_H_
#define SWITCHYARD_TESTS_FAKES_FAKE_MAP_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "control/sync/map_writer.h"

namespace switchyard::testing {

class FakeMapWriter : public sync::MapWriter {
 public:
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
  absl::StatusOr<sync::ProgrammedEntries> ReadBack() override {
    return entries_;
  }

  // The first violation seen after any write, or "" when none was.
  const std::string& violation() const { return violation_; }
  // Every write so far, e.g. "put-slot 3/1=7", in order.
  const std::vector<std::string>& log() const { return log_; }
  const sync::ProgrammedEntries& entries() const { return entries_; }
  size_t writes() const { return log_.size(); }

  // Refuses the write numbered n (0-based, counted from now) with
  // UNAVAILABLE; -1 refuses none.
  void FailWriteAt(int n) {
    fail_at_ = n;
    seen_ = 0;
  }

 private:
  absl::Status Before(std::string what);
  void Check();

  sync::ProgrammedEntries entries_;
  std::vector<std::string> log_;
  std::string violation_;
  int fail_at_ = -1;
  int seen_ = 0;
};

}  // namespace switchyard::testing

#endif  // SWITCHYARD_TESTS_FAKES_FAKE_MAP_WRITER_H_
