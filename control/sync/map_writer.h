// SPDX-License-Identifier: Apache-2.0
// The datapath's service maps as the programmer sees them: one call per
// entry, so tests can watch every single write through a fake. A writer
// may hold writes back and make them together (batching_map_writer.h);
// Flush, DefersFailures and ReadBack are what a caller needs to know then.
#ifndef SWITCHYARD_CONTROL_SYNC_MAP_WRITER_H_
#define SWITCHYARD_CONTROL_SYNC_MAP_WRITER_H_

#include <cstdint>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "yard_abi.h"

namespace switchyard::sync {

// Orderable forms of the C keys, for maps on the C++ side.
inline auto Tie(const yard_svc4_key& k) {
  return std::make_tuple(k.addr, k.port, k.proto, k.scope);
}
struct Svc4KeyLess {
  bool operator()(const yard_svc4_key& a, const yard_svc4_key& b) const {
    return Tie(a) < Tie(b);
  }
};
inline auto Tie(const yard_slot_key& k) {
  return std::make_tuple(k.svc_id, k.slot);
}
struct SlotKeyLess {
  bool operator()(const yard_slot_key& a, const yard_slot_key& b) const {
    return Tie(a) < Tie(b);
  }
};

// Everything the service maps hold (empty array entries left out): what a
// restarted agent adopts.
struct ProgrammedEntries {
  std::map<uint32_t, yard_backend4> backends;
  std::map<yard_slot_key, yard_slot_value, SlotKeyLess> slots;
  std::map<yard_svc4_key, yard_svc_value, Svc4KeyLess> frontends;
  std::map<uint32_t, yard_rnat4> rev_nat;
  std::vector<yard_lb_src4_key> source_ranges;
  // Maglev tables by backend set id. Adoption needs only the ids: a
  // restarted agent writes every table it keeps once more.
  std::map<uint32_t, std::vector<uint32_t>> maglev_tables;
};

class MapWriter {
 public:
  virtual ~MapWriter() = default;
  virtual absl::Status PutBackend(uint32_t id, const yard_backend4& value) = 0;
  virtual absl::Status ClearBackend(uint32_t id) = 0;
  virtual absl::Status PutSlot(const yard_slot_key& key,
                               const yard_slot_value& value) = 0;
  virtual absl::Status DeleteSlot(const yard_slot_key& key) = 0;
  virtual absl::Status PutFrontend(const yard_svc4_key& key,
                                   const yard_svc_value& value) = 0;
  virtual absl::Status DeleteFrontend(const yard_svc4_key& key) = 0;
  virtual absl::Status PutRevNat(uint32_t id, const yard_rnat4& value) = 0;
  virtual absl::Status ClearRevNat(uint32_t id) = 0;
  // loadBalancerSourceRanges entries (yard_lb_src4).
  virtual absl::Status PutSourceRange(const yard_lb_src4_key& key) = 0;
  virtual absl::Status DeleteSourceRange(const yard_lb_src4_key& key) = 0;
  // A backend set's Maglev lookup table (yard_maglev), replaced whole in
  // one step: table[0] is its size M, table[1..M] backend ids.
  virtual absl::Status PutMaglevTable(uint32_t svc_id,
                                      const std::vector<uint32_t>& table) = 0;
  virtual absl::Status DeleteMaglevTable(uint32_t svc_id) = 0;

  // Makes every write held back so far. Writers that hold none have
  // nothing to do.
  virtual absl::Status Flush() { return absl::OkStatus(); }
  // True when a call's failure may belong to an earlier call (a held write
  // that failed when the writer made it): the caller cannot tell which of
  // its writes landed, and learns it from ReadBack.
  virtual bool DefersFailures() const { return false; }
  // Everything the maps hold now. Drops held writes and a pending failure:
  // the caller starts again from what is really there.
  virtual absl::StatusOr<ProgrammedEntries> ReadBack() {
    return absl::UnimplementedError("this writer cannot read the maps");
  }
};

}  // namespace switchyard::sync

#endif  // SWITCHYARD_CONTROL_SYNC_MAP_WRITER_H_
