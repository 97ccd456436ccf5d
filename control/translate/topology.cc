// SPDX-License-Identifier: Apache-2.0
#include "control/translate/topology.h"

#include <algorithm>

namespace switchyard::translate {

std::vector<uint32_t> EffectiveZoneHints(const Slice& slice,
                                         const SliceEndpoint& endpoint,
                                         bool prefer_close) {
  if (std::span<const uint32_t> hints = slice.HintsOf(endpoint);
      !hints.empty()) {
    return {hints.begin(), hints.end()};
  }
  if (prefer_close && endpoint.zone != kNoZone) return {endpoint.zone};
  return {};
}

bool HintedFor(const std::vector<uint32_t>& hints, uint32_t zone) {
  return std::find(hints.begin(), hints.end(), zone) != hints.end();
}

bool UseZoneHints(const std::vector<ZoneHinted>& endpoints,
                  uint32_t node_zone) {
  if (node_zone == kNoZone) return false;
  bool any_for_zone = false;
  for (const ZoneHinted& ep : endpoints) {
    if (!ep.ready) continue;
    if (ep.hints == nullptr || ep.hints->empty()) return false;
    any_for_zone = any_for_zone || HintedFor(*ep.hints, node_zone);
  }
  return any_for_zone;
}

uint32_t NodeZoneIndex(const ClusterState& state, const std::string& node) {
  std::string zone = state.NodeZone(node);
  return zone.empty() ? kNoZone : state.FindZone(zone);
}

}  // namespace switchyard::translate
