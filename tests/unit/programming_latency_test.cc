// SPDX-License-Identifier: Apache-2.0
// ProgrammingLatency and StreamAcks: a write's arrival matched with each
// ack that covers its version, whichever comes first; versions folded
// into one update each counted; a stream's first ack not counted; old
// versions and unmatched acks bounded.
#include "control/controller/programming_latency.h"

#include <gtest/gtest.h>

#include <vector>

#include "absl/time/time.h"

namespace switchyard::controller {
namespace {

class ProgrammingLatencyTest : public ::testing::Test {
 protected:
  absl::Time T(int ms) { return absl::UnixEpoch() + absl::Milliseconds(ms); }
  std::vector<int64_t> Seen() {
    std::vector<int64_t> ms;
    for (absl::Duration d : seen_) ms.push_back(absl::ToInt64Milliseconds(d));
    return ms;
  }

  std::vector<absl::Duration> seen_;
  ProgrammingLatency latency_{[this](absl::Duration d) { seen_.push_back(d); },
                              /*retained=*/8, /*max_waiting=*/3};
};

TEST_F(ProgrammingLatencyTest, WriteThenAckIsOneObservation) {
  latency_.Written(5, T(100));
  latency_.Acked(4, 5, T(103));
  EXPECT_EQ(Seen(), std::vector<int64_t>({3}));
}

// Agents get a version before the writer's flush returns: the ack comes
// first and waits for the arrival.
TEST_F(ProgrammingLatencyTest, AckBeforeTheWriterIsToldWaitsForTheArrival) {
  latency_.Acked(4, 5, T(103));
  EXPECT_TRUE(Seen().empty());
  latency_.Written(5, T(101));
  EXPECT_EQ(Seen(), std::vector<int64_t>({2}));
  // Matched once: the same version written again (a write that changed
  // nothing returns it) observes nothing more.
  latency_.Written(5, T(150));
  EXPECT_EQ(Seen().size(), 1u);
}

TEST_F(ProgrammingLatencyTest, EveryVersionAnAckCoversIsCounted) {
  latency_.Written(2, T(10));
  latency_.Written(3, T(20));
  latency_.Acked(1, 4, T(40));  // 4 not written yet
  EXPECT_EQ(Seen(), std::vector<int64_t>({30, 20}));
  latency_.Written(4, T(35));
  EXPECT_EQ(Seen(), std::vector<int64_t>({30, 20, 5}));
}

TEST_F(ProgrammingLatencyTest, EachNodesAckIsItsOwnObservation) {
  latency_.Written(7, T(0));
  latency_.Acked(6, 7, T(2));
  latency_.Acked(6, 7, T(9));
  EXPECT_EQ(Seen(), std::vector<int64_t>({2, 9}));
}

TEST_F(ProgrammingLatencyTest, OldVersionsAndUnmatchedAcksAreDropped) {
  latency_.Acked(0, 1, T(5));  // version 1 never written here
  for (int v = 2; v <= 20; ++v) latency_.Written(v, T(v));
  // Version 1 is far behind the newest (20) now: written late, it is
  // neither kept nor matched with the waiting ack.
  latency_.Written(1, T(0));
  EXPECT_TRUE(Seen().empty());
  // Only the last `retained` arrivals are kept.
  latency_.Acked(1, 20, T(30));
  EXPECT_EQ(Seen().size(), 8u);
  EXPECT_EQ(Seen().front(), 30 - 13);
}

TEST_F(ProgrammingLatencyTest, AtMostMaxWaitingAcksWaitTheOldestGoFirst) {
  for (int node = 0; node < 4; ++node) latency_.Acked(0, 1, T(10 + node));
  latency_.Written(1, T(0));
  // The first node's ack (at 10) was let go for the fourth's.
  EXPECT_EQ(Seen(), std::vector<int64_t>({11, 12, 13}));
}

TEST(StreamAcksTest, FirstAckIsTheStartAndRejectionsWaitForTheNextApplied) {
  std::vector<absl::Duration> seen;
  ProgrammingLatency latency([&](absl::Duration d) { seen.push_back(d); });
  const absl::Time t0 = absl::UnixEpoch();
  for (uint64_t v = 10; v <= 14; ++v) {
    latency.Written(v, t0 + absl::Milliseconds(v));
  }
  StreamAcks acks(&latency);
  acks.Ack(10, true, t0 + absl::Milliseconds(50));  // snapshot: connecting
  EXPECT_TRUE(seen.empty());
  acks.Ack(11, true, t0 + absl::Milliseconds(12));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], absl::Milliseconds(1));
  acks.Ack(12, false, t0 + absl::Milliseconds(20));  // refused: not counted
  EXPECT_EQ(seen.size(), 1u);
  acks.Ack(14, true, t0 + absl::Milliseconds(30));  // 12 to 14 programmed
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[1], absl::Milliseconds(18));
  EXPECT_EQ(seen[2], absl::Milliseconds(17));
  EXPECT_EQ(seen[3], absl::Milliseconds(16));
}

}  // namespace
}  // namespace switchyard::controller
