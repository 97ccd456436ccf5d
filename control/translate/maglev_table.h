// SPDX-License-Identifier: Apache-2.0
// Maglev consistent hashing (Eisenbud et al., NSDI 2016, section 3.4): a
// lookup table of M entries (M prime) filled from each backend's own
// permutation of 0..M-1, so that each backend holds about M/N entries and
// removing one backend moves little more than that backend's entries.
//
// Each backend's permutation depends on its key alone (here its endpoint
// address and port), never on the node or on ids: every node builds the
// same table from the same endpoints. Weights make a backend take turns
// in proportion: in each round of the fill the heaviest backend takes one
// entry and a backend of weight w takes w/w_max (credit carried over).
#ifndef SWITCHYARD_CONTROL_TRANSLATE_MAGLEV_TABLE_H_
#define SWITCHYARD_CONTROL_TRANSLATE_MAGLEV_TABLE_H_

#include <cstdint>
#include <vector>

namespace switchyard::translate {

struct MaglevBackend {
  uint64_t key = 0;     // stable identity, e.g. address << 16 | port
  uint32_t weight = 1;  // 0 takes no entries
};

// The table: entry i holds the index (into `backends`) of the backend
// hash value i goes to. Empty when no backend has a weight, or size < 2.
// About M * ln(M) probes in all: 0.2-0.3 ms at M = 16381 for N = 10 to
// 1,000 on the bench VM (tests/unit/maglev_table_test.cc prints it); N <= M
// is the caller's to keep, else backends beyond M get nothing.
std::vector<uint32_t> BuildMaglevTable(
    const std::vector<MaglevBackend>& backends, uint32_t size);

// The two hashes of a backend's permutation: where it starts and how it
// steps (1..M-1, so with M prime it visits every entry once).
uint32_t MaglevOffset(uint64_t key, uint32_t size);
uint32_t MaglevSkip(uint64_t key, uint32_t size);

}  // namespace switchyard::translate

#endif  // SWITCHYARD_CONTROL_TRANSLATE_MAGLEV_TABLE_H_
