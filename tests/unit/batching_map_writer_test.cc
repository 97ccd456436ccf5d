// SPDX-License-Identifier: Apache-2.0
// The batching writer between the programmer and a fake kernel: batches
// follow the programmer's order, maps without batch calls fall back to one
// call per entry, and a batch refused part way leaves what a one-by-one
// writer would, with the programmer picking up from what was written.
#include "control/sync/batching_map_writer.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "control/sync/programmer.h"
#include "gtest/gtest.h"
#include "tests/fakes/desired_states.h"
#include "tests/fakes/fake_map_batches.h"
#include "tests/fakes/fake_map_writer.h"

namespace switchyard::sync {
namespace {

using testing::FakeMapBatches;
using testing::FakeMapWriter;
using translate::BackendAddr;
using translate::DesiredState;
using Map = MapBatches::Map;

constexpr Capacity kRoomy = {
    .frontends = 1024, .slots = 4096, .backends = 4096};

BackendAddr Be(int host) { return {htonl(0x0af40100u + host), htons(8080)}; }

// `services` ClusterIP services of `endpoints` endpoints each; the first
// admits one source range.
DesiredState Desired(int services, int endpoints, int first_endpoint = 1) {
  DesiredState d;
  for (int i = 0; i < services; ++i) {
    uint32_t addr = htonl(0x0a600000u + i + 1);
    std::string set = "svc" + std::to_string(i);
    translate::Frontend port = {set, 0, 0, set};
    if (i == 0) {
      port.flags |= YARD_SVC_F_SOURCE_RANGES;
      port.source_ranges = {{htonl(0xc0a80000u), 16}};
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

size_t Active(const ProgrammedEntries& entries) {
  size_t n = 0;
  for (const auto& [id, be] : entries.backends) {
    n += be.state != YARD_BACKEND_RETIRED && be.state != YARD_BACKEND_EMPTY;
  }
  return n;
}

class BatchingMapWriterTest : public ::testing::Test {
 protected:
  FakeMapWriter maps_;
  FakeMapBatches batches_{&maps_};
  BatchingMapWriter writer_{&maps_, &batches_};
  Programmer programmer_{&writer_, kRoomy};
};

TEST_F(BatchingMapWriterTest, ColdSyncIsOneBatchPerStepOfTheOrder) {
  ASSERT_TRUE(programmer_.Apply(Desired(3, 2)).ok());
  EXPECT_EQ(maps_.violation(), "");
  // Backends, slots, the reverse NAT entries, the one source range, then
  // port frontends and wildcards together.
  EXPECT_EQ(
      batches_.calls(),
      (std::vector<std::string>{
          "update backends x6", "update slots x6", "update reverse NAT x3",
          "update source ranges x1", "update frontends x6"}));
  EXPECT_EQ(maps_.entries().frontends.size(), 6u);
  EXPECT_EQ(maps_.entries().slots.size(), 6u);
  EXPECT_EQ(Active(maps_.entries()), 6u);
  EXPECT_EQ(programmer_.last_writes(), maps_.writes());
}

// A map of maps costs the kernel a grace period per call: every set's
// table goes in one call, after every slot and before any frontend.
TEST_F(BatchingMapWriterTest, MaglevTablesOfAnApplyAreOneBatch) {
  ASSERT_TRUE(programmer_.Apply(DesiredMaglev(3, 2)).ok());
  EXPECT_EQ(maps_.violation(), "");
  EXPECT_EQ(batches_.calls(),
            (std::vector<std::string>{
                "update backends x6", "update slots x6",
                "update maglev tables x3", "update reverse NAT x3",
                "update source ranges x1", "update frontends x6"}));
  EXPECT_EQ(maps_.entries().maglev_tables.size(), 3u);
  // New endpoints for every set: their new tables, again in one call.
  ASSERT_TRUE(programmer_.Apply(DesiredMaglev(3, 3)).ok());
  EXPECT_EQ(maps_.violation(), "");
  EXPECT_EQ(std::count(batches_.calls().begin(), batches_.calls().end(),
                       "update maglev tables x3"),
            2);
  EXPECT_EQ(maps_.entries().maglev_tables.size(), 3u);
}

TEST_F(BatchingMapWriterTest, TablePutsAndDeletesKeepTheirOrder) {
  const std::vector<uint32_t> table = {2, 0, 0};
  ASSERT_TRUE(writer_.PutMaglevTable(1, table).ok());
  ASSERT_TRUE(writer_.PutMaglevTable(2, table).ok());
  EXPECT_EQ(maps_.writes(), 0u);
  ASSERT_TRUE(writer_.DeleteMaglevTable(1).ok());
  ASSERT_TRUE(writer_.DeleteMaglevTable(5).ok());  // never written: skipped
  ASSERT_TRUE(writer_.DeleteMaglevTable(2).ok());
  ASSERT_TRUE(writer_.PutMaglevTable(1, table).ok());
  // An entry write makes the held tables first.
  ASSERT_TRUE(
      writer_.PutBackend(1, {htonl(1), htons(2), YARD_BACKEND_ACTIVE, 0}).ok());
  absl::Status s = writer_.Flush();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(maps_.log(),
            (std::vector<std::string>{"put-maglev 1 size=2",
                                      "put-maglev 2 size=2", "delete-maglev 1",
                                      "delete-maglev 5", "delete-maglev 2",
                                      "put-maglev 1 size=2", "put-backend 1"}));
  EXPECT_EQ(maps_.entries().maglev_tables.size(), 1u);
  EXPECT_EQ(batches_.calls().front(), "update maglev tables x2");
}

TEST_F(BatchingMapWriterTest, TablesWithoutBatchCallsAreWrittenOneByOne) {
  batches_.NoTableBatches();
  ASSERT_TRUE(programmer_.Apply(DesiredMaglev(3, 2)).ok());
  EXPECT_EQ(maps_.violation(), "");
  EXPECT_TRUE(writer_.TablesOneByOne());
  EXPECT_EQ(maps_.entries().maglev_tables.size(), 3u);
  ASSERT_TRUE(programmer_.Apply(DesiredMaglev(2, 2)).ok());
  EXPECT_EQ(maps_.violation(), "");
  EXPECT_EQ(maps_.entries().maglev_tables.size(), 2u);
  // Asked once only.
  EXPECT_EQ(std::count_if(batches_.calls().begin(), batches_.calls().end(),
                          [](const std::string& c) {
                            return c.find("maglev") != std::string::npos;
                          }),
            1);
}

TEST_F(BatchingMapWriterTest, NothingIsWrittenBeforeFlush) {
  ASSERT_TRUE(
      writer_.PutBackend(1, {htonl(1), htons(2), YARD_BACKEND_ACTIVE, 0}).ok());
  ASSERT_TRUE(
      writer_.PutBackend(2, {htonl(3), htons(4), YARD_BACKEND_ACTIVE, 0}).ok());
  EXPECT_EQ(maps_.writes(), 0u);
  // Another map makes the held ones first.
  ASSERT_TRUE(writer_.PutSlot({7, 1}, {1}).ok());
  EXPECT_EQ(maps_.writes(), 2u);
  ASSERT_TRUE(writer_.Flush().ok());
  EXPECT_EQ(maps_.log(),
            (std::vector<std::string>{"put-backend 1", "put-backend 2",
                                      "put-slot 7/1=1"}));
}

TEST_F(BatchingMapWriterTest, DeletesAndUpdatesOfOneMapAreSeparateBatches) {
  ASSERT_TRUE(
      writer_.PutBackend(1, {htonl(1), htons(2), YARD_BACKEND_ACTIVE, 0}).ok());
  ASSERT_TRUE(writer_.PutSlot({7, 1}, {1}).ok());
  ASSERT_TRUE(writer_.PutSlot({7, 2}, {1}).ok());
  ASSERT_TRUE(writer_.DeleteSlot({7, 2}).ok());
  ASSERT_TRUE(writer_.PutSlot({7, 2}, {1}).ok());
  ASSERT_TRUE(writer_.Flush().ok());
  EXPECT_EQ(batches_.calls(),
            (std::vector<std::string>{"update backends x1", "update slots x2",
                                      "delete slots x1", "update slots x1"}));
  EXPECT_EQ(maps_.entries().slots.size(), 2u);
}

TEST_F(BatchingMapWriterTest, AbsentEntriesOfADeleteBatchAreSkipped) {
  ASSERT_TRUE(
      writer_.PutBackend(1, {htonl(1), htons(2), YARD_BACKEND_ACTIVE, 0}).ok());
  ASSERT_TRUE(writer_.PutSlot({7, 1}, {1}).ok());
  ASSERT_TRUE(writer_.PutSlot({7, 3}, {1}).ok());
  ASSERT_TRUE(writer_.DeleteSlot({7, 1}).ok());
  ASSERT_TRUE(writer_.DeleteSlot({7, 2}).ok());  // never written
  ASSERT_TRUE(writer_.DeleteSlot({7, 3}).ok());
  absl::Status s = writer_.Flush();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(maps_.entries().slots.empty());
}

TEST_F(BatchingMapWriterTest, MapsWithoutBatchCallsAreWrittenOneByOne) {
  batches_.NoBatchCallsFor(Map::kSourceRanges);
  batches_.NoBatchCallsFor(Map::kSlots);
  ASSERT_TRUE(programmer_.Apply(Desired(3, 2)).ok());
  EXPECT_EQ(maps_.violation(), "");
  EXPECT_TRUE(writer_.OneByOne(Map::kSlots));
  EXPECT_TRUE(writer_.OneByOne(Map::kSourceRanges));
  EXPECT_FALSE(writer_.OneByOne(Map::kBackends));
  EXPECT_EQ(maps_.entries().slots.size(), 6u);
  EXPECT_EQ(maps_.entries().source_ranges.size(), 1u);
  // Decided once: the next update does not ask again.
  const size_t asked = batches_.calls().size();
  ASSERT_TRUE(programmer_.Apply(Desired(3, 3)).ok());
  EXPECT_EQ(maps_.violation(), "");
  for (size_t i = asked; i < batches_.calls().size(); ++i) {
    EXPECT_EQ(batches_.calls()[i].find("slots"), std::string::npos)
        << batches_.calls()[i];
  }
  EXPECT_EQ(maps_.entries().slots.size(), 9u);
}

TEST_F(BatchingMapWriterTest, AFailureStopsEveryLaterWriteUntilReadBack) {
  ASSERT_TRUE(
      writer_.PutBackend(1, {htonl(1), htons(2), YARD_BACKEND_ACTIVE, 0}).ok());
  ASSERT_TRUE(
      writer_.PutBackend(2, {htonl(3), htons(4), YARD_BACKEND_ACTIVE, 0}).ok());
  ASSERT_TRUE(
      writer_.PutBackend(3, {htonl(5), htons(6), YARD_BACKEND_ACTIVE, 0}).ok());
  maps_.FailWriteAt(1);
  absl::Status s = writer_.PutSlot({7, 1}, {1});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  // It names the entry refused and how far the batch got.
  EXPECT_NE(s.message().find("backends at 2"), std::string::npos) << s;
  EXPECT_NE(s.message().find("1 of 3"), std::string::npos) << s;
  maps_.FailWriteAt(-1);
  EXPECT_FALSE(writer_.PutSlot({7, 1}, {1}).ok());
  EXPECT_FALSE(writer_.Flush().ok());
  EXPECT_EQ(maps_.writes(), 1u);  // backend 1 only
  absl::StatusOr<ProgrammedEntries> back = writer_.ReadBack();
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->backends.size(), 1u);
  EXPECT_TRUE(writer_.PutSlot({7, 1}, {1}).ok());
  EXPECT_TRUE(writer_.Flush().ok());
}

void CheckEveryRefusal(const DesiredState& cold, const DesiredState& moved) {
  FakeMapWriter reference;
  Programmer clean(&reference, kRoomy);
  ASSERT_TRUE(clean.Apply(moved).ok());
  for (const bool from_empty : {true, false}) {
    for (int fail_at = 0;; ++fail_at) {
      FakeMapWriter maps;
      FakeMapBatches batches(&maps);
      batches.NoBatchCallsFor(Map::kSourceRanges);
      BatchingMapWriter writer(&maps, &batches);
      Programmer p(&writer, kRoomy);
      const DesiredState& to = from_empty ? cold : moved;
      if (!from_empty) ASSERT_TRUE(p.Apply(cold).ok());
      maps.FailWriteAt(fail_at);
      absl::Status s = p.Apply(to);
      ASSERT_EQ(maps.violation(), "") << "refusing entry " << fail_at;
      maps.FailWriteAt(-1);
      absl::Status again = p.Apply(to);
      ASSERT_TRUE(again.ok()) << again << " after refusing entry " << fail_at;
      ASSERT_EQ(maps.violation(), "");
      const ProgrammedEntries& want =
          from_empty ? ProgrammedEntries{} : reference.entries();
      if (!from_empty) {
        EXPECT_EQ(maps.entries().frontends.size(), want.frontends.size());
        EXPECT_EQ(maps.entries().slots.size(), want.slots.size());
        EXPECT_EQ(Active(maps.entries()), Active(want));
        EXPECT_EQ(maps.entries().rev_nat.size(), want.rev_nat.size());
        EXPECT_EQ(maps.entries().source_ranges.size(), 1u);
        EXPECT_EQ(maps.entries().maglev_tables.size(),
                  want.maglev_tables.size());
      } else {
        EXPECT_EQ(maps.entries().frontends.size(), 8u);
        EXPECT_EQ(maps.entries().slots.size(), 12u);
        EXPECT_EQ(Active(maps.entries()), 12u);
      }
      if (s.ok()) break;  // fail_at was past the last write
    }
  }
}

// Refuses every single entry (and Maglev table) of a cold sync in turn, then of
// an update that moves every service to new endpoints and drops one: the maps
// never show a broken service, and the next full Apply ends where a clean run
// does.
TEST_F(BatchingMapWriterTest, ARefusedEntryAnywhereLeavesAConsistentState) {
  for (const bool maglev : {false, true}) {
    SCOPED_TRACE(maglev ? "Maglev" : "random");
    CheckEveryRefusal(maglev ? DesiredMaglev(4, 3) : Desired(4, 3),
                      maglev ? DesiredMaglev(3, 2, 100) : Desired(3, 2, 100));
  }
}

}  // namespace
}  // namespace switchyard::sync
