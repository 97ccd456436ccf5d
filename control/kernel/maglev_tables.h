// SPDX-License-Identifier: Apache-2.0
// Maglev lookup tables as the kernel holds them: one array map per backend
// set inside yard_maglev (a map of maps, yard_abi.h). How a table is made
// and filled, how a live one is rewritten where it is, and whether this
// kernel and the maps an agent adopts allow tables user space can map
// (BPF_F_MMAPABLE, feature maglev_mmap).
//
// Why mapping matters: filled through bpf(2), a new table costs the
// kernel one copy and check per 4-byte entry (~230 ns here, ~4 ms for a
// table of 16,381), and swapping it into yard_maglev waits for an RCU
// grace period (10-17 ms here). A mapped table is filled by plain stores,
// and one whose size is unchanged is rewritten in place: one aligned
// 32-bit store per changed entry, no new table, no swap, no wait.
#ifndef SWITCHYARD_CONTROL_KERNEL_MAGLEV_TABLES_H_
#define SWITCHYARD_CONTROL_KERNEL_MAGLEV_TABLES_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "control/common/scoped_fd.h"
#include "control/kernel/bpf_map.h"

namespace switchyard::kernel {

// The flags of every table and of the template (maps.h's
// yard_maglev_table): the kernel refuses an inner map whose flags differ
// from the template's, so the loader and every writer use this one choice.
uint32_t MaglevTableFlags(bool mmapable);

// A new table holding `table` (entry 0 the size M, entries 1..M backend
// ids), nobody's yet: the caller swaps it into yard_maglev.
absl::StatusOr<ScopedFd> NewMaglevTable(uint32_t svc_id,
                                        absl::Span<const uint32_t> table,
                                        bool mmapable);

// Rewrites the table yard_maglev holds for svc_id in place, when there is
// one of table's size that can be mapped; false when there is none
// (nothing written: the caller makes a new table and swaps it in).
absl::StatusOr<bool> RewriteMaglevTableInPlace(
    const BpfMap& maglev, uint32_t svc_id, absl::Span<const uint32_t> table);

// Why this kernel cannot give yard_maglev tables user space maps; nullopt
// when it can. Probes by making and mapping a small table with the
// template's flags and reading back through bpf(2) what was stored.
std::optional<std::string> WhyNoMappableTables();

// Why the tables of an adopted yard_maglev (pinned by an earlier agent)
// cannot be mappable; nullopt when they can. The kernel fixed the outer
// map's template when it was made, so an outer made with plain tables
// accepts only plain ones. A table it holds tells; an empty one is asked
// by swapping a probe table in under an id no backend set has, and out.
absl::StatusOr<std::optional<std::string>> WhyAdoptedTablesNotMappable(
    BpfMap& maglev);

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_MAGLEV_TABLES_H_
