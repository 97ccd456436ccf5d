// SPDX-License-Identifier: Apache-2.0
#include "tests/fakes/fake_map_batches.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace switchyard::testing {
namespace {

template <typename T>
T At(const void* packed, uint32_t i) {
  T out;
  std::memcpy(&out, static_cast<const uint8_t*>(packed) + i * sizeof(T),
              sizeof(T));
  return out;
}

template <typename T>
bool IsZero(const T& value) {
  static const T zero = {};
  return std::memcmp(&value, &zero, sizeof(T)) == 0;
}

}  // namespace

absl::Status FakeMapBatches::Update(Map map, const void* keys,
                                    const void* values, uint32_t count,
                                    uint32_t& done) {
  calls_.push_back(absl::StrCat("update ", sync::MapName(map), " x", count));
  done = 0;
  if (unbatched_.contains(map)) return absl::UnimplementedError("no batches");
  for (; done < count; ++done) {
    absl::Status s;
    switch (map) {
      case Map::kBackends: {
        auto v = At<yard_backend4>(values, done);
        uint32_t id = At<uint32_t>(keys, done);
        // The kernel clears an array entry by writing zeroes.
        s = IsZero(v) ? maps_->ClearBackend(id) : maps_->PutBackend(id, v);
        break;
      }
      case Map::kSlots:
        s = maps_->PutSlot(At<yard_slot_key>(keys, done),
                           At<yard_slot_value>(values, done));
        break;
      case Map::kFrontends:
        s = maps_->PutFrontend(At<yard_svc4_key>(keys, done),
                               At<yard_svc_value>(values, done));
        break;
      case Map::kRevNat: {
        auto v = At<yard_rnat4>(values, done);
        uint32_t id = At<uint32_t>(keys, done);
        s = IsZero(v) ? maps_->ClearRevNat(id) : maps_->PutRevNat(id, v);
        break;
      }
      case Map::kSourceRanges:
        if (At<uint8_t>(values, done) != 1) {
          return absl::InvalidArgumentError("source range value is not 1");
        }
        s = maps_->PutSourceRange(At<yard_lb_src4_key>(keys, done));
        break;
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status FakeMapBatches::Delete(Map map, const void* keys, uint32_t count,
                                    uint32_t& done) {
  calls_.push_back(absl::StrCat("delete ", sync::MapName(map), " x", count));
  done = 0;
  if (unbatched_.contains(map)) return absl::UnimplementedError("no batches");
  for (; done < count; ++done) {
    absl::Status s;
    switch (map) {
      case Map::kSlots:
        s = maps_->DeleteSlot(At<yard_slot_key>(keys, done));
        break;
      case Map::kFrontends:
        s = maps_->DeleteFrontend(At<yard_svc4_key>(keys, done));
        break;
      case Map::kSourceRanges:
        s = maps_->DeleteSourceRange(At<yard_lb_src4_key>(keys, done));
        break;
      default:
        return absl::InvalidArgumentError("arrays are cleared, not deleted");
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status FakeMapBatches::PutMaglevTables(
    absl::Span<const uint32_t> ids,
    absl::Span<const std::vector<uint32_t>> tables, uint32_t& done) {
  calls_.push_back(absl::StrCat("update maglev tables x", ids.size()));
  done = 0;
  if (tables_unbatched_) return absl::UnimplementedError("no batches");
  for (; done < ids.size(); ++done) {
    if (absl::Status s = maps_->PutMaglevTable(ids[done], tables[done]);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status FakeMapBatches::DeleteMaglevTables(absl::Span<const uint32_t> ids,
                                                uint32_t& done) {
  calls_.push_back(absl::StrCat("delete maglev tables x", ids.size()));
  done = 0;
  if (tables_unbatched_) return absl::UnimplementedError("no batches");
  for (; done < ids.size(); ++done) {
    if (absl::Status s = maps_->DeleteMaglevTable(ids[done]); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace switchyard::testing
