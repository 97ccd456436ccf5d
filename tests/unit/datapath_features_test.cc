// SPDX-License-Identifier: Apache-2.0
// The datapath's optional features without a kernel: names, the forced-off
// list, and what a failed load's libbpf log says about which feature to
// turn off. (tests/bpf/datapath_features_test.cc loads the real object.)
#include "absl/strings/match.h"
#include "control/kernel/features.h"
#include "gtest/gtest.h"

namespace switchyard::kernel {
namespace {

// What libbpf 1.1 prints when the verifier refuses a program, as on the
// kernels that refuse bpf_xdp_adjust_meta in XDP.
constexpr absl::string_view kRefusedXdpLog =
    "libbpf: prog 'yard_from_outside': BPF program load failed: Invalid "
    "argument\n"
    "libbpf: prog 'yard_from_outside': -- BEGIN PROG LOAD LOG --\n"
    "0: R1=ctx(off=0,imm=0) R10=fp0\n"
    "; if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta))) @ xdp_nat.h:104\n"
    "163: (85) call bpf_xdp_adjust_meta#54\n"
    "program of this type cannot use helper bpf_xdp_adjust_meta#54\n"
    "processed 1234 insns (limit 1000000) max_states_per_insn 4 "
    "total_states 100 peak_states 100 mark_read 10\n"
    "-- END PROG LOAD LOG --\n"
    "libbpf: prog 'yard_from_outside': failed to load: -22\n"
    "libbpf: failed to load object 'yard_datapath'\n"
    "libbpf: failed to load BPF skeleton 'yard_datapath': -22\n";

// What libbpf 1.1 prints when the kernel refuses the Maglev tables'
// template (seen here with flags the kernel does not know).
constexpr absl::string_view kRefusedMaglevTemplateLog =
    "libbpf: Error in bpf_create_map_xattr(yard_maglev.inner):Invalid "
    "argument(-22). Retrying without BTF.\n"
    "libbpf: map 'yard_maglev': failed to create inner map: -22\n"
    "libbpf: map 'yard_maglev': failed to create: Invalid argument(-22)\n"
    "libbpf: failed to load object 'yard_datapath'\n"
    "libbpf: failed to load BPF skeleton 'yard_datapath': -22\n";

constexpr absl::string_view kMapMismatchLog =
    "libbpf: couldn't reuse pinned map at '/sys/fs/bpf/x/yard_ct4': "
    "parameter mismatch\n"
    "libbpf: map 'yard_ct4': error reusing pinned map\n"
    "libbpf: map 'yard_ct4': failed to create: Invalid argument(-22)\n"
    "libbpf: failed to load object 'yard_datapath'\n";

TEST(DatapathFeaturesTest, NamesRoundTrip) {
  for (Feature f : AllFeatures()) {
    EXPECT_EQ(FeatureByName(FeatureName(f)), f);
  }
  EXPECT_EQ(FeatureByName("xdp"), Feature::kXdp);
  EXPECT_FALSE(FeatureByName("XDP").has_value());
}

TEST(DatapathFeaturesTest, ParseFeatureList) {
  auto none = ParseFeatureList("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto two = ParseFeatureList(" xdp , coarse_clock");
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(*two, (std::vector<Feature>{Feature::kXdp, Feature::kCoarseClock}));
  // "all" is the accelerations, not north-south itself.
  auto all = ParseFeatureList("all");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<Feature>{Feature::kXdp, Feature::kCoarseClock,
                                        Feature::kStackBypass,
                                        Feature::kMaglevMmap}));
  auto bypass = ParseFeatureList("stack_bypass");
  ASSERT_TRUE(bypass.ok()) << bypass.status();
  EXPECT_EQ(*bypass, (std::vector<Feature>{Feature::kStackBypass}));
  auto bad = ParseFeatureList("xdp,turbo");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "'turbo'"));
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "coarse_clock"));
}

TEST(DatapathFeaturesTest, SummaryNamesEveryFeatureAndWhyOff) {
  FeatureSet features;
  EXPECT_EQ(features.Summary(),
            "xdp=on coarse_clock=on north_south=on stack_bypass=on "
            "maglev_mmap=on");
  features.Set(Feature::kXdp, YARD_FEATURE_OFF_REFUSED,
               "refused by the kernel: no");
  EXPECT_EQ(features.Summary(),
            "xdp=off (refused by the kernel: no) coarse_clock=on "
            "north_south=on stack_bypass=on maglev_mmap=on");
  EXPECT_FALSE(features.on(Feature::kXdp));
  features.Set(Feature::kXdp, YARD_FEATURE_OFF_PARTLY, "tc only on eth1");
  EXPECT_TRUE(features.on(Feature::kXdp));
}

TEST(DatapathFeaturesTest, ValueTruncatesWhyAndTerminatesIt) {
  FeatureSet features;
  features.Set(Feature::kCoarseClock, YARD_FEATURE_OFF_FORCED,
               std::string(500, 'x'));
  yard_feature_value v = features.Value(Feature::kCoarseClock);
  EXPECT_EQ(v.state, YARD_FEATURE_OFF_FORCED);
  EXPECT_EQ(v.why[sizeof(v.why) - 1], '\0');
  EXPECT_EQ(std::string(v.why).size(), sizeof(v.why) - 1);
}

TEST(DatapathFeaturesTest, RefusedXdpProgramTurnsXdpOff) {
  const LoadFailure failure = ExplainLoadFailure(kRefusedXdpLog);
  EXPECT_EQ(failure.program, "yard_from_outside");
  EXPECT_EQ(failure.reason,
            "program of this type cannot use helper bpf_xdp_adjust_meta#54");
  EXPECT_TRUE(failure.map.empty());
  FeatureSet features;
  EXPECT_EQ(FeatureToTurnOff(failure, features), Feature::kXdp);
  // Already off: nothing more to try.
  features.Set(Feature::kXdp, YARD_FEATURE_OFF_REFUSED, "");
  EXPECT_FALSE(FeatureToTurnOff(failure, features).has_value());
}

TEST(DatapathFeaturesTest, UnknownCoarseClockTurnsTheClockOffWherever) {
  const LoadFailure failure = ExplainLoadFailure(
      "libbpf: prog 'yard_from_pod': BPF program load failed: Invalid "
      "argument\n"
      "libbpf: prog 'yard_from_pod': -- BEGIN PROG LOAD LOG --\n"
      "unknown func bpf_ktime_get_coarse_ns#160\n"
      "processed 10 insns\n"
      "-- END PROG LOAD LOG --\n");
  EXPECT_EQ(failure.program, "yard_from_pod");
  EXPECT_EQ(FeatureToTurnOff(failure, FeatureSet()), Feature::kCoarseClock);
}

TEST(DatapathFeaturesTest, RefusedTcNorthSouthTurnsNorthSouthOff) {
  LoadFailure failure;
  failure.program = "yard_to_outside";
  failure.reason = "R1 invalid mem access";
  EXPECT_EQ(FeatureToTurnOff(failure, FeatureSet()), Feature::kNorthSouth);
}

TEST(DatapathFeaturesTest, RefusedPodProgramTurnsTheBypassOffFirst) {
  const LoadFailure failure = ExplainLoadFailure(
      "libbpf: prog 'yard_from_pod': BPF program load failed: Invalid "
      "argument\n"
      "libbpf: prog 'yard_from_pod': -- BEGIN PROG LOAD LOG --\n"
      "unknown func bpf_redirect_peer#155\n"
      "processed 10 insns\n"
      "-- END PROG LOAD LOG --\n");
  EXPECT_EQ(failure.program, "yard_from_pod");
  FeatureSet features;
  EXPECT_EQ(FeatureToTurnOff(failure, features), Feature::kStackBypass);
  features.Set(Feature::kStackBypass, YARD_FEATURE_OFF_REFUSED, "");
  EXPECT_FALSE(FeatureToTurnOff(failure, features).has_value());
}

TEST(DatapathFeaturesTest, RefusedPodProgramHasNoFallback) {
  LoadFailure failure;
  failure.program = "yard_from_pod";
  failure.reason = "R1 invalid mem access";
  FeatureSet features;
  features.Set(Feature::kStackBypass, YARD_FEATURE_OFF_FORCED, "");
  EXPECT_FALSE(FeatureToTurnOff(failure, features).has_value());
}

TEST(DatapathFeaturesTest, PinnedMapMismatchIsNotARefusal) {
  const LoadFailure failure = ExplainLoadFailure(kMapMismatchLog);
  EXPECT_EQ(failure.map, "yard_ct4");
  EXPECT_TRUE(failure.program.empty());
  EXPECT_FALSE(FeatureToTurnOff(failure, FeatureSet()).has_value());
  // Nor is the creation failure libbpf reports after it.
  EXPECT_TRUE(failure.map_not_created.empty());
  EXPECT_TRUE(absl::StrContains(failure.reason, "error reusing pinned map"))
      << failure.reason;
}

TEST(DatapathFeaturesTest, RefusedMaglevTemplateTurnsMaglevMmapOff) {
  const LoadFailure failure = ExplainLoadFailure(kRefusedMaglevTemplateLog);
  EXPECT_EQ(failure.map_not_created, "yard_maglev");
  EXPECT_TRUE(failure.program.empty());
  EXPECT_TRUE(failure.map.empty());
  EXPECT_EQ(FeatureToTurnOff(failure, FeatureSet()), Feature::kMaglevMmap);
  // Already off: the refusal is the load's error.
  FeatureSet off;
  off.Set(Feature::kMaglevMmap, YARD_FEATURE_OFF_FORCED, "");
  EXPECT_FALSE(FeatureToTurnOff(failure, off).has_value());
}

}  // namespace
}  // namespace switchyard::kernel
