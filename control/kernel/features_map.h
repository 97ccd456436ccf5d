// SPDX-License-Identifier: Apache-2.0
// Reading yard_features, the record of optional kernel features the agent
// that loaded a node's datapath left beside its pinned maps.
#ifndef SWITCHYARD_CONTROL_KERNEL_FEATURES_MAP_H_
#define SWITCHYARD_CONTROL_KERNEL_FEATURES_MAP_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/kernel/features.h"

namespace switchyard::kernel {

// nullopt when the pins hold no yard_features (made by an agent older
// than the record).
absl::StatusOr<std::optional<FeatureSet>> ReadPinnedFeatures(
    absl::string_view pin_dir);

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_FEATURES_MAP_H_
