// SPDX-License-Identifier: Apache-2.0
// Words for enum yard_reason: a stable identifier for scripts and JSON, what
// the datapath does with such a packet, and one line a person can act on.
// One table, so every tool that shows the counters (yardctl, the metrics
// exporter, test failure messages) names them the same way; the names are
// also metric label values and JSON values, so they never change.
#ifndef SWITCHYARD_CONTROL_NAMES_REASON_NAMES_H_
#define SWITCHYARD_CONTROL_NAMES_REASON_NAMES_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "yard_abi.h"

namespace switchyard::names {

struct ReasonInfo {
  absl::string_view name;     // "reject_no_endpoint": the enum, lower case
  absl::string_view action;   // "pass", "drop" or "reject"
  absl::string_view meaning;  // why a packet is counted here
};

// Every value below YARD_REASON_MAX has an entry; others get "unknown".
const ReasonInfo& DescribeReason(uint32_t reason);

// The reason called `name` (as DescribeReason spells it), if any.
std::optional<yard_reason> ReasonByName(absl::string_view name);

}  // namespace switchyard::names

#endif  // SWITCHYARD_CONTROL_NAMES_REASON_NAMES_H_
