// SPDX-License-Identifier: Apache-2.0
// The one frame `yardctl trace` sends through the datapath, and a summary
// of what came out. Built and read with the packet builder and decoder; no
// kernel here, so it is unit-tested.
#ifndef SWITCHYARD_CONTROL_PACKET_TRACE_FRAME_H_
#define SWITCHYARD_CONTROL_PACKET_TRACE_FRAME_H_

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "control/packet/packet_types.h"

namespace switchyard::packet {

// Which program a trace runs: the packet as a pod sends it (tc ingress of
// its veth's host side), or as it is about to be delivered to a pod.
enum class TraceHook { kFromPod, kToPod };

// Addresses and ports in network order, as the maps hold them.
struct FlowTuple {
  uint32_t saddr_be = 0;
  uint32_t daddr_be = 0;
  uint16_t sport_be = 0;
  uint16_t dport_be = 0;
  uint8_t proto = 0;  // IPPROTO_TCP or IPPROTO_UDP
};

// The pod's MAC and its veth peer's, as the trace frame carries them.
inline constexpr Mac kTracePodMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x05};
inline constexpr Mac kTraceHostMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

// Ethernet + IPv4 (TTL 64, DF) + TCP or UDP with every checksum correct.
// TCP carries SYN from a pod (a new connection, the case that selects a
// backend) and SYN-ACK towards one (the answer); UDP eight bytes of data.
Bytes BuildTraceFrame(const FlowTuple& tuple, TraceHook hook);

// What a frame holds, header by header. Unknown parts stay zero.
struct FrameSummary {
  size_t length = 0;
  Mac eth_src = {};
  Mac eth_dst = {};
  bool ipv4 = false;  // false: too short or another EtherType
  uint32_t saddr_be = 0;
  uint32_t daddr_be = 0;
  uint8_t proto = 0;
  uint8_t ttl = 0;
  bool l4 = false;  // a whole TCP, UDP or ICMP header follows (not in a
                    // later fragment, which has none)
  uint16_t sport_be = 0;
  uint16_t dport_be = 0;
  uint8_t tcp_flags = 0;
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  // The IPv4 header checksum and the L4 one (pseudo-header included)
  // verify: a translation that broke them would make the receiver drop
  // the packet silently.
  bool checksums_ok = false;
};

FrameSummary SummarizeFrame(absl::Span<const uint8_t> frame);

}  // namespace switchyard::packet

#endif  // SWITCHYARD_CONTROL_PACKET_TRACE_FRAME_H_
