// SPDX-License-Identifier: Apache-2.0
// How full each of a node's pinned maps is: what `yardctl status` shows so
// an operator sees a table filling up before new flows start evicting old
// ones or the agent's writes start failing.
#ifndef SWITCHYARD_CONTROL_KERNEL_MAP_USAGE_H_
#define SWITCHYARD_CONTROL_KERNEL_MAP_USAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::kernel {

struct MapUsage {
  std::string name;  // yard_svc4, ...
  std::string type;  // libbpf's name for it: hash, lru_hash, array, ...
  uint32_t id = 0;   // kernel map id, as bpftool shows it
  // Entries in use: hash maps count their keys, the backend and reverse-NAT
  // arrays their non-empty entries. nullopt for the per-CPU counter
  // arrays, which are indexed by id and so always "full".
  std::optional<uint64_t> entries;
  uint32_t max_entries = 0;
};

// One row per map the datapath pins, in the ABI's order.
absl::StatusOr<std::vector<MapUsage>> ReadMapUsage(absl::string_view pin_dir);

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_MAP_USAGE_H_
