// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/features_map.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "control/kernel/bpf_map.h"

namespace switchyard::kernel {

absl::StatusOr<std::optional<FeatureSet>> ReadPinnedFeatures(
    absl::string_view pin_dir) {
  absl::StatusOr<BpfMap> map =
      BpfMap::OpenPinned(absl::StrCat(pin_dir, "/", YARD_MAP_FEATURES));
  if (absl::IsNotFound(map.status())) return std::optional<FeatureSet>();
  if (!map.ok()) return map.status();
  FeatureSet features;
  for (Feature f : AllFeatures()) {
    absl::StatusOr<std::optional<yard_feature_value>> value =
        map->Lookup<yard_feature_value>(static_cast<uint32_t>(f));
    if (!value.ok()) return value.status();
    // An array has every index below its size: a missing one is a feature
    // newer than the agent that made the pins (its map had one entry per
    // feature it knew), so nothing was recorded for it.
    if (!value->has_value()) {
      features.Set(f, YARD_FEATURE_UNKNOWN, "");
      continue;
    }
    yard_feature_value& v = **value;
    v.why[sizeof(v.why) - 1] = '\0';
    features.Set(f, static_cast<yard_feature_state>(v.state),
                 std::string(v.why, strnlen(v.why, sizeof(v.why))));
  }
  return std::optional<FeatureSet>(std::move(features));
}

}  // namespace switchyard::kernel
