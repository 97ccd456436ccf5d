// SPDX-License-Identifier: Apache-2.0
// The kernel's batch calls on the real service maps: a cold sync and an
// update through the batching writer leave exactly the entries the
// one-by-one writer leaves, with batches and with every map forced onto
// the fallback; Maglev tables likewise; and a batch the kernel refuses
// part way has written exactly the entries before the one refused.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "control/agent/kernel_map_writer.h"
#include "control/kernel/datapath.h"
#include "control/sync/batching_map_writer.h"
#include "control/sync/programmer.h"
#include "gtest/gtest.h"
#include "tests/fakes/desired_states.h"
#include "tests/fakes/fake_map_writer.h"

namespace switchyard::agent {
namespace {

using sync::MapBatches;
using translate::BackendAddr;
using translate::DesiredState;

translate::BackendAddr Be(int host) {
  return {htonl(0x0af40000u + host), htons(8080)};
}

// `services` ClusterIP services of `endpoints` endpoints each; every
// tenth admits a source range.
DesiredState Desired(int services, int endpoints, int first_endpoint = 1) {
  DesiredState d;
  for (int i = 0; i < services; ++i) {
    uint32_t addr = htonl(0x0a600000u + i + 1);
    std::string set = "svc" + std::to_string(i);
    translate::Frontend port = {set, 0, 0, set};
    if (i % 10 == 0) {
      port.flags |= YARD_SVC_F_SOURCE_RANGES;
      port.source_ranges = {{htonl(0xc0a80000u + (i << 8)), 24}};
    }
    d.frontends[{addr, htons(80), IPPROTO_TCP}] = port;
    d.frontends[{addr, 0, 0}] = {"", YARD_SVC_F_WILDCARD, 0, set};
    for (int e = 0; e < endpoints; ++e) {
      d.sets[set].eligible.push_back(Be(first_endpoint + i * endpoints + e));
    }
  }
  return d;
}

// The same services, each choosing by Maglev over a table of 7.
DesiredState DesiredMaglev(int services, int endpoints,
                           int first_endpoint = 1) {
  return testing::WithMaglev(Desired(services, endpoints, first_endpoint), 7);
}

// A kernel without batch calls: every map falls back.
class NoBatches : public MapBatches {
 public:
  absl::Status Update(Map, const void*, const void*, uint32_t,
                      uint32_t& done) override {
    done = 0;
    return absl::UnimplementedError("forced fallback");
  }
  absl::Status Delete(Map, const void*, uint32_t, uint32_t& done) override {
    done = 0;
    return absl::UnimplementedError("forced fallback");
  }
};

template <typename A, typename B>
bool SameBytes(const A& a, const B& b) {
  static_assert(sizeof(A) == sizeof(B));
  return std::memcmp(&a, &b, sizeof(A)) == 0;
}

// The kernel's maps hold exactly what the fake holds.
void ExpectSame(const sync::ProgrammedEntries& want,
                const sync::ProgrammedEntries& got) {
  ASSERT_EQ(want.backends.size(), got.backends.size());
  for (const auto& [id, be] : want.backends) {
    ASSERT_TRUE(got.backends.contains(id)) << "backend " << id;
    EXPECT_TRUE(SameBytes(be, got.backends.at(id))) << "backend " << id;
  }
  ASSERT_EQ(want.slots.size(), got.slots.size());
  for (const auto& [key, v] : want.slots) {
    ASSERT_TRUE(got.slots.contains(key)) << key.svc_id << "/" << key.slot;
    EXPECT_EQ(v.backend_id, got.slots.at(key).backend_id);
  }
  ASSERT_EQ(want.frontends.size(), got.frontends.size());
  for (const auto& [key, v] : want.frontends) {
    ASSERT_TRUE(got.frontends.contains(key)) << key.addr;
    EXPECT_TRUE(SameBytes(v, got.frontends.at(key))) << key.addr;
  }
  ASSERT_EQ(want.rev_nat.size(), got.rev_nat.size());
  auto order = [](const yard_lb_src4_key& a, const yard_lb_src4_key& b) {
    return std::tie(a.rev_nat_id, a.addr, a.prefixlen) <
           std::tie(b.rev_nat_id, b.addr, b.prefixlen);
  };
  std::vector<yard_lb_src4_key> w = want.source_ranges, g = got.source_ranges;
  std::sort(w.begin(), w.end(), order);
  std::sort(g.begin(), g.end(), order);
  ASSERT_EQ(w.size(), g.size());
  for (size_t i = 0; i < w.size(); ++i) EXPECT_TRUE(SameBytes(w[i], g[i]));
}

class MapBatchesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kernel::DatapathConfig config;  // unpinned
    config.max_ct_entries = 1024;
    absl::StatusOr<std::unique_ptr<kernel::Datapath>> dp =
        kernel::Datapath::Load(config);
    ASSERT_TRUE(dp.ok()) << dp.status();
    dp_ = std::move(*dp);
    capacity_ = {config.max_frontends, config.max_slots, config.max_backends,
                 config.max_source_ranges, config.max_maglev_tables};
  }

  // Cold sync then an update that moves and drops services, through
  // `batches`, each compared with the fake after the same Apply.
  void SyncAndCompare(MapBatches* batches) {
    KernelMapWriter entries(&dp_->maps());
    sync::BatchingMapWriter writer(&entries, batches);
    sync::Programmer programmer(&writer, capacity_);
    testing::FakeMapWriter fake;
    sync::Programmer reference(&fake, capacity_);
    for (const DesiredState& d : {Desired(300, 5), Desired(200, 3, 5000)}) {
      ASSERT_TRUE(reference.Apply(d).ok());
      absl::Status s = programmer.Apply(d);
      ASSERT_TRUE(s.ok()) << s;
      absl::StatusOr<sync::ProgrammedEntries> got = ReadProgrammed(dp_->maps());
      ASSERT_TRUE(got.ok()) << got.status();
      ExpectSame(fake.entries(), *got);
    }
    last_batch_calls_ = writer.batch_calls();
    for (size_t m = 0; m < MapBatches::kMaps; ++m) {
      one_by_one_[m] = writer.OneByOne(static_cast<MapBatches::Map>(m));
    }
  }

  // A cold sync of `services` Maglev services, then one that gives a
  // third of them new endpoints and drops the rest but half: every table
  // in the kernel is the fake's, entry for entry.
  void SyncMaglevAndCompare(MapBatches* batches, int services) {
    KernelMapWriter entries(&dp_->maps());
    sync::BatchingMapWriter writer(&entries, batches);
    sync::Programmer programmer(&writer, capacity_);
    testing::FakeMapWriter fake;
    sync::Programmer reference(&fake, capacity_);
    for (const DesiredState& d :
         {DesiredMaglev(services, 5), DesiredMaglev(services / 2, 5)}) {
      DesiredState want = d;
      // A third of the sets move to other endpoints: new tables.
      for (int i = 0; i < services / 2; i += 3) {
        want.sets["svc" + std::to_string(i)].eligible.push_back(Be(100000 + i));
      }
      ASSERT_TRUE(reference.Apply(want).ok());
      absl::Status s = programmer.Apply(want);
      ASSERT_TRUE(s.ok()) << s;
      absl::StatusOr<std::vector<uint32_t>> ids = dp_->maps().MaglevTableIds();
      ASSERT_TRUE(ids.ok()) << ids.status();
      ASSERT_EQ(ids->size(), fake.entries().maglev_tables.size());
      for (const auto& [id, table] : fake.entries().maglev_tables) {
        absl::StatusOr<std::vector<uint32_t>> got =
            dp_->maps().ReadMaglevTable(id);
        ASSERT_TRUE(got.ok()) << got.status();
        EXPECT_EQ(*got, table) << "table of set " << id;
      }
    }
    tables_one_by_one_ = writer.TablesOneByOne();
  }

  std::unique_ptr<kernel::Datapath> dp_;
  sync::Capacity capacity_;
  bool tables_one_by_one_ = false;
  size_t last_batch_calls_ = 0;
  bool one_by_one_[MapBatches::kMaps] = {};
};

TEST_F(MapBatchesTest, BatchedSyncWritesWhatOneByOneWrites) {
  KernelMapBatches batches(&dp_->maps());
  SyncAndCompare(&batches);
  // Hash maps and arrays have batch calls on every kernel this runs on
  // (5.6+); LPM tries may not.
  EXPECT_FALSE(one_by_one_[static_cast<size_t>(MapBatches::Map::kBackends)]);
  EXPECT_FALSE(one_by_one_[static_cast<size_t>(MapBatches::Map::kSlots)]);
  EXPECT_FALSE(one_by_one_[static_cast<size_t>(MapBatches::Map::kFrontends)]);
  // 1,500 + 600 backends and slots, 1,000 frontends: far fewer calls.
  EXPECT_LT(last_batch_calls_, 1500u);
}

TEST_F(MapBatchesTest, ForcedFallbackWritesTheSame) {
  NoBatches none;
  SyncAndCompare(&none);
  for (bool fell_back : one_by_one_) EXPECT_TRUE(fell_back);
}

// Maglev tables many to a call where the kernel has batch calls for maps
// of maps (one grace period per call, not per table), one per call where
// it has not: the same tables either way.
TEST_F(MapBatchesTest, MaglevTablesAreTheSameBatchedOrNot) {
  KernelMapBatches batches(&dp_->maps());
  SyncMaglevAndCompare(&batches, 300);
}

TEST_F(MapBatchesTest, MaglevTablesFallBackOneByOne) {
  NoBatches none;
  SyncMaglevAndCompare(&none, 30);
  EXPECT_TRUE(tables_one_by_one_);
}

// A call builds a bounded number of tables before its one swap, and says
// how far it got; a delete batch stops at a set without a table.
TEST_F(MapBatchesTest, MaglevTableBatchesAreBoundedAndStopAtAbsentSets) {
  kernel::DatapathMaps& maps = dp_->maps();
  const size_t n = kernel::DatapathMaps::kMaglevBatchTables + 10;
  std::vector<uint32_t> ids(n);
  std::vector<std::vector<uint32_t>> tables(n);
  for (size_t i = 0; i < n; ++i) {
    ids[i] = static_cast<uint32_t>(i + 1);
    tables[i] = {2, 0, 0};
  }
  uint32_t done = 99;
  absl::Status s = maps.PutMaglevTables(ids, tables, done);
  if (absl::IsUnimplemented(s)) {
    // This kernel has no batch calls for maps of maps: nothing written,
    // and the writer falls back (MaglevTablesFallBackOneByOne).
    EXPECT_EQ(done, 0u);
    EXPECT_TRUE(maps.MaglevTableIds()->empty());
    return;
  }
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(done, kernel::DatapathMaps::kMaglevBatchTables);
  EXPECT_EQ(maps.MaglevTableIds()->size(),
            kernel::DatapathMaps::kMaglevBatchTables);
  EXPECT_EQ(*maps.ReadMaglevTable(1), tables[0]);
  // A table that is not one (no size first) is refused before any swap.
  tables[0] = {5, 1};
  s = maps.PutMaglevTables(ids, tables, done);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(done, 0u);

  const uint32_t gone[] = {1, n + 100, 2};
  s = maps.DeleteMaglevTables(gone, done);
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_EQ(done, 1u);
  EXPECT_TRUE(maps.ReadMaglevTable(1)->empty());
  EXPECT_FALSE(maps.ReadMaglevTable(2)->empty());
}

TEST_F(MapBatchesTest, ARefusedEntryStopsTheBatchThere) {
  kernel::DatapathMaps& maps = dp_->maps();
  // Backend ids past the array's end are refused (E2BIG).
  absl::StatusOr<kernel::MapCapacity> cap = maps.Capacity();
  ASSERT_TRUE(cap.ok());
  const uint32_t ids[] = {1, 2, cap->backends + 5, 4};
  yard_backend4 values[4] = {};
  for (int i = 0; i < 4; ++i) {
    values[i] = {htonl(0x0a000001u + i), htons(80), YARD_BACKEND_ACTIVE, 0};
  }
  uint32_t done = 99;
  absl::Status s = maps.UpdateBatch(kernel::DatapathMaps::ServiceMap::kBackends,
                                    ids, values, 4, done);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(absl::IsUnimplemented(s)) << s;
  EXPECT_EQ(done, 2u);
  EXPECT_EQ(maps.LookupBackend(2)->addr, values[1].addr);
  EXPECT_EQ(maps.LookupBackend(4)->state, YARD_BACKEND_EMPTY);

  // A delete batch stops at an absent key with NotFound.
  yard_slot_key slots[3] = {{7, 1}, {7, 2}, {7, 3}};
  const yard_slot_value one[3] = {{1}, {1}, {1}};
  ASSERT_TRUE(maps.PutSlot(slots[0], one[0]).ok());
  ASSERT_TRUE(maps.PutSlot(slots[2], one[2]).ok());
  s = maps.DeleteBatch(kernel::DatapathMaps::ServiceMap::kSlots, slots, 3,
                       done);
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_EQ(done, 1u);
  absl::StatusOr<std::vector<std::pair<yard_slot_key, yard_slot_value>>> left =
      maps.DumpSlots();
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().first.slot, 3u);
}

// The batching writer carries on past the absent key, as the programmer
// ignores it, and names the refused entry when one is.
TEST_F(MapBatchesTest, WriterSkipsAbsentDeletesAndNamesRefusedEntries) {
  KernelMapWriter entries(&dp_->maps());
  KernelMapBatches batches(&dp_->maps());
  sync::BatchingMapWriter writer(&entries, &batches);
  ASSERT_TRUE(writer.PutSlot({7, 1}, {1}).ok());
  ASSERT_TRUE(writer.PutSlot({7, 3}, {1}).ok());
  ASSERT_TRUE(writer.DeleteSlot({7, 1}).ok());
  ASSERT_TRUE(writer.DeleteSlot({7, 2}).ok());
  ASSERT_TRUE(writer.DeleteSlot({7, 3}).ok());
  absl::Status s = writer.Flush();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(dp_->maps().DumpSlots()->empty());

  absl::StatusOr<kernel::MapCapacity> cap = dp_->maps().Capacity();
  ASSERT_TRUE(cap.ok());
  yard_backend4 be = {htonl(0x0a000001u), htons(80), YARD_BACKEND_ACTIVE, 0};
  ASSERT_TRUE(writer.PutBackend(1, be).ok());
  ASSERT_TRUE(writer.PutBackend(cap->backends + 1, be).ok());
  ASSERT_TRUE(writer.PutBackend(3, be).ok());
  s = writer.Flush();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(absl::StrCat("backends at ", cap->backends + 1)),
            std::string::npos)
      << s;
  EXPECT_EQ(dp_->maps().LookupBackend(1)->state, YARD_BACKEND_ACTIVE);
  EXPECT_EQ(dp_->maps().LookupBackend(3)->state, YARD_BACKEND_EMPTY);
}

}  // namespace
}  // namespace switchyard::agent
