// SPDX-License-Identifier: Apache-2.0
#include "control/agent/kernel_map_writer.h"

namespace switchyard::agent {

absl::StatusOr<sync::ProgrammedEntries> ReadProgrammed(
    const kernel::DatapathMaps& maps) {
  sync::ProgrammedEntries out;
  auto frontends = maps.DumpFrontends();
  if (!frontends.ok()) return frontends.status();
  for (const auto& [key, value] : *frontends) out.frontends[key] = value;
  auto slots = maps.DumpSlots();
  if (!slots.ok()) return slots.status();
  for (const auto& [key, value] : *slots) out.slots[key] = value;
  auto backends = maps.DumpBackends();
  if (!backends.ok()) return backends.status();
  for (const auto& [id, value] : *backends) out.backends[id] = value;
  auto rev_nat = maps.DumpRevNat();
  if (!rev_nat.ok()) return rev_nat.status();
  for (const auto& [id, value] : *rev_nat) out.rev_nat[id] = value;
  auto ranges = maps.DumpSourceRanges();
  if (!ranges.ok()) return ranges.status();
  out.source_ranges = std::move(*ranges);
  auto tables = maps.MaglevTableIds();
  if (!tables.ok()) return tables.status();
  for (uint32_t id : *tables) out.maglev_tables[id] = {};
  return out;
}

}  // namespace switchyard::agent
