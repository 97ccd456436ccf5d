// SPDX-License-Identifier: Apache-2.0
// The agent's reconnect backoff: delays double up to the cap, each spread
// by at most +-20%, and Reset starts over. Seeded, so a failure repeats.
#include "control/common/backoff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "absl/time/time.h"

namespace switchyard::agent {
namespace {

constexpr uint32_t kSeed = 12345;

// The delay Next() should be jittered around, step by step from the first.
std::vector<absl::Duration> Bases(absl::Duration initial, absl::Duration max,
                                  int steps) {
  std::vector<absl::Duration> bases;
  absl::Duration base = initial;
  for (int i = 0; i < steps; ++i) {
    bases.push_back(base);
    base = std::min(base * 2, max);
  }
  return bases;
}

void ExpectWithinJitter(absl::Duration delay, absl::Duration base, int step) {
  EXPECT_GE(delay, base * 0.8) << "step " << step << ", base " << base;
  EXPECT_LE(delay, base * 1.2) << "step " << step << ", base " << base;
}

TEST(Backoff, DoublesUpToTheCap) {
  // 100, 200, 400, 800, then 1000 ms for good. The ranges of consecutive
  // steps (80-120, 160-240, ...) do not overlap, so each delay landing in
  // its own range shows the doubling despite the jitter.
  const absl::Duration initial = absl::Milliseconds(100);
  const absl::Duration max = absl::Seconds(1);
  Backoff backoff(initial, max, kSeed);
  std::vector<absl::Duration> bases = Bases(initial, max, 8);
  ASSERT_EQ(bases[4], max);
  for (int i = 0; i < static_cast<int>(bases.size()); ++i) {
    ExpectWithinJitter(backoff.Next(), bases[i], i);
  }
}

TEST(Backoff, StaysAtTheCapWithoutOverflowing) {
  // Doubling forever must neither wrap nor grow past the cap.
  Backoff backoff(absl::Milliseconds(1), absl::Seconds(5), kSeed);
  for (int i = 0; i < 200; ++i) backoff.Next();
  for (int i = 0; i < 20; ++i) {
    ExpectWithinJitter(backoff.Next(), absl::Seconds(5), i);
  }
}

TEST(Backoff, JitterStaysWithinTwentyPercentAndSpreads) {
  // Many first delays from different generators: all within +-20% of the
  // base, and spread over most of that range (agents cut off together
  // must not come back together).
  const absl::Duration base = absl::Milliseconds(100);
  double lowest = 2;
  double highest = 0;
  for (uint32_t seed = 0; seed < 1000; ++seed) {
    Backoff backoff(base, absl::Seconds(10), seed);
    double factor = absl::FDivDuration(backoff.Next(), base);
    ASSERT_GE(factor, 0.8) << "seed " << seed;
    ASSERT_LE(factor, 1.2) << "seed " << seed;
    lowest = std::min(lowest, factor);
    highest = std::max(highest, factor);
  }
  EXPECT_LT(lowest, 0.85);
  EXPECT_GT(highest, 1.15);
}

TEST(Backoff, SameSeedSameDelays) {
  Backoff a(absl::Milliseconds(100), absl::Seconds(5), kSeed);
  Backoff b(absl::Milliseconds(100), absl::Seconds(5), kSeed);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.Next(), b.Next()) << "step " << i;
}

TEST(Backoff, ResetStartsOverFromInitial) {
  const absl::Duration initial = absl::Milliseconds(100);
  const absl::Duration max = absl::Seconds(1);
  Backoff backoff(initial, max, kSeed);
  for (int i = 0; i < 6; ++i) backoff.Next();
  backoff.Reset();
  std::vector<absl::Duration> bases = Bases(initial, max, 5);
  for (int i = 0; i < static_cast<int>(bases.size()); ++i) {
    ExpectWithinJitter(backoff.Next(), bases[i], i);
  }
}

TEST(Backoff, UnseededConstructorDoublesToo) {
  // The production constructor (seeded from std::random_device) keeps the
  // same schedule.
  const absl::Duration initial = absl::Milliseconds(10);
  const absl::Duration max = absl::Milliseconds(80);
  Backoff backoff(initial, max);
  std::vector<absl::Duration> bases = Bases(initial, max, 6);
  for (int i = 0; i < static_cast<int>(bases.size()); ++i) {
    ExpectWithinJitter(backoff.Next(), bases[i], i);
  }
}

}  // namespace
}  // namespace switchyard::agent
