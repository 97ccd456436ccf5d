// SPDX-License-Identifier: Apache-2.0
// Keeps the least-connection counts (yard_lc4) true to the flows in
// yard_ct4, so they do not drift.
//
// The datapath adds one when a counted flow's forward entry is recorded
// and takes it back once when the flow ends or a new flow replaces it on
// its tuple (bpf/lib/least_conn.h). A counted flow whose entry goes any
// other way leaves its count behind: it expired (idle past its timeout,
// then deleted by the sweeper or left to sit), the LRU table evicted it,
// or a pod's direct flow took its tuple. So the agent recounts, after
// each sweep:
//   1. reads every count word (count and change tag, one 64-bit word);
//   2. walks yard_ct4, counting per backend the forward entries that hold
//      a count (COUNTED, not RELEASED) of a flow still live: not ended,
//      not expired, and its backend id still the endpoint it names;
//   3. reads the words again. A backend whose word did not move was
//      quiet: no counted flow of it started or ended during the walk, so
//      the walk's number is exact, and a different count is replaced by
//      it. A backend busy during the walk waits for a quiet recount; one
//      busy kBusyRecountsBeforeForcing recounts in a row is corrected all
//      the same (off by at most the flows that started or ended during
//      that walk, which a later quiet recount puts right).
// A correction is a write, not an add (user space has no atomic add on a
// map value): a flow the datapath counts between the second read and the
// write is lost, and the next quiet recount restores it. Corrections set
// the number, never add to it, so errors do not accumulate.
#ifndef SWITCHYARD_CONTROL_AGENT_LC_RECOUNT_H_
#define SWITCHYARD_CONTROL_AGENT_LC_RECOUNT_H_

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "control/kernel/abi.h"
#include "control/kernel/ct_lifetime.h"
#include "control/kernel/datapath_maps.h"

namespace switchyard::agent {

// The count in a yard_lc4 word (its low 32 bits, signed).
int32_t LcActive(uint64_t word);
// The word that follows `word` with the count set to `active`: the change
// tag advances, so a walk under way sees the write as a change.
uint64_t LcWordWithActive(uint64_t word, int32_t active);

// Count words by backend id; an id that is absent holds 0.
using LcWords = std::map<uint32_t, uint64_t>;

// Per backend id, the live counted flows of a walk of yard_ct4 (see the
// top of this file). `backends`: yard_be4's non-empty entries.
std::map<uint32_t, int32_t> CountLiveFlows(
    const std::vector<std::pair<yard_ct4_key, yard_ct4_value>>& ct,
    const std::vector<std::pair<uint32_t, yard_backend4>>& backends,
    const kernel::CtTimeouts& timeouts, uint64_t now_ns);

struct LcCorrection {
  uint32_t backend_id = 0;
  int32_t was = 0;      // the count found
  int32_t is = 0;       // the count written
  uint64_t word = 0;    // the word written
  bool forced = false;  // busy for too long: corrected during traffic
  bool operator==(const LcCorrection&) const = default;
};

// The decisions of steps 1-3 above, with the memory of which backends
// were busy in the recounts before.
class LeastConnRecount {
 public:
  static constexpr int kBusyRecountsBeforeForcing = 3;

  // before, after: the words read before and after the walk that found
  // `live`. Returns the words to write.
  std::vector<LcCorrection> Decide(const LcWords& before,
                                   const std::map<uint32_t, int32_t>& live,
                                   const LcWords& after);

 private:
  std::map<uint32_t, int> busy_;  // consecutive busy recounts, by id
};

// One recount of the node's maps, the corrections written; returns them.
absl::StatusOr<std::vector<LcCorrection>> RecountLeastConn(
    kernel::DatapathMaps& maps, LeastConnRecount& recount,
    const kernel::CtTimeouts& timeouts, uint64_t now_ns);

}  // namespace switchyard::agent

#endif  // SWITCHYARD_CONTROL_AGENT_LC_RECOUNT_H_
