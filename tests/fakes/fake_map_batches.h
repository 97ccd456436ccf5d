// SPDX-License-Identifier: Apache-2.0
// The kernel's batch calls over a FakeMapWriter: each batch is written
// entry by entry in order and stops at the first entry refused, as the
// kernel's generic batch update does, so the fake's invariant is checked
// after every entry and FailWriteAt can refuse one in the middle of a
// batch. It records every call and can play a kernel without batch calls.
#ifndef SWITCHYARD_TESTS_FAKES_FAKE_MAP_BATCHES_H_
#define SWITCHYARD_TESTS_FAKES_FAKE_MAP_BATCHES_H_

#include <set>
#include <string>
#include <vector>

#include "control/sync/batching_map_writer.h"
#include "tests/fakes/fake_map_writer.h"

namespace switchyard::testing {

class FakeMapBatches : public sync::MapBatches {
 public:
  explicit FakeMapBatches(FakeMapWriter* maps) : maps_(maps) {}

  absl::Status Update(Map map, const void* keys, const void* values,
                      uint32_t count, uint32_t& done) override;
  absl::Status Delete(Map map, const void* keys, uint32_t count,
                      uint32_t& done) override;
  absl::Status PutMaglevTables(absl::Span<const uint32_t> ids,
                               absl::Span<const std::vector<uint32_t>> tables,
                               uint32_t& done) override;
  absl::Status DeleteMaglevTables(absl::Span<const uint32_t> ids,
                                  uint32_t& done) override;

  // Answers Unimplemented for this map's batches, like an LPM trie.
  void NoBatchCallsFor(Map map) { unbatched_.insert(map); }
  // Answers Unimplemented for Maglev table batches, like an older kernel.
  void NoTableBatches() { tables_unbatched_ = true; }
  // Every batch call, e.g. "update backends x3", in order.
  const std::vector<std::string>& calls() const { return calls_; }

 private:
  FakeMapWriter* maps_;
  std::set<Map> unbatched_;
  bool tables_unbatched_ = false;
  std::vector<std::string> calls_;
};

}  // namespace switchyard::testing

#endif  // SWITCHYARD_TESTS_FAKES_FAKE_MAP_BATCHES_H_
