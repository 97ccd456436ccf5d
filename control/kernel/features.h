// SPDX-License-Identifier: Apache-2.0
// The datapath's optional kernel features (enum yard_feature): their
// names, which are on, and why the others are off. Pure: the loader
// decides (datapath.cc), this only records and words it.
#ifndef SWITCHYARD_CONTROL_KERNEL_FEATURES_H_
#define SWITCHYARD_CONTROL_KERNEL_FEATURES_H_

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/kernel/abi.h"

namespace switchyard::kernel {

enum class Feature {
  kXdp = YARD_FEATURE_XDP,
  kCoarseClock = YARD_FEATURE_COARSE_CLOCK,
  kNorthSouth = YARD_FEATURE_NORTH_SOUTH,
  kStackBypass = YARD_FEATURE_STACK_BYPASS,
  kMaglevMmap = YARD_FEATURE_MAGLEV_MMAP,
};
inline constexpr int kFeatureCount = YARD_FEATURE_MAX;

// "xdp", "coarse_clock", "north_south", "stack_bypass", "maglev_mmap".
absl::string_view FeatureName(Feature feature);
std::optional<Feature> FeatureByName(absl::string_view name);
std::vector<Feature> AllFeatures();

// A comma-separated list of feature names ("" for none, "all" for every
// acceleration: xdp, coarse_clock, stack_bypass and maglev_mmap;
// north_south only by name, since turning it off removes a capability
// rather than a speed-up).
absl::StatusOr<std::vector<Feature>> ParseFeatureList(absl::string_view list);

absl::string_view FeatureStateName(yard_feature_state state);

// What one load found, feature by feature.
class FeatureSet {
 public:
  // Every feature on until told otherwise.
  FeatureSet();

  bool on(Feature f) const;
  yard_feature_state state(Feature f) const { return states_[Index(f)]; }
  const std::string& why(Feature f) const { return whys_[Index(f)]; }
  void Set(Feature f, yard_feature_state state, std::string why);

  // One line for the agent's log: "xdp=on coarse_clock=off (refused by
  // the kernel: ...) north_south=on stack_bypass=on".
  std::string Summary() const;

  // The map value of yard_features for f.
  yard_feature_value Value(Feature f) const;

 private:
  static int Index(Feature f) { return static_cast<int>(f); }
  std::array<yard_feature_state, kFeatureCount> states_;
  std::array<std::string, kFeatureCount> whys_;
};

// Why a load of the datapath object failed, read from libbpf's log.
struct LoadFailure {
  std::string program;  // the program the kernel refused; "" if none
  std::string reason;   // the verifier's last words, or libbpf's
  std::string map;      // a pinned map that did not match; "" if none
  // A map libbpf could not create ("yard_maglev.inner" for the Maglev
  // tables' template); "" if none.
  std::string map_not_created;
};
LoadFailure ExplainLoadFailure(absl::string_view libbpf_log);

// Which feature, still on in `features`, to turn off so that the load
// that failed with `failure` may succeed; nullopt when none would help.
std::optional<Feature> FeatureToTurnOff(const LoadFailure& failure,
                                        const FeatureSet& features);

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_FEATURES_H_
