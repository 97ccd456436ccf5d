// SPDX-License-Identifier: Apache-2.0
// The programmer's Maglev tables: written whole after their backends and
// before any frontend reads them, rewritten only when their inputs change,
// removed after the frontends stop reading them, counted against the
// map's capacity before anything is written.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <map>

#include "control/sync/programmer.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_map_writer.h"
#include "yard_abi.h"

namespace switchyard::sync {
namespace {

using testing::FakeMapWriter;
using translate::BackendAddr;
using translate::DesiredState;

constexpr uint32_t kSize = 251;

BackendAddr Be(int host, int port = 8080) {
  return {htonl(0x0af40100u + host), htons(static_cast<uint16_t>(port))};
}

// Service i at 10.96.0.(i+1):80/TCP, with `policy` and the backends given.
DesiredState Desired(const std::vector<std::vector<BackendAddr>>& services,
                     uint8_t policy = YARD_POLICY_MAGLEV,
                     std::vector<uint32_t> weights = {}) {
  DesiredState d;
  for (size_t i = 0; i < services.size(); ++i) {
    uint32_t addr = htonl(0x0a600000u + i + 1);
    std::string set = "svc" + std::to_string(i);
    d.frontends[{addr, htons(80), IPPROTO_TCP}] = {set, 0, policy, set};
    d.frontends[{addr, 0, 0}] = {"", YARD_SVC_F_WILDCARD, 0, set};
    d.sets[set].eligible = services[i];
    if (policy == YARD_POLICY_MAGLEV) {
      d.sets[set].maglev_table_size = kSize;
      d.sets[set].weights = weights;
    }
  }
  return d;
}

std::vector<std::string> Since(const FakeMapWriter& fake, size_t from) {
  return {fake.log().begin() + from, fake.log().end()};
}

class ProgrammerMaglevTest : public ::testing::Test {
 protected:
  void ApplyOk(const DesiredState& d) {
    absl::Status s = programmer_.Apply(d);
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_EQ(fake_.violation(), "");
  }
  // Entries of set 1's table per backend id.
  std::map<uint32_t, size_t> Shares() {
    std::map<uint32_t, size_t> out;
    const std::vector<uint32_t>& t = fake_.entries().maglev_tables.at(1);
    for (size_t i = 1; i < t.size(); ++i) ++out[t[i]];
    return out;
  }
  FakeMapWriter fake_;
  Programmer programmer_{
      &fake_,
      {.frontends = 64, .slots = 256, .backends = 256, .maglev_tables = 2}};
};

TEST_F(ProgrammerMaglevTest, TableComesAfterBackendsBeforeTheFrontend) {
  ApplyOk(Desired({{Be(1), Be(2)}}));
  EXPECT_EQ(fake_.log(),
            (std::vector<std::string>{
                "put-backend 1", "put-backend 2", "put-slot 1/1=1",
                "put-slot 1/2=2", "put-maglev 1 size=251", "put-revnat 1",
                "put-frontend 20480/6 count=2", "put-frontend 0/0 count=0"}));
  const std::vector<uint32_t>& table = fake_.entries().maglev_tables.at(1);
  ASSERT_EQ(table.size(), kSize + 1);
  EXPECT_EQ(table[0], kSize);
  std::map<uint32_t, size_t> shares = Shares();
  EXPECT_EQ(shares.size(), 2u);
  EXPECT_NEAR(static_cast<double>(shares[1]), kSize / 2.0, 1.0);
}

TEST_F(ProgrammerMaglevTest, UnchangedSetKeepsItsTable) {
  ApplyOk(Desired({{Be(1), Be(2)}}));
  ApplyOk(Desired({{Be(1), Be(2)}}));
  EXPECT_EQ(programmer_.last_writes(), 0u);
}

TEST_F(ProgrammerMaglevTest, EndpointLeavingSwapsTheTableBeforeRetiring) {
  ApplyOk(Desired({{Be(1), Be(2), Be(3)}}));
  size_t before = fake_.writes();
  ApplyOk(Desired({{Be(2), Be(3)}}));
  EXPECT_EQ(Since(fake_, before),
            (std::vector<std::string>{"put-slot 1/1=3", "put-maglev 1 size=251",
                                      "put-frontend 20480/6 count=2",
                                      "delete-slot 1/3", "put-backend 1"}));
  EXPECT_FALSE(Shares().contains(1));
}

TEST_F(ProgrammerMaglevTest, WeightsReachTheTable) {
  ApplyOk(Desired({{Be(1), Be(2)}}, YARD_POLICY_MAGLEV, {3, 1}));
  std::map<uint32_t, size_t> shares = Shares();
  EXPECT_NEAR(static_cast<double>(shares[1]), kSize * 3 / 4.0, 1.0);
  // New weights alone make a new table.
  size_t before = fake_.writes();
  ApplyOk(Desired({{Be(1), Be(2)}}, YARD_POLICY_MAGLEV, {1, 1}));
  EXPECT_EQ(Since(fake_, before),
            (std::vector<std::string>{"put-maglev 1 size=251"}));
}

TEST_F(ProgrammerMaglevTest, LeavingMaglevDeletesTheTableAfterTheFrontend) {
  ApplyOk(Desired({{Be(1), Be(2)}}));
  size_t before = fake_.writes();
  ApplyOk(Desired({{Be(1), Be(2)}}, YARD_POLICY_RANDOM));
  EXPECT_EQ(Since(fake_, before),
            (std::vector<std::string>{"put-frontend 20480/6 count=2",
                                      "delete-maglev 1"}));
  EXPECT_EQ(programmer_.counts().maglev_tables, 0u);
}

TEST_F(ProgrammerMaglevTest, NoEndpointsNoTable) {
  ApplyOk(Desired({{Be(1)}}));
  ApplyOk(Desired({{}}));
  EXPECT_TRUE(fake_.entries().maglev_tables.empty());
  ApplyOk(Desired({{Be(1)}}));
  EXPECT_EQ(fake_.entries().maglev_tables.size(), 1u);
}

TEST_F(ProgrammerMaglevTest, FullTableMapRefusedBeforeAnyWrite) {
  ApplyOk(Desired({{Be(1)}, {Be(2)}}));
  size_t before = fake_.writes();
  absl::Status s = programmer_.Apply(Desired({{Be(1)}, {Be(2)}, {Be(3)}}));
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_NE(s.message().find("Maglev table map full"), std::string::npos);
  EXPECT_EQ(fake_.writes(), before);
}

TEST_F(ProgrammerMaglevTest, EveryWriteFailureKeepsTheInvariant) {
  ApplyOk(Desired({{Be(1), Be(2), Be(3)}}));
  for (int n = 0; n < 6; ++n) {
    FakeMapWriter fake;
    Programmer programmer(
        &fake,
        {.frontends = 64, .slots = 256, .backends = 256, .maglev_tables = 4});
    ASSERT_TRUE(programmer.Apply(Desired({{Be(1), Be(2), Be(3)}})).ok());
    fake.FailWriteAt(n);
    (void)programmer.Apply(Desired({{Be(2), Be(4)}}));
    EXPECT_EQ(fake.violation(), "") << "failing write " << n;
    fake.FailWriteAt(-1);
    ASSERT_TRUE(programmer.Apply(Desired({{Be(2), Be(4)}})).ok());
    EXPECT_EQ(fake.violation(), "");
  }
}

TEST_F(ProgrammerMaglevTest, AdoptedTablesOfNobodyAreRemoved) {
  ApplyOk(Desired({{Be(1), Be(2)}}));
  ProgrammedEntries entries = fake_.entries();
  entries.maglev_tables[7] = {};  // a leftover nothing names
  Programmer restarted(
      &fake_,
      {.frontends = 64, .slots = 256, .backends = 256, .maglev_tables = 4});
  restarted.Adopt(entries);
  ASSERT_TRUE(restarted.Apply(Desired({{Be(1), Be(2)}})).ok());
  EXPECT_EQ(fake_.violation(), "");
  // The kept set's table is written once more; the leftover goes.
  EXPECT_EQ(restarted.counts().maglev_tables, 1u);
}

}  // namespace
}  // namespace switchyard::sync
