// SPDX-License-Identifier: Apache-2.0
#include "control/agent/ct_sweeper.h"

#include <time.h>

#include <optional>
#include <utility>
#include <vector>

namespace switchyard::agent {

uint64_t MonotonicNowNs() {
  timespec ts = {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<uint64_t>(ts.tv_nsec);
}

absl::StatusOr<uint64_t> SweepExpiredFlows(kernel::DatapathMaps& maps,
                                           const kernel::CtTimeouts& timeouts,
                                           uint64_t now_ns) {
  absl::StatusOr<std::vector<std::pair<yard_ct4_key, yard_ct4_value>>> all =
      maps.DumpCt();
  if (!all.ok()) return all.status();
  uint64_t swept = 0;
  for (const auto& [key, value] : *all) {
    if (kernel::CtTimeLeft(key.proto, value, timeouts, now_ns) >
        absl::ZeroDuration()) {
      continue;
    }
    // Read again just before deleting: a packet may have renewed it (or
    // a new flow replaced it) since the walk.
    absl::StatusOr<std::optional<yard_ct4_value>> now = maps.LookupCt(key);
    if (!now.ok()) return now.status();
    if (!now->has_value() || (*now)->last_seen_ns != value.last_seen_ns ||
        (*now)->created_ns != value.created_ns) {
      continue;
    }
    if (absl::Status s = maps.DeleteCt(key); !s.ok()) return s;
    ++swept;
  }
  return swept;
}

}  // namespace switchyard::agent
