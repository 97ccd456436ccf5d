// SPDX-License-Identifier: Apache-2.0
#include "control/agent/kernel_map_writer.h"

namespace switchyard::agent {
namespace {

kernel::DatapathMaps::ServiceMap ServiceMapOf(sync::MapBatches::Map map) {
  using Map = sync::MapBatches::Map;
  using ServiceMap = kernel::DatapathMaps::ServiceMap;
  switch (map) {
    case Map::kBackends:
      return ServiceMap::kBackends;
    case Map::kSlots:
      return ServiceMap::kSlots;
    case Map::kFrontends:
      return ServiceMap::kFrontends;
    case Map::kRevNat:
      return ServiceMap::kRevNat;
    case Map::kSourceRanges:
      return ServiceMap::kLbSrc;
  }
  return ServiceMap::kFrontends;
}

}  // namespace

absl::Status KernelMapBatches::Update(Map map, const void* keys,
                                      const void* values, uint32_t count,
                                      uint32_t& done) {
  return maps_->UpdateBatch(ServiceMapOf(map), keys, values, count, done);
}

absl::Status KernelMapBatches::Delete(Map map, const void* keys, uint32_t count,
                                      uint32_t& done) {
  return maps_->DeleteBatch(ServiceMapOf(map), keys, count, done);
}

}  // namespace switchyard::agent
