// SPDX-License-Identifier: Apache-2.0
// Maglev table construction (control/translate/maglev_table.h): each
// backend's permutation, the balance of the table, weights, and how few
// entries move when a backend leaves or joins.
#include "control/translate/maglev_table.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace switchyard::translate {
namespace {

constexpr uint32_t kSize = 16381;

// Endpoint keys as the programmer makes them: address << 16 | port.
std::vector<MaglevBackend> Backends(int n, uint32_t first_host = 0x0af40105) {
  std::vector<MaglevBackend> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(
        {uint64_t{first_host + static_cast<uint32_t>(i)} << 16 | 8080, 1});
  }
  return out;
}

std::vector<uint64_t> Owners(const std::vector<MaglevBackend>& backends,
                             const std::vector<uint32_t>& table) {
  std::vector<uint64_t> out;
  out.reserve(table.size());
  for (uint32_t i : table) out.push_back(backends[i].key);
  return out;
}

std::map<uint32_t, size_t> Shares(const std::vector<uint32_t>& table) {
  std::map<uint32_t, size_t> out;
  for (uint32_t i : table) ++out[i];
  return out;
}

TEST(MaglevPermutationTest, VisitsEveryEntryOnceForAPrimeSize) {
  for (uint64_t key : {uint64_t{1}, uint64_t{0x0af4010501f90}, ~uint64_t{0}}) {
    uint32_t offset = MaglevOffset(key, kSize);
    uint32_t skip = MaglevSkip(key, kSize);
    ASSERT_LT(offset, kSize);
    ASSERT_GE(skip, 1u);
    ASSERT_LT(skip, kSize);
    std::vector<bool> seen(kSize, false);
    uint64_t pos = offset;
    for (uint32_t j = 0; j < kSize; ++j) {
      ASSERT_FALSE(seen[pos]) << "entry " << pos << " twice for key " << key;
      seen[pos] = true;
      pos = (pos + skip) % kSize;
    }
  }
}

TEST(MaglevPermutationTest, DiffersBetweenBackends) {
  std::set<std::pair<uint32_t, uint32_t>> seen;
  for (const MaglevBackend& b : Backends(100)) {
    seen.insert({MaglevOffset(b.key, kSize), MaglevSkip(b.key, kSize)});
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(MaglevTableTest, FillsEveryEntry) {
  std::vector<MaglevBackend> backends = Backends(3);
  std::vector<uint32_t> table = BuildMaglevTable(backends, kSize);
  ASSERT_EQ(table.size(), kSize);
  for (uint32_t i : table) EXPECT_LT(i, 3u);
}

TEST(MaglevTableTest, NoBackendsOrNoWeightNoTable) {
  EXPECT_TRUE(BuildMaglevTable({}, kSize).empty());
  EXPECT_TRUE(BuildMaglevTable({{1, 0}, {2, 0}}, kSize).empty());
}

TEST(MaglevTableTest, SameBackendsSameTable) {
  // What lets every node build the same table on its own.
  EXPECT_EQ(BuildMaglevTable(Backends(10), kSize),
            BuildMaglevTable(Backends(10), kSize));
}

TEST(MaglevTableTest, EachBackendGetsItsShare) {
  for (int n : {1, 2, 3, 10, 100, 1000}) {
    std::vector<uint32_t> table = BuildMaglevTable(Backends(n), kSize);
    std::map<uint32_t, size_t> shares = Shares(table);
    ASSERT_EQ(shares.size(), static_cast<size_t>(n));
    // Round-robin filling: shares differ by at most one entry (the last
    // round is partial).
    size_t lo = kSize, hi = 0;
    for (const auto& [i, count] : shares) {
      lo = std::min(lo, count);
      hi = std::max(hi, count);
    }
    EXPECT_LE(hi - lo, 1u) << n << " backends";
  }
}

TEST(MaglevTableTest, WeightsShareInProportion) {
  std::vector<MaglevBackend> backends = Backends(3);
  backends[0].weight = 3;
  backends[1].weight = 1;
  backends[2].weight = 2;
  std::map<uint32_t, size_t> shares = Shares(BuildMaglevTable(backends, kSize));
  const double unit = kSize / 6.0;
  EXPECT_NEAR(shares[0], 3 * unit, 2.0);
  EXPECT_NEAR(shares[1], 1 * unit, 2.0);
  EXPECT_NEAR(shares[2], 2 * unit, 2.0);
  std::printf("weights 3:1:2 over %u entries: %zu %zu %zu\n", kSize, shares[0],
              shares[1], shares[2]);
}

TEST(MaglevTableTest, ZeroWeightTakesNothing) {
  std::vector<MaglevBackend> backends = Backends(3);
  backends[1].weight = 0;
  std::map<uint32_t, size_t> shares = Shares(BuildMaglevTable(backends, kSize));
  EXPECT_FALSE(shares.contains(1));
  EXPECT_EQ(shares[0] + shares[2], kSize);
}

// The fraction of entries that name another backend after one of n
// leaves: the leaver's 1/n must move; Maglev also moves a few of the
// others' (the paper's figure 12), which this bounds.
struct Disruption {
  double moved = 0;            // all entries that changed owner
  double survivors_moved = 0;  // of those, entries a survivor had
};

Disruption RemoveOne(int n, int leaver) {
  std::vector<MaglevBackend> before = Backends(n);
  std::vector<MaglevBackend> after = before;
  after.erase(after.begin() + leaver);
  std::vector<uint64_t> old_owners =
      Owners(before, BuildMaglevTable(before, kSize));
  std::vector<uint64_t> new_owners =
      Owners(after, BuildMaglevTable(after, kSize));
  size_t moved = 0, survivors_moved = 0;
  for (size_t i = 0; i < kSize; ++i) {
    if (old_owners[i] == new_owners[i]) continue;
    ++moved;
    if (old_owners[i] != before[leaver].key) ++survivors_moved;
  }
  return {static_cast<double>(moved) / kSize,
          static_cast<double>(survivors_moved) / kSize};
}

TEST(MaglevTableTest, RemovingOneOfTenMovesAboutATenth) {
  for (int leaver : {0, 4, 9}) {
    Disruption d = RemoveOne(10, leaver);
    std::printf(
        "N=10, backend %d leaves: %.2f%% of entries moved (1/N = 10%%), "
        "%.2f%% between survivors\n",
        leaver, 100 * d.moved, 100 * d.survivors_moved);
    EXPECT_GE(d.moved, 0.1 - 0.001);  // the leaver's share, at least
    EXPECT_LE(d.moved, 0.1 + 0.02);
    EXPECT_LE(d.survivors_moved, 0.02);
  }
}

TEST(MaglevTableTest, DisruptionStaysNearOneOverN) {
  for (int n : {3, 5, 20, 50, 100}) {
    Disruption d = RemoveOne(n, n / 2);
    std::printf("N=%d, one leaves: %.2f%% moved (1/N = %.2f%%)\n", n,
                100 * d.moved, 100.0 / n);
    EXPECT_LE(d.moved, 1.0 / n + 0.02) << n << " backends";
  }
}

TEST(MaglevTableTest, AddingOneMovesAboutItsShare) {
  std::vector<MaglevBackend> before = Backends(10);
  std::vector<MaglevBackend> after = Backends(11);
  std::vector<uint64_t> old_owners =
      Owners(before, BuildMaglevTable(before, kSize));
  std::vector<uint64_t> new_owners =
      Owners(after, BuildMaglevTable(after, kSize));
  size_t moved = 0;
  for (size_t i = 0; i < kSize; ++i) moved += old_owners[i] != new_owners[i];
  double fraction = static_cast<double>(moved) / kSize;
  std::printf("N=10 -> 11: %.2f%% moved (1/11 = 9.09%%)\n", 100 * fraction);
  EXPECT_LE(fraction, 1.0 / 11 + 0.02);
}

// The fill as the paper writes it, one modulo per step: the table every
// node builds must not change with how fast it is built (nodes of two
// agent versions serve the same flows during an upgrade).
std::vector<uint32_t> ReferenceTable(const std::vector<MaglevBackend>& backends,
                                     uint32_t size) {
  uint32_t max_weight = 0;
  for (const MaglevBackend& b : backends) {
    max_weight = std::max(max_weight, b.weight);
  }
  if (size < 2 || max_weight == 0) return {};
  std::vector<uint32_t> next(backends.size()), skip(backends.size());
  std::vector<uint64_t> credit(backends.size(), 0);
  for (size_t i = 0; i < backends.size(); ++i) {
    next[i] = MaglevOffset(backends[i].key, size);
    skip[i] = MaglevSkip(backends[i].key, size);
  }
  std::vector<uint32_t> table(size, UINT32_MAX);
  uint32_t filled = 0;
  while (true) {
    for (size_t i = 0; i < backends.size(); ++i) {
      credit[i] += backends[i].weight;
      if (credit[i] < max_weight) continue;
      credit[i] -= max_weight;
      while (table[next[i]] != UINT32_MAX) {
        next[i] = static_cast<uint32_t>((uint64_t{next[i]} + skip[i]) % size);
      }
      table[next[i]] = static_cast<uint32_t>(i);
      next[i] = static_cast<uint32_t>((uint64_t{next[i]} + skip[i]) % size);
      if (++filled == size) return table;
    }
  }
}

TEST(MaglevTableTest, SameTableAsThePapersLoop) {
  const uint32_t sizes[] = {2, 3, 7, 251, 16381, 65521};
  for (uint32_t size : sizes) {
    for (int n : {1, 2, 3, 10, 100, 1000}) {
      std::vector<MaglevBackend> backends = Backends(n);
      ASSERT_EQ(BuildMaglevTable(backends, size),
                ReferenceTable(backends, size))
          << "M=" << size << " N=" << n;
      // Weights, a zero among them.
      for (size_t i = 0; i < backends.size(); ++i) {
        backends[i].weight = static_cast<uint32_t>((i * 7) % 5);
      }
      ASSERT_EQ(BuildMaglevTable(backends, size),
                ReferenceTable(backends, size))
          << "weighted, M=" << size << " N=" << n;
    }
  }
}

TEST(MaglevTableTest, BuildTimeAtTheDefaultSize) {
  for (int n : {10, 1000}) {
    std::vector<MaglevBackend> backends = Backends(n);
    auto start = std::chrono::steady_clock::now();
    std::vector<uint32_t> table = BuildMaglevTable(backends, kSize);
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    start = std::chrono::steady_clock::now();
    std::vector<uint32_t> reference = ReferenceTable(backends, kSize);
    double reference_ms = std::chrono::duration<double, std::milli>(
                              std::chrono::steady_clock::now() - start)
                              .count();
    std::printf("build, N=%d, M=%u: %.2f ms (the paper's loop: %.2f ms)\n", n,
                kSize, ms, reference_ms);
    EXPECT_EQ(table.size(), kSize);
  }
}

}  // namespace
}  // namespace switchyard::translate
