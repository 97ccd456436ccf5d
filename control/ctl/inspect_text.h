// SPDX-License-Identifier: Apache-2.0
// Words and numbers for what the datapath's maps hold, shared by
// `yardctl bpf`, `status` and `trace`: one spelling of an address, a
// backend state or a duration everywhere, in tables and JSON alike.
// (Protocols and reasons are named by control/names, for every tool.)
#ifndef SWITCHYARD_CONTROL_CTL_INSPECT_TEXT_H_
#define SWITCHYARD_CONTROL_CTL_INSPECT_TEXT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace switchyard::ctl {

// -o for the node commands: a table, or JSON with a documented schema.
enum class InspectOutput { kTable, kJson };
absl::StatusOr<InspectOutput> ParseInspectOutput(absl::string_view name);

// "10.96.0.10:80" from network-order address and port.
std::string AddrPort(uint32_t addr_be, uint16_t port_be);
// Host-order port from a network-order one.
uint16_t Port(uint16_t port_be);
// "10.96.0.10:80/TCP" (protocol as names::ProtoName); a wildcard entry (port 0,
// protocol 0) is "10.96.0.10:*/*".
std::string FrontendName(uint32_t addr_be, uint16_t port_be, uint8_t proto);

// enum yard_backend_state: "empty", "active", "terminating".
std::string BackendStateName(uint8_t state);
// enum yard_policy: "random", "maglev", "least-conn".
std::string PolicyName(uint8_t policy);
// enum yard_ct_flags bits: "hairpin", "closing", "seen_reply".
std::vector<std::string> CtFlagNames(uint16_t flags);
// TCP header flag bits: "SYN", "ACK", ...
std::vector<std::string> TcpFlagNames(uint8_t flags);

// Durations as people read them, kubectl-like: "0s", "45s", "3m12s",
// "47m", "5h3m", "30h", "3d4h", "12d". Negative counts as zero.
std::string HumanDuration(absl::Duration d);

// "12.5%" of used/capacity, one decimal; "-" when capacity is 0.
std::string Percent(uint64_t used, uint64_t capacity);

}  // namespace switchyard::ctl

#endif  // SWITCHYARD_CONTROL_CTL_INSPECT_TEXT_H_
