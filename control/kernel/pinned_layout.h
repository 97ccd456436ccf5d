// SPDX-License-Identifier: Apache-2.0
// The layout version of a node's pins (yard_layout): which
// YARD_LAYOUT_VERSION made them, so an agent or yardctl of another layout
// says so in both numbers instead of failing on, or misreading, the first
// map that differs.
#ifndef SWITCHYARD_CONTROL_KERNEL_PINNED_LAYOUT_H_
#define SWITCHYARD_CONTROL_KERNEL_PINNED_LAYOUT_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/kernel/abi.h"
#include "control/kernel/bpf_map.h"

namespace switchyard::kernel {

// The layout this build reads and writes.
inline constexpr uint32_t kLayoutVersion = YARD_LAYOUT_VERSION;

// The version recorded in pin_dir; nullopt when none is (pins made by an
// agent older than the record, or no pins at all).
absl::StatusOr<std::optional<uint32_t>> ReadPinnedLayout(
    absl::string_view pin_dir);

// Writes this build's version into a yard_layout map.
absl::Status RecordLayout(BpfMap& yard_layout);

// For readers of the pins (yardctl): an error naming both layouts when
// pin_dir holds pins of another layout; OK for this layout's pins and for
// pins without the record.
absl::Status CheckLayoutToRead(absl::string_view pin_dir);

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_PINNED_LAYOUT_H_
