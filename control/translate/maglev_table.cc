// SPDX-License-Identifier: Apache-2.0
#include "control/translate/maglev_table.h"

#include <algorithm>
#include <cstdint>

namespace switchyard::translate {
namespace {

// A 64-bit finaliser (every input bit moves about half of the output);
// two seeds give the two independent hashes the paper asks for.
uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

constexpr uint64_t kOffsetSeed = 0x6d61676c65762d6fULL;  // "maglev-o"
constexpr uint64_t kSkipSeed = 0x6d61676c65762d73ULL;    // "maglev-s"

}  // namespace

uint32_t MaglevOffset(uint64_t key, uint32_t size) {
  return static_cast<uint32_t>(Mix64(key ^ kOffsetSeed) % size);
}

uint32_t MaglevSkip(uint64_t key, uint32_t size) {
  return static_cast<uint32_t>(Mix64(key ^ kSkipSeed) % (size - 1)) + 1;
}

std::vector<uint32_t> BuildMaglevTable(
    const std::vector<MaglevBackend>& backends, uint32_t size) {
  constexpr uint32_t kEmpty = UINT32_MAX;
  uint32_t max_weight = 0;
  for (const MaglevBackend& b : backends) {
    max_weight = std::max(max_weight, b.weight);
  }
  if (size < 2 || max_weight == 0) return {};

  struct Cursor {
    uint32_t next = 0;  // position in the permutation, as an entry
    uint32_t skip = 0;
    uint64_t credit = 0;  // in units of 1/max_weight of a turn
  };
  std::vector<Cursor> cursors(backends.size());
  for (size_t i = 0; i < backends.size(); ++i) {
    cursors[i].next = MaglevOffset(backends[i].key, size);
    cursors[i].skip = MaglevSkip(backends[i].key, size);
  }
  // Which entries are taken, a byte each: the probes below (about
  // M * ln(M) in all, mostly at the end of the fill) read this, which
  // stays in the first-level cache at the default size, not the table.
  // Steps add and subtract rather than divide (next and skip are below
  // size). Same table as the paper's loop, which the test checks.
  std::vector<uint32_t> table(size, kEmpty);
  std::vector<uint8_t> taken(size, 0);
  uint32_t filled = 0;
  while (true) {
    for (size_t i = 0; i < backends.size(); ++i) {
      Cursor& c = cursors[i];
      c.credit += backends[i].weight;
      if (c.credit < max_weight) continue;
      c.credit -= max_weight;
      // The backend's next preferred entry that is still free.
      uint32_t next = c.next;
      while (taken[next] != 0) {
        next += c.skip;
        if (next >= size) next -= size;
      }
      taken[next] = 1;
      table[next] = static_cast<uint32_t>(i);
      next += c.skip;
      if (next >= size) next -= size;
      c.next = next;
      if (++filled == size) return table;
    }
  }
}

}  // namespace switchyard::translate
