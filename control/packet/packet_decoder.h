// SPDX-License-Identifier: Apache-2.0
// Reading frames back: a decoder into named header fields, a field-by-field
// diff of an expected and an actual frame ("ip.daddr: expected 10.244.1.2
// got 10.96.0.10"), and a checksum verifier that recomputes every IPv4,
// TCP, UDP and ICMP checksum of a frame from scratch.
#ifndef SWITCHYARD_CONTROL_PACKET_PACKET_DECODER_H_
#define SWITCHYARD_CONTROL_PACKET_PACKET_DECODER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "control/packet/packet_types.h"

namespace switchyard::packet {

// Every multi-byte value is in host order.
struct EthFields {
  Mac dst{};
  Mac src{};
  uint16_t type = 0;  // the outer EtherType: 0x8100 when tagged
};

struct VlanFields {
  uint16_t tci = 0;
  uint16_t inner_type = 0;
};

struct Ipv4Fields {
  uint8_t version = 0;
  uint8_t ihl = 0;
  uint8_t tos = 0;
  uint16_t tot_len = 0;
  uint16_t id = 0;
  bool df = false;
  bool mf = false;
  uint16_t frag_offset = 0;  // in units of 8 bytes
  uint8_t ttl = 0;
  uint8_t protocol = 0;
  uint16_t check = 0;
  uint32_t saddr = 0;
  uint32_t daddr = 0;
  Bytes options;
};

struct TcpFields {
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint32_t seq = 0;
  uint32_t ack_seq = 0;
  uint8_t doff = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  uint16_t check = 0;
  uint16_t urg_ptr = 0;
  Bytes options;
};

struct UdpFields {
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint16_t len = 0;
  uint16_t check = 0;
};

struct IcmpFields {
  uint8_t type = 0;
  uint8_t code = 0;
  uint16_t check = 0;
  uint32_t rest = 0;
};

struct DecodedFrame {
  size_t length = 0;
  std::optional<EthFields> eth;
  std::optional<VlanFields> vlan;
  std::optional<Ipv4Fields> ip;
  std::optional<TcpFields> tcp;
  std::optional<UdpFields> udp;
  std::optional<IcmpFields> icmp;
  // What follows the last decoded header: up to the IPv4 total length for
  // IPv4 frames, to the end of the frame otherwise.
  Bytes payload;
  // Bytes after the IPv4 datagram (Ethernet padding).
  Bytes trailer;
  // Empty for a whole frame; else where it ends early: "tcp header", or
  // "ipv4 datagram, tcp header" when the frame is shorter than tot_len.
  std::string incomplete;
};

DecodedFrame Decode(absl::Span<const uint8_t> frame);

// Named fields in header order, e.g. {"ip.ttl", "64"}. An ICMP error's
// quoted datagram appears as "icmp.quote.ip.saddr" and so on.
using FieldList = std::vector<std::pair<std::string, std::string>>;
FieldList Fields(absl::Span<const uint8_t> frame);

// Every field, one "name: value" per line.
std::string Describe(absl::Span<const uint8_t> frame);

// Empty when the frames are byte-for-byte equal; otherwise one line per
// differing field, "ip.daddr: expected 10.244.1.2 got 10.96.0.10".
std::string DiffFrames(absl::Span<const uint8_t> expected,
                       absl::Span<const uint8_t> actual);

// Recomputes the IPv4 header checksum and the TCP, UDP (unless 0: none) or
// ICMP checksum of a whole, unfragmented datagram and compares them with
// the stored ones. OK for frames that are not IPv4; an error naming each
// wrong field ("tcp.check: stored 0x1234, computed 0xabcd") otherwise, or
// when the frame is too short to check.
absl::Status VerifyChecksums(absl::Span<const uint8_t> frame);

// "SYN|ACK", "RST", "-".
std::string TcpFlagNames(uint8_t flags);

}  // namespace switchyard::packet

#endif  // SWITCHYARD_CONTROL_PACKET_PACKET_DECODER_H_
