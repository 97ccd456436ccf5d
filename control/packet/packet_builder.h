// SPDX-License-Identifier: Apache-2.0
// A fluent builder of frames: Ethernet (optionally 802.1Q-tagged), IPv4
// (options, flags, fragment offset, TTL, id) and TCP, UDP or ICMP (an ICMP
// error carries a quote of the offending packet as its payload; see
// icmp_quote.h). Every length and checksum is computed from scratch at
// Build() unless a test overrides it on purpose (a bad IHL, a short total
// length). The tests build their input and expected frames with it, and
// yardctl trace the frame it sends.
//
//   Bytes syn = PacketBuilder()
//                   .Ipv4("10.244.0.5", "10.96.0.10")
//                   .Tcp(40000, 80)
//                   .Flags(kTcpSyn)
//                   .Seq(1000)
//                   .Build();
//
// Ports, sequence numbers and addresses are given in host order; the frame
// holds them in network order.
#ifndef SWITCHYARD_CONTROL_PACKET_PACKET_BUILDER_H_
#define SWITCHYARD_CONTROL_PACKET_PACKET_BUILDER_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "control/packet/packet_types.h"

namespace switchyard::packet {

// Addresses a builder starts with: a pod's MAC towards its veth peer.
inline constexpr Mac kDefaultSrcMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
inline constexpr Mac kDefaultDstMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

class PacketBuilder {
 public:
  PacketBuilder() = default;

  // Ethernet.
  PacketBuilder& EthSrc(const Mac& mac);
  PacketBuilder& EthDst(const Mac& mac);
  // Inserts one VLAN tag (tpid 0x8100 for 802.1Q, 0x88a8 for 802.1ad).
  PacketBuilder& Vlan(uint16_t vid, uint16_t tpid = kEth8021Q);
  // A frame that is not IPv4: the Ethernet header, then Payload() as is.
  PacketBuilder& EtherType(uint16_t type);

  // IPv4. Defaults: TOS 0, id 0, no flags, TTL 64.
  PacketBuilder& Ipv4(absl::string_view saddr, absl::string_view daddr);
  // The same from host-order numbers, for addresses that are data rather
  // than literals.
  PacketBuilder& Ipv4(uint32_t saddr, uint32_t daddr);
  PacketBuilder& Tos(uint8_t tos);
  PacketBuilder& Id(uint16_t id);
  PacketBuilder& Ttl(uint8_t ttl);
  PacketBuilder& DontFragment();
  PacketBuilder& MoreFragments();
  // In units of 8 bytes, as in the header.
  PacketBuilder& FragmentOffset(uint16_t units);
  // Raw option bytes; a multiple of 4, at most 40.
  PacketBuilder& IpOptions(Bytes options);
  // Deliberately inconsistent headers. The header checksum is still
  // computed, over the bytes as written.
  PacketBuilder& IpVersion(uint8_t version);
  PacketBuilder& Ihl(uint8_t ihl);
  PacketBuilder& TotalLength(uint16_t tot_len);
  // An L4 protocol without a header of its own here: Payload() follows the
  // IPv4 header directly.
  PacketBuilder& Protocol(uint8_t protocol);

  // TCP. Defaults: seq 0, ack_seq 0, no flags, window 65535.
  PacketBuilder& Tcp(uint16_t sport, uint16_t dport);
  PacketBuilder& Flags(uint8_t flags);
  PacketBuilder& Seq(uint32_t seq);
  // Sets the acknowledgment number only; the ACK flag is Flags()'s job.
  PacketBuilder& AckSeq(uint32_t ack_seq);
  PacketBuilder& Window(uint16_t window);
  // Raw option bytes; a multiple of 4, at most 40.
  PacketBuilder& TcpOptions(Bytes options);

  // UDP, with its checksum unless NoUdpChecksum() (field 0: "none").
  PacketBuilder& Udp(uint16_t sport, uint16_t dport);
  PacketBuilder& NoUdpChecksum();

  // ICMP: type, code and the four header bytes after the checksum.
  PacketBuilder& Icmp(uint8_t type, uint8_t code, uint32_t rest = 0);

  // What follows the last header.
  PacketBuilder& Payload(Bytes payload);
  PacketBuilder& Payload(absl::string_view text);
  // Bytes after the IP datagram, outside its total length: Ethernet
  // padding of a short frame.
  PacketBuilder& Trailer(Bytes trailer);
  // Cuts the finished frame to `length` bytes after every length and
  // checksum is computed: a frame that ends inside a header.
  PacketBuilder& TruncateTo(size_t length);

  Bytes Build() const;

 private:
  enum class L4 { kNone, kTcp, kUdp, kIcmp };

  Bytes BuildL4() const;

  Mac eth_src_ = kDefaultSrcMac;
  Mac eth_dst_ = kDefaultDstMac;
  std::optional<uint16_t> vlan_tpid_;
  uint16_t vlan_vid_ = 0;
  std::optional<uint16_t> ether_type_;  // set: not an IPv4 frame

  uint32_t saddr_ = 0;
  uint32_t daddr_ = 0;
  uint8_t tos_ = 0;
  uint16_t id_ = 0;
  uint8_t ttl_ = 64;
  bool df_ = false;
  bool mf_ = false;
  uint16_t frag_offset_ = 0;
  Bytes ip_options_;
  uint8_t version_ = 4;
  std::optional<uint8_t> ihl_;
  std::optional<uint16_t> tot_len_;
  std::optional<uint8_t> protocol_;

  L4 l4_ = L4::kNone;
  uint16_t sport_ = 0;
  uint16_t dport_ = 0;
  uint8_t tcp_flags_ = 0;
  uint32_t seq_ = 0;
  uint32_t ack_seq_ = 0;
  uint16_t window_ = 65535;
  Bytes tcp_options_;
  bool udp_checksum_ = true;
  uint8_t icmp_type_ = 0;
  uint8_t icmp_code_ = 0;
  uint32_t icmp_rest_ = 0;

  Bytes payload_;
  Bytes trailer_;
  std::optional<size_t> truncate_to_;
};

}  // namespace switchyard::packet

#endif  // SWITCHYARD_CONTROL_PACKET_PACKET_BUILDER_H_
