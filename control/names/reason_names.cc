// SPDX-License-Identifier: Apache-2.0
#include "control/names/reason_names.h"

#include <array>

namespace switchyard::names {
namespace {

// Indexed by enum yard_reason; the static_assert below catches a reason
// added to the ABI without words here.
constexpr ReasonInfo kReasons[] = {
    {"none", "-", "not counted: translated or passed as it is"},
    {"not_ipv4", "pass", "not IPv4 (ARP, IPv6): passed untouched"},
    {"vlan", "pass", "VLAN-tagged frame: passed untouched"},
    {"truncated", "drop", "frame ends inside a header"},
    {"bad_ip_header", "drop", "IPv4 header length or total length wrong"},
    {"fragment", "drop", "IP fragment to a service address"},
    {"unsupported_l4", "drop", "neither TCP nor UDP, to a service address"},
    {"reject_no_endpoint", "reject",
     "service port has no endpoint: answered with RST or ICMP unreachable"},
    {"reject_no_port", "reject",
     "service address without this port/protocol: answered the same way"},
    {"reject_failed", "drop", "the reject answer could not be built"},
    {"backend_gone", "drop",
     "the flow's endpoint was removed and the packet is not a new SYN"},
    {"slot_missing", "drop",
     "the service's count names a slot not written (update order broken)"},
    {"ct_full", "drop", "the new flow could not be recorded"},
    {"revnat_missing", "drop", "reply whose frontend is gone"},
    {"rewrite_failed", "drop", "a checksum or store helper failed"},
    {"source_denied", "drop",
     "source outside the load balancer's loadBalancerSourceRanges"},
    {"snat_exhausted", "drop",
     "no free source port to send the flow on to another node"},
    {"no_route", "drop", "no route or neighbour towards endpoint or client"},
    {"tuple_clash", "drop",
     "a pod's new direct connection has the real tuple of its live service "
     "flow"},
    {"bypass_peer", "pass",
     "stack bypass: sent straight into a local pod (bpf_redirect_peer)"},
    {"bypass_neigh", "pass",
     "stack bypass: sent out the route's device (bpf_redirect_neigh)"},
};
static_assert(std::size(kReasons) == YARD_REASON_MAX,
              "a yard_reason without words in reason_names.cc");

constexpr ReasonInfo kUnknown = {"unknown", "-",
                                 "not a reason this build knows"};

}  // namespace

const ReasonInfo& DescribeReason(uint32_t reason) {
  return reason < std::size(kReasons) ? kReasons[reason] : kUnknown;
}

std::optional<yard_reason> ReasonByName(absl::string_view name) {
  for (uint32_t i = 0; i < std::size(kReasons); ++i) {
    if (kReasons[i].name == name) return static_cast<yard_reason>(i);
  }
  return std::nullopt;
}

}  // namespace switchyard::names
