// SPDX-License-Identifier: Apache-2.0
// The programmer against a fake map writer that checks, after every single
// write, that no packet could see a broken service.
#include "control/sync/programmer.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <random>
#include <set>

#include "control/common/ipv4.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_map_writer.h"

namespace switchyard::sync {
namespace {

using testing::FakeMapWriter;
using translate::BackendAddr;
using translate::DesiredState;
using translate::FrontendKey;

constexpr Capacity kRoomy = {
    .frontends = 1024, .slots = 4096, .backends = 4096};

BackendAddr Be(int host, int port = 8080) {
  return {htonl(0x0af40100u + host), htons(static_cast<uint16_t>(port))};
}

// One ClusterIP service per entry of `services`, service i at 10.96.0.i
// port 80/TCP with the given backends.
DesiredState Desired(const std::vector<std::vector<BackendAddr>>& services) {
  DesiredState d;
  for (size_t i = 0; i < services.size(); ++i) {
    uint32_t addr = htonl(0x0a600000u + i + 1);
    std::string set = "svc" + std::to_string(i);
    d.frontends[{addr, htons(80), IPPROTO_TCP}] = {set, 0, 0, set};
    d.frontends[{addr, 0, 0}] = {"", YARD_SVC_F_WILDCARD, 0, set};
    d.sets[set].eligible = services[i];
  }
  return d;
}

size_t CountOf(const FakeMapWriter& fake, uint32_t addr_index) {
  yard_svc4_key key = {};
  key.addr = htonl(0x0a600000u + addr_index);
  key.port = htons(80);
  key.proto = IPPROTO_TCP;
  return fake.entries().frontends.at(key).count;
}

// Backends an endpoint list names (active or terminating): retired ones
// stay in the map for their flows until their ids are needed.
size_t Listed(const FakeMapWriter& fake) {
  size_t n = 0;
  for (const auto& [id, be] : fake.entries().backends) {
    n += be.state != YARD_BACKEND_RETIRED;
  }
  return n;
}

class ProgrammerTest : public ::testing::Test {
 protected:
  void ApplyOk(const DesiredState& d) {
    absl::Status s = programmer_.Apply(d);
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_EQ(fake_.violation(), "");
  }
  FakeMapWriter fake_;
  Programmer programmer_{&fake_, kRoomy};
};

TEST_F(ProgrammerTest, FirstApplyWritesEverythingInOrder) {
  ApplyOk(Desired({{Be(1), Be(2)}}));
  // 2 backends, 2 slots, 1 reverse NAT, 2 frontends (port + wildcard).
  EXPECT_EQ(fake_.log(),
            (std::vector<std::string>{
                "put-backend 1", "put-backend 2", "put-slot 1/1=1",
                "put-slot 1/2=2", "put-revnat 1",
                "put-frontend 20480/6 count=2", "put-frontend 0/0 count=0"}));
}

TEST_F(ProgrammerTest, SameStateTwiceWritesNothing) {
  ApplyOk(Desired({{Be(1), Be(2)}}));
  ApplyOk(Desired({{Be(1), Be(2)}}));
  EXPECT_EQ(programmer_.last_writes(), 0u);
}

TEST_F(ProgrammerTest, AddingAnEndpointWritesOnlyTheDifference) {
  ApplyOk(Desired({{Be(1), Be(2)}}));
  size_t before = fake_.writes();
  ApplyOk(Desired({{Be(1), Be(2), Be(3)}}));
  EXPECT_EQ(
      std::vector<std::string>(fake_.log().begin() + before, fake_.log().end()),
      (std::vector<std::string>{"put-backend 3", "put-slot 1/3=3",
                                "put-frontend 20480/6 count=3"}));
}

TEST_F(ProgrammerTest, RemovingAnEndpointShrinksCountBeforeSlotsGo) {
  ApplyOk(Desired({{Be(1), Be(2), Be(3)}}));
  size_t before = fake_.writes();
  ApplyOk(Desired({{Be(2), Be(3)}}));
  // Backend 3 moves into backend 1's slot; then the count shrinks, then
  // slot 3 goes, then backend 1 retires.
  EXPECT_EQ(
      std::vector<std::string>(fake_.log().begin() + before, fake_.log().end()),
      (std::vector<std::string>{"put-slot 1/1=3",
                                "put-frontend 20480/6 count=2",
                                "delete-slot 1/3", "put-backend 1"}));
  EXPECT_EQ(fake_.entries().backends.at(1).state, YARD_BACKEND_RETIRED);
  EXPECT_EQ(CountOf(fake_, 1), 2u);
}

TEST_F(ProgrammerTest, DeletingAServiceLeavesEmptyMaps) {
  ApplyOk(Desired({{Be(1), Be(2)}, {Be(2), Be(3)}}));
  ApplyOk(Desired({{Be(2), Be(3)}}));
  ApplyOk(DesiredState{});
  EXPECT_TRUE(fake_.entries().frontends.empty());
  EXPECT_TRUE(fake_.entries().slots.empty());
  EXPECT_EQ(Listed(fake_), 0u);
  EXPECT_TRUE(fake_.entries().rev_nat.empty());
}

TEST_F(ProgrammerTest, BackendsAreSharedAcrossServices) {
  ApplyOk(Desired({{Be(1)}, {Be(1)}}));
  EXPECT_EQ(fake_.entries().backends.size(), 1u);
  ApplyOk(Desired({{}, {Be(1)}}));
  EXPECT_EQ(fake_.entries().backends.size(), 1u);
  EXPECT_EQ(CountOf(fake_, 1), 0u);
}

TEST_F(ProgrammerTest, DrainingBackendStaysButIsNotChosen) {
  DesiredState d = Desired({{Be(1), Be(2)}});
  ApplyOk(d);
  d.sets["svc0"].eligible = {Be(1)};
  d.sets["svc0"].draining = {Be(2)};
  ApplyOk(d);
  EXPECT_EQ(CountOf(fake_, 1), 1u);
  ASSERT_EQ(Listed(fake_), 2u);
  EXPECT_EQ(fake_.entries().backends.at(2).state, YARD_BACKEND_TERMINATING);
}

TEST_F(ProgrammerTest, ChurnKeepsTheInvariantAtEveryWrite) {
  std::vector<std::vector<std::vector<BackendAddr>>> steps = {
      {{Be(1), Be(2), Be(3)}, {Be(4)}},
      {{Be(3), Be(5)}, {Be(4), Be(1)}, {Be(6)}},
      {{}, {Be(7), Be(8), Be(9), Be(1)}},
      {{Be(9)}, {Be(8)}, {Be(7)}, {Be(6)}},
      {},
      {{Be(1), Be(2), Be(3)}, {Be(4)}},
  };
  for (const auto& step : steps) ApplyOk(Desired(step));
}

TEST_F(ProgrammerTest, UpdateThatDoesNotFitWritesNothing) {
  FakeMapWriter fake;
  Programmer small(&fake, Capacity{.frontends = 16, .slots = 4, .backends = 8});
  ASSERT_TRUE(small.Apply(Desired({{Be(1), Be(2)}})).ok());
  size_t before = fake.writes();
  absl::Status s =
      small.Apply(Desired({{Be(1), Be(2)}, {Be(3), Be(4), Be(5)}}));
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_NE(s.message().find("slot map full"), std::string::npos) << s;
  EXPECT_EQ(fake.writes(), before);
}

TEST_F(ProgrammerTest, TooManyBackendsIsRefusedWhole) {
  FakeMapWriter fake;
  Programmer small(&fake,
                   Capacity{.frontends = 16, .slots = 64, .backends = 3});
  absl::Status s = small.Apply(Desired({{Be(1), Be(2), Be(3)}}));
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_EQ(fake.writes(), 0u);
}

// A write refused at any point leaves a state packets can use, and the
// next Apply converges.
TEST_F(ProgrammerTest, FailureAtAnyWriteIsSafeAndRecoverable) {
  DesiredState from = Desired({{Be(1), Be(2), Be(3)}, {Be(4)}});
  DesiredState to = Desired({{Be(3), Be(5)}, {}, {Be(6), Be(1)}});
  for (int fail_at = 0;; ++fail_at) {
    FakeMapWriter fake;
    Programmer p(&fake, kRoomy);
    ASSERT_TRUE(p.Apply(from).ok());
    fake.FailWriteAt(fail_at);
    absl::Status s = p.Apply(to);
    EXPECT_EQ(fake.violation(), "") << "failing write " << fail_at;
    fake.FailWriteAt(-1);
    ASSERT_TRUE(p.Apply(to).ok());
    EXPECT_EQ(fake.violation(), "");
    FakeMapWriter reference;
    Programmer q(&reference, kRoomy);
    ASSERT_TRUE(q.Apply(to).ok());
    EXPECT_EQ(fake.entries().frontends.size(),
              reference.entries().frontends.size());
    EXPECT_EQ(fake.entries().slots.size(), reference.entries().slots.size());
    EXPECT_EQ(Listed(fake), Listed(reference));
    EXPECT_EQ(fake.entries().rev_nat.size(),
              reference.entries().rev_nat.size());
    if (s.ok()) break;  // fail_at was past the last write
  }
}

TEST_F(ProgrammerTest, AdoptedStateIsKeptAndOnlyStaleEntriesGo) {
  ApplyOk(Desired({{Be(1), Be(2)}, {Be(3)}}));
  // A restarted agent: a new programmer over the same maps.
  FakeMapWriter& maps = fake_;
  Programmer restarted(&maps, kRoomy);
  restarted.Adopt(maps.entries());
  size_t before = maps.writes();
  ASSERT_TRUE(restarted.Apply(Desired({{Be(1), Be(2)}, {Be(3)}})).ok());
  EXPECT_EQ(maps.writes(), before) << "adoption must not rewrite live entries";

  ASSERT_TRUE(restarted.Apply(Desired({{Be(1), Be(2)}})).ok());
  EXPECT_EQ(maps.violation(), "");
  EXPECT_EQ(maps.entries().frontends.size(), 2u);
  EXPECT_EQ(Listed(maps), 2u);
  EXPECT_EQ(maps.entries().slots.size(), 2u);
  EXPECT_EQ(maps.entries().rev_nat.size(), 1u);
}

TEST_F(ProgrammerTest, AdoptionAfterAChangeWhileDownEditsInPlace) {
  ApplyOk(Desired({{Be(1), Be(2)}}));
  Programmer restarted(&fake_, kRoomy);
  restarted.Adopt(fake_.entries());
  size_t before = fake_.writes();
  ASSERT_TRUE(restarted.Apply(Desired({{Be(1), Be(2), Be(3)}})).ok());
  EXPECT_EQ(fake_.violation(), "");
  EXPECT_EQ(
      std::vector<std::string>(fake_.log().begin() + before, fake_.log().end()),
      (std::vector<std::string>{"put-backend 3", "put-slot 1/3=3",
                                "put-frontend 20480/6 count=3"}));
}

// Service 0 of Desired() as a load balancer admitting only `ranges`
// (none: everyone).
DesiredState WithRanges(std::vector<translate::SourceRange> ranges,
                        std::vector<BackendAddr> backends = {Be(1), Be(2)}) {
  DesiredState d = Desired({backends});
  translate::Frontend& fe =
      d.frontends.at(FrontendKey{htonl(0x0a600001u), htons(80), IPPROTO_TCP});
  if (!ranges.empty()) fe.flags |= YARD_SVC_F_SOURCE_RANGES;
  fe.source_ranges = std::move(ranges);
  return d;
}

constexpr translate::SourceRange kClient200 = {0xc8001fac, 32};  // .200/32
constexpr translate::SourceRange kNet10 = {0x0000000a, 8};       // 10/8

std::vector<std::string> LogSince(const FakeMapWriter& fake, size_t from) {
  return {fake.log().begin() + from, fake.log().end()};
}

TEST_F(ProgrammerTest, SourceRangesExistWhileTheFrontendNamesThem) {
  // The fake checks after every write that a frontend flagged for source
  // ranges has at least one: admitting nobody, even for a moment, would
  // drop the service's traffic.
  ApplyOk(WithRanges({kClient200}));
  std::vector<std::string> first = LogSince(fake_, 0);
  auto at = [&](const std::vector<std::string>& log, const std::string& w) {
    return std::find(log.begin(), log.end(), w) - log.begin();
  };
  EXPECT_LT(at(first, "put-range 1/32"),
            at(first, "put-frontend 20480/6 count=2"));

  // Another range: added before the old one goes; the frontend's value
  // does not change, so it is not rewritten.
  size_t before = fake_.writes();
  ApplyOk(WithRanges({kNet10}));
  EXPECT_EQ(LogSince(fake_, before),
            (std::vector<std::string>{"put-range 1/8", "delete-range 1/32"}));

  // No ranges: the frontend stops naming them first.
  before = fake_.writes();
  ApplyOk(WithRanges({}));
  EXPECT_EQ(LogSince(fake_, before),
            (std::vector<std::string>{"put-frontend 20480/6 count=2",
                                      "delete-range 1/8"}));
  ApplyOk(WithRanges({kNet10, kClient200}));
  ApplyOk(Desired({}));
  EXPECT_TRUE(fake_.entries().source_ranges.empty());
}

TEST_F(ProgrammerTest, AdoptedSourceRangesAreKeptAndStaleOnesCleared) {
  ApplyOk(WithRanges({kClient200, kNet10}));
  ProgrammedEntries pinned = fake_.entries();
  // A range whose frontend is gone (rev-NAT id 77): left by a crash.
  yard_lb_src4_key orphan = {};
  orphan.prefixlen = 32 + 16;
  orphan.rev_nat_id = htonl(77);
  orphan.addr = htonl(0xc0a80000u);
  ASSERT_TRUE(fake_.PutSourceRange(orphan).ok());
  pinned.source_ranges.push_back(orphan);

  Programmer restarted(&fake_, kRoomy);
  restarted.Adopt(pinned);
  size_t before = fake_.writes();
  ASSERT_TRUE(restarted.Apply(WithRanges({kClient200, kNet10})).ok());
  EXPECT_EQ(LogSince(fake_, before),
            (std::vector<std::string>{"delete-range 77/16"}));
  EXPECT_EQ(fake_.entries().source_ranges.size(), 2u);
  EXPECT_EQ(fake_.violation(), "");
}

TEST_F(ProgrammerTest, FailureAtAnyWriteKeepsSourceRangesConsistent) {
  DesiredState from = WithRanges({kClient200});
  DesiredState to = WithRanges({kNet10}, {Be(3)});
  for (int fail_at = 0;; ++fail_at) {
    FakeMapWriter fake;
    Programmer p(&fake, kRoomy);
    ASSERT_TRUE(p.Apply(from).ok());
    fake.FailWriteAt(fail_at);
    absl::Status s = p.Apply(to);
    EXPECT_EQ(fake.violation(), "") << "failing write " << fail_at;
    fake.FailWriteAt(-1);
    ASSERT_TRUE(p.Apply(to).ok());
    EXPECT_EQ(fake.violation(), "");
    ASSERT_EQ(fake.entries().source_ranges.size(), 1u) << fail_at;
    EXPECT_EQ(fake.entries().source_ranges[0].prefixlen, 40u);
    if (s.ok()) break;
  }
}

TEST_F(ProgrammerTest, TooManySourceRangesIsRefusedWhole) {
  Capacity tight = kRoomy;
  tight.source_ranges = 1;
  FakeMapWriter fake;
  Programmer p(&fake, tight);
  absl::Status s = p.Apply(WithRanges({kClient200, kNet10}));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(fake.writes(), 0u);
}

// The maps' meaning, with ids resolved away: which backends each frontend
// chooses among, and which backends exist.
std::map<std::string, std::multiset<std::pair<uint32_t, uint16_t>>> Meaning(
    const FakeMapWriter& fake) {
  std::map<std::string, std::multiset<std::pair<uint32_t, uint16_t>>> out;
  const ProgrammedEntries& e = fake.entries();
  for (const auto& [key, value] : e.frontends) {
    std::string name = std::to_string(key.addr) + ":" +
                       std::to_string(key.port) + "/" +
                       std::to_string(key.proto);
    auto& backends = out[name];
    for (uint32_t slot = 1; slot <= value.count; ++slot) {
      const yard_backend4& be =
          e.backends.at(e.slots.at({value.svc_id, slot}).backend_id);
      backends.insert({be.addr, be.port});
    }
  }
  // Retired backends are history (they stay for their flows), not meaning.
  for (const auto& [id, be] : e.backends) {
    if (be.state != YARD_BACKEND_RETIRED) {
      out["backends"].insert({be.addr, be.port});
    }
  }
  return out;
}

// Random churn applied through scoped updates (what the agent does per
// delta) ends in the same maps as one full apply of the final state, and
// never shows a broken state on the way.
TEST(ProgrammerScopedTest, ScopedUpdatesMatchAFullApply) {
  std::mt19937 rng(7);
  FakeMapWriter fake;
  Programmer incremental(&fake, kRoomy);
  DesiredState current;
  ASSERT_TRUE(incremental.Apply(current).ok());
  for (int step = 0; step < 300; ++step) {
    DesiredState next = current;
    translate::DesiredChange change;
    int service = static_cast<int>(rng() % 12);
    uint32_t addr = htonl(0x0a600000u + service + 1);
    std::string set = "svc" + std::to_string(service);
    FrontendKey port{addr, htons(80), IPPROTO_TCP}, wildcard{addr, 0, 0};
    change.frontends = {port, wildcard};
    change.sets = {set};
    if (rng() % 5 == 0) {
      next.frontends.erase(port);
      next.frontends.erase(wildcard);
      next.sets.erase(set);
    } else {
      next.frontends[port] = {set, 0, 0, set};
      next.frontends[wildcard] = {"", YARD_SVC_F_WILDCARD, 0, set};
      std::set<BackendAddr> eligible, draining;
      int n = static_cast<int>(rng() % 6);
      for (int i = 0; i < n; ++i)
        eligible.insert(Be(static_cast<int>(rng() % 20)));
      if (rng() % 3 == 0) {
        BackendAddr d = Be(static_cast<int>(rng() % 20));
        if (!eligible.contains(d)) draining.insert(d);
      }
      next.sets[set] = {{eligible.begin(), eligible.end()},
                        {draining.begin(), draining.end()}};
    }
    absl::Status s = incremental.Apply(next, change);
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_EQ(fake.violation(), "") << "step " << step;
    current = next;
  }
  FakeMapWriter reference;
  Programmer full(&reference, kRoomy);
  ASSERT_TRUE(full.Apply(current).ok());
  EXPECT_EQ(Meaning(fake), Meaning(reference));
  EXPECT_EQ(fake.entries().slots.size(), reference.entries().slots.size());
  EXPECT_EQ(fake.entries().rev_nat.size(), reference.entries().rev_nat.size());
}

// An endpoint that leaves and comes back (a relist, a slice re-created)
// is the same backend: its id, so flows pinned to it find it again.
TEST_F(ProgrammerTest, EndpointThatComesBackKeepsItsBackendId) {
  ApplyOk(Desired({{Be(1), Be(2)}}));
  uint32_t id = 0;
  for (const auto& [i, be] : fake_.entries().backends) {
    if (be.addr == Be(1).addr_be) id = i;
  }
  ASSERT_NE(id, 0u);
  ApplyOk(Desired({{Be(2)}}));
  EXPECT_EQ(fake_.entries().backends.at(id).state, YARD_BACKEND_RETIRED);
  EXPECT_EQ(programmer_.counts().backends, 1u);
  EXPECT_EQ(programmer_.counts().retired_backends, 1u);
  // Other endpoints come and go meanwhile; the retired id stays its own.
  ApplyOk(Desired({{Be(2), Be(3), Be(4)}}));
  ApplyOk(Desired({{Be(2), Be(1)}}));
  EXPECT_EQ(fake_.entries().backends.at(id).addr, Be(1).addr_be);
  EXPECT_EQ(fake_.entries().backends.at(id).state, YARD_BACKEND_ACTIVE);
  EXPECT_EQ(programmer_.counts().backends, 2u);
  EXPECT_EQ(programmer_.counts().retired_backends, 2u);  // 3 and 4
}

// Retired backends give their ids up, longest-retired first, when new
// endpoints need them; the capacity check counts them as room.
TEST_F(ProgrammerTest, RetiredBackendsMakeRoomOldestFirst) {
  FakeMapWriter fake;
  Programmer p(&fake, Capacity{.frontends = 16, .slots = 64, .backends = 4});
  ASSERT_TRUE(p.Apply(Desired({{Be(1), Be(2), Be(3)}})).ok());  // ids 1-3
  ASSERT_TRUE(p.Apply(Desired({{Be(3)}})).ok());  // 1, then 2, retire
  ASSERT_TRUE(p.Apply(Desired({{Be(3), Be(4), Be(5)}})).ok());
  EXPECT_EQ(fake.violation(), "");
  EXPECT_EQ(Listed(fake), 3u);
  // Backend 1 retired first and gave its id up first.
  std::map<uint32_t, uint32_t> host_by_id;
  for (const auto& [id, be] : fake.entries().backends) {
    host_by_id[id] = ntohl(be.addr) & 0xff;
  }
  EXPECT_EQ(host_by_id.at(1), 4u);
  EXPECT_EQ(host_by_id.at(2), 5u);
  EXPECT_EQ(p.counts().retired_backends, 0u);
  // No more room: refused whole, nothing written.
  size_t before = fake.writes();
  absl::Status s = p.Apply(Desired({{Be(3), Be(4), Be(5), Be(6), Be(7)}}));
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_EQ(fake.writes(), before);
}

// An endpoint that flaps goes to the back of the queue each time it
// retires: the backend retired longest ago still gives its id up first.
TEST_F(ProgrammerTest, FlappingEndpointDoesNotJumpTheRetiredQueue) {
  FakeMapWriter fake;
  Programmer p(&fake, Capacity{.frontends = 16, .slots = 64, .backends = 4});
  ASSERT_TRUE(p.Apply(Desired({{Be(1), Be(2), Be(3)}})).ok());  // ids 1-3
  ASSERT_TRUE(p.Apply(Desired({{Be(2), Be(3)}})).ok());         // 1 retires
  ASSERT_TRUE(p.Apply(Desired({{Be(3)}})).ok());                // then 2
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(p.Apply(Desired({{Be(1), Be(3)}})).ok());  // 1 is back
    ASSERT_TRUE(p.Apply(Desired({{Be(3)}})).ok());         // and retires
  }
  ASSERT_TRUE(p.Apply(Desired({{Be(3), Be(4)}})).ok());
  EXPECT_EQ(fake.violation(), "");
  // Backend 2 (id 2) retired longest ago: its id went to backend 4.
  EXPECT_EQ(ntohl(fake.entries().backends.at(2).addr) & 0xff, 4u);
  EXPECT_EQ(fake.entries().backends.at(1).state, YARD_BACKEND_RETIRED);
  EXPECT_EQ(ntohl(fake.entries().backends.at(1).addr) & 0xff, 1u);
}

// A restarted agent adopts retired backends as retired: still theirs to
// give back, still no endpoint's.
TEST_F(ProgrammerTest, RetiredBackendsAreAdoptedAsRetired) {
  ApplyOk(Desired({{Be(1), Be(2)}}));
  ApplyOk(Desired({{Be(2)}}));
  Programmer restarted(&fake_, kRoomy);
  restarted.Adopt(fake_.entries());
  EXPECT_EQ(restarted.counts().retired_backends, 1u);
  size_t before = fake_.writes();
  ASSERT_TRUE(restarted.Apply(Desired({{Be(2)}})).ok());
  EXPECT_EQ(fake_.writes(), before);
  ASSERT_TRUE(restarted.Apply(Desired({{Be(2), Be(1)}})).ok());
  EXPECT_EQ(Listed(fake_), 2u);
  EXPECT_EQ(restarted.counts().retired_backends, 0u);
}

}  // namespace
}  // namespace switchyard::sync
