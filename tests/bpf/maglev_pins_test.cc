// SPDX-License-Identifier: Apache-2.0
// A restarted agent adopts a pinned yard_maglev whose tables' flags were
// fixed when it was made: one made without mappable tables (an earlier
// agent's, or one with maglev_mmap off) keeps taking plain tables, with
// the feature off and saying why, whether it holds tables or none; one
// made with them keeps taking mappable tables when the feature is then
// turned off by configuration. Either way every table write works.
#include <bpf/bpf.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "control/kernel/datapath.h"
#include "gtest/gtest.h"
#include "tests/bpf/scoped_pin_root.h"
#include "tests/e2e/support/assert_ok.h"

namespace switchyard {
namespace {

using kernel::Datapath;
using kernel::DatapathConfig;
using kernel::Feature;

// A table of `size` entries naming backend `id` throughout.
std::vector<uint32_t> TableOf(uint32_t id, uint32_t size = 7) {
  std::vector<uint32_t> table(size + 1, id);
  table[0] = size;
  return table;
}

// The kernel's id of the array holding `set`'s table.
std::optional<uint32_t> TableMapId(Datapath& dp, uint32_t set) {
  absl::StatusOr<std::optional<uint32_t>> id = dp.maps().MaglevTableMapId(set);
  EXPECT_TRUE(id.ok()) << id.status();
  return id.ok() ? *id : std::nullopt;
}

class MaglevPinsTest : public ::testing::Test {
 protected:
  DatapathConfig Config(bool maglev_mmap) const {
    DatapathConfig config;
    config.pin_dir = pins_.Node("node-a");
    config.max_frontends = 32;
    config.max_slots = 64;
    config.max_backends = 16;
    config.max_ct_entries = 1024;
    config.max_maglev_tables = 8;
    if (!maglev_mmap) config.features_off = {Feature::kMaglevMmap};
    return config;
  }

  std::unique_ptr<Datapath> Load(bool maglev_mmap) {
    absl::StatusOr<std::unique_ptr<Datapath>> dp =
        Datapath::Load(Config(maglev_mmap));
    EXPECT_TRUE(dp.ok()) << dp.status();
    return dp.ok() ? *std::move(dp) : nullptr;
  }

  // Sets 1 and 2 get tables (the first a replacement when it has one),
  // and read back as written.
  void ExpectTablesWritable(Datapath& dp) {
    for (uint32_t set : {1u, 2u}) {
      const std::vector<uint32_t> table = TableOf(set + 3);
      ASSERT_OK(dp.maps().PutMaglevTable(set, table));
      absl::StatusOr<std::vector<uint32_t>> read =
          dp.maps().ReadMaglevTable(set);
      ASSERT_TRUE(read.ok()) << read.status();
      EXPECT_EQ(*read, table) << "set " << set;
    }
  }

  testing::ScopedPinRoot pins_{"switchyard-maglev-pins-test-"};
};

TEST_F(MaglevPinsTest, PlainTablesOfAnEarlierAgentStayPlain) {
  {
    std::unique_ptr<Datapath> first = Load(/*maglev_mmap=*/false);
    ASSERT_NE(first, nullptr);
    ASSERT_OK(first->maps().PutMaglevTable(1, TableOf(3)));
  }
  std::unique_ptr<Datapath> dp = Load(/*maglev_mmap=*/true);
  ASSERT_NE(dp, nullptr);
  EXPECT_EQ(dp->features().state(Feature::kMaglevMmap),
            YARD_FEATURE_OFF_REFUSED);
  EXPECT_TRUE(absl::StrContains(dp->features().why(Feature::kMaglevMmap),
                                "adopted yard_maglev"))
      << dp->features().why(Feature::kMaglevMmap);
  const std::optional<uint32_t> before = TableMapId(*dp, 1);
  ASSERT_NO_FATAL_FAILURE(ExpectTablesWritable(*dp));
  EXPECT_NE(TableMapId(*dp, 1), before) << "swapped, not mapped";
}

TEST_F(MaglevPinsTest, EmptyPlainMapIsAskedAndLeftEmpty) {
  { ASSERT_NE(Load(/*maglev_mmap=*/false), nullptr); }
  std::unique_ptr<Datapath> dp = Load(/*maglev_mmap=*/true);
  ASSERT_NE(dp, nullptr);
  EXPECT_EQ(dp->features().state(Feature::kMaglevMmap),
            YARD_FEATURE_OFF_REFUSED);
  absl::StatusOr<std::vector<uint32_t>> ids = dp->maps().MaglevTableIds();
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_TRUE(ids->empty()) << "the probe's table was left behind";
  ASSERT_NO_FATAL_FAILURE(ExpectTablesWritable(*dp));
}

TEST_F(MaglevPinsTest, MappableMapStaysMappableWithTheFeatureForcedOff) {
  {
    std::unique_ptr<Datapath> first = Load(/*maglev_mmap=*/true);
    ASSERT_NE(first, nullptr);
    if (!first->features().on(Feature::kMaglevMmap)) {
      GTEST_SKIP() << "maglev_mmap is off on this kernel: "
                   << first->features().why(Feature::kMaglevMmap);
    }
    ASSERT_OK(first->maps().PutMaglevTable(1, TableOf(3)));
  }
  std::unique_ptr<Datapath> dp = Load(/*maglev_mmap=*/false);
  ASSERT_NE(dp, nullptr);
  EXPECT_EQ(dp->features().state(Feature::kMaglevMmap),
            YARD_FEATURE_OFF_FORCED);
  ASSERT_NO_FATAL_FAILURE(ExpectTablesWritable(*dp));
}

TEST_F(MaglevPinsTest, EmptyMappableMapIsAdoptedWithTheFeatureOn) {
  {
    std::unique_ptr<Datapath> first = Load(/*maglev_mmap=*/true);
    ASSERT_NE(first, nullptr);
    if (!first->features().on(Feature::kMaglevMmap)) {
      GTEST_SKIP() << "maglev_mmap is off on this kernel: "
                   << first->features().why(Feature::kMaglevMmap);
    }
  }
  std::unique_ptr<Datapath> dp = Load(/*maglev_mmap=*/true);
  ASSERT_NE(dp, nullptr);
  EXPECT_TRUE(dp->features().on(Feature::kMaglevMmap))
      << dp->features().why(Feature::kMaglevMmap);
  ASSERT_OK(dp->maps().PutMaglevTable(1, TableOf(3)));
  const std::optional<uint32_t> before = TableMapId(*dp, 1);
  ASSERT_NO_FATAL_FAILURE(ExpectTablesWritable(*dp));
  EXPECT_EQ(TableMapId(*dp, 1), before) << "rewritten in place";
}

}  // namespace
}  // namespace switchyard
