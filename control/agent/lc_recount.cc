// SPDX-License-Identifier: Apache-2.0
#include "control/agent/lc_recount.h"

#include <algorithm>
#include <set>

namespace switchyard::agent {
namespace {

absl::StatusOr<LcWords> ReadWords(const kernel::DatapathMaps& maps) {
  absl::StatusOr<std::vector<std::pair<uint32_t, yard_lc_count>>> all =
      maps.DumpLeastConnCounts();
  if (!all.ok()) return all.status();
  LcWords words;
  for (const auto& [id, count] : *all) words[id] = count.word;
  return words;
}

uint64_t WordOf(const LcWords& words, uint32_t id) {
  auto it = words.find(id);
  return it == words.end() ? 0 : it->second;
}

}  // namespace

int32_t LcActive(uint64_t word) {
  return static_cast<int32_t>(static_cast<uint32_t>(word));
}

uint64_t LcWordWithActive(uint64_t word, int32_t active) {
  const uint64_t tag = (word >> 32) + 1;
  return (tag << 32) | static_cast<uint32_t>(active);
}

std::map<uint32_t, int32_t> CountLiveFlows(
    const std::vector<std::pair<yard_ct4_key, yard_ct4_value>>& ct,
    const std::vector<std::pair<uint32_t, yard_backend4>>& backends,
    const kernel::CtTimeouts& timeouts, uint64_t now_ns) {
  std::map<uint32_t, const yard_backend4*> by_id;
  for (const auto& [id, backend] : backends) by_id[id] = &backend;
  std::map<uint32_t, int32_t> live;
  for (const auto& [key, value] : ct) {
    if (key.dir != YARD_CT_FORWARD) continue;
    if ((value.lc & (YARD_LC_COUNTED | YARD_LC_RELEASED)) != YARD_LC_COUNTED) {
      continue;
    }
    if (kernel::CtEnded(value) ||
        kernel::CtTimeLeft(key.proto, value, timeouts, now_ns) <=
            absl::ZeroDuration()) {
      continue;
    }
    // A backend id given to another endpoint since: the flow's packets
    // are dropped (its endpoint is gone); it is nobody's load.
    auto be = by_id.find(value.backend_id);
    if (be == by_id.end() || be->second->addr != value.addr ||
        be->second->port != value.port) {
      continue;
    }
    ++live[value.backend_id];
  }
  return live;
}

std::vector<LcCorrection> LeastConnRecount::Decide(
    const LcWords& before, const std::map<uint32_t, int32_t>& live,
    const LcWords& after) {
  std::set<uint32_t> ids;
  for (const auto& [id, word] : before) ids.insert(id);
  for (const auto& [id, n] : live) ids.insert(id);
  for (const auto& [id, word] : after) ids.insert(id);

  std::vector<LcCorrection> out;
  for (uint32_t id : ids) {
    const uint64_t now_word = WordOf(after, id);
    auto it = live.find(id);
    const int32_t found = it == live.end() ? 0 : it->second;
    if (LcActive(now_word) == found) {
      busy_.erase(id);
      continue;
    }
    bool forced = false;
    if (WordOf(before, id) != now_word) {
      if (++busy_[id] < kBusyRecountsBeforeForcing) continue;
      forced = true;
    }
    busy_.erase(id);
    out.push_back({.backend_id = id,
                   .was = LcActive(now_word),
                   .is = found,
                   .word = LcWordWithActive(now_word, found),
                   .forced = forced});
  }
  // Forget backends no longer seen anywhere (ids is every one seen now).
  std::erase_if(busy_, [&](const auto& e) { return !ids.contains(e.first); });
  return out;
}

absl::StatusOr<std::vector<LcCorrection>> RecountLeastConn(
    kernel::DatapathMaps& maps, LeastConnRecount& recount,
    const kernel::CtTimeouts& timeouts, uint64_t now_ns) {
  // Counts only choose for least-connection frontends: with none, the
  // walk would correct numbers nobody reads. (One added later finds its
  // counts corrected by the next recount.)
  absl::StatusOr<std::vector<std::pair<yard_svc4_key, yard_svc_value>>>
      frontends = maps.DumpFrontends();
  if (!frontends.ok()) return frontends.status();
  if (std::none_of(frontends->begin(), frontends->end(), [](const auto& f) {
        return f.second.policy == YARD_POLICY_LEAST_CONN;
      })) {
    return std::vector<LcCorrection>{};
  }
  absl::StatusOr<LcWords> before = ReadWords(maps);
  if (!before.ok()) return before.status();
  absl::StatusOr<std::vector<std::pair<uint32_t, yard_backend4>>> backends =
      maps.DumpBackends();
  if (!backends.ok()) return backends.status();
  absl::StatusOr<std::vector<std::pair<yard_ct4_key, yard_ct4_value>>> ct =
      maps.DumpCt();
  if (!ct.ok()) return ct.status();
  absl::StatusOr<LcWords> after = ReadWords(maps);
  if (!after.ok()) return after.status();

  std::vector<LcCorrection> corrections = recount.Decide(
      *before, CountLiveFlows(*ct, *backends, timeouts, now_ns), *after);
  for (const LcCorrection& c : corrections) {
    if (absl::Status s =
            maps.PutLeastConnCount(c.backend_id, yard_lc_count{.word = c.word});
        !s.ok()) {
      return s;
    }
  }
  return corrections;
}

}  // namespace switchyard::agent
