// SPDX-License-Identifier: Apache-2.0
// `yardctl trace`: its arguments, and the answer to "why did this packet go
// there?" from a kernel::TraceResult. No kernel here: tests feed made-up
// results.
#ifndef SWITCHYARD_CONTROL_CTL_TRACE_FORMAT_H_
#define SWITCHYARD_CONTROL_CTL_TRACE_FORMAT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/ctl/inspect_text.h"
#include "control/kernel/trace.h"

namespace switchyard::ctl {

// SRC[:SPORT] DST:PORT[/PROTO], PROTO tcp or udp (any case; TCP when
// left out). `default_sport` (host order) is used when SPORT is not given.
absl::StatusOr<packet::FlowTuple> ParseTraceTuple(absl::string_view src,
                                                  absl::string_view dst,
                                                  uint16_t default_sport);

// What happened to the packet, in one word (the JSON "outcome"):
// translated, hairpin, hairpin_reply, reply_translated, rejected, dropped,
// passed.
std::string TraceOutcome(const kernel::TraceResult& result);

std::string FormatTrace(const std::string& node,
                        const kernel::TraceResult& result,
                        InspectOutput output);

}  // namespace switchyard::ctl

#endif  // SWITCHYARD_CONTROL_CTL_TRACE_FORMAT_H_
