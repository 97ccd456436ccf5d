// SPDX-License-Identifier: Apache-2.0
// The agent's --controller value: one controller address or several,
// comma-separated, that the watch client fails over between in order.
#ifndef SWITCHYARD_CONTROL_AGENT_CONTROLLER_LIST_H_
#define SWITCHYARD_CONTROL_AGENT_CONTROLLER_LIST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::agent {

// Splits `list` at commas into addresses (each "unix:///path" or
// "host:port", passed to gRPC as given). An empty entry (",," or a comma
// at either end), whitespace anywhere or an address given twice is
// InvalidArgument naming the entry: typing slips that gRPC would only
// report later, per connection attempt, as an unreachable controller.
absl::StatusOr<std::vector<std::string>> ParseControllerList(
    absl::string_view list);

}  // namespace switchyard::agent

#endif  // SWITCHYARD_CONTROL_AGENT_CONTROLLER_LIST_H_
