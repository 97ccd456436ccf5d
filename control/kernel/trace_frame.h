// SPDX-License-Identifier: Apache-2.0
// The one frame a trace sends through the datapath, and a summary of what
// came out. Plain C++ over bytes: no kernel here, so it is unit-tested.
#ifndef SWITCHYARD_CONTROL_KERNEL_TRACE_FRAME_H_
#define SWITCHYARD_CONTROL_KERNEL_TRACE_FRAME_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace switchyard::kernel {

using Frame = std::vector<uint8_t>;
using MacAddr = std::array<uint8_t, 6>;

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
inline constexpr MacAddr kTracePodMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x05};
inline constexpr MacAddr kTraceHostMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

// Ethernet + IPv4 (TTL 64, DF) + TCP or UDP with every checksum correct.
// TCP carries SYN from a pod (a new connection, the case that selects a
// backend) and SYN-ACK towards one (the answer); UDP eight bytes of data.
Frame BuildTraceFrame(const FlowTuple& tuple, TraceHook hook);

// What a frame holds, header by header. Unknown parts stay zero.
struct FrameSummary {
  size_t length = 0;
  MacAddr eth_src = {};
  MacAddr eth_dst = {};
  bool ipv4 = false;  // false: too short or another EtherType
  uint32_t saddr_be = 0;
  uint32_t daddr_be = 0;
  uint8_t proto = 0;
  uint8_t ttl = 0;
  bool l4 = false;  // a whole TCP, UDP or ICMP header follows
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

FrameSummary SummarizeFrame(const Frame& frame);

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_TRACE_FRAME_H_
