// SPDX-License-Identifier: Apache-2.0
#include "control/packet/packet_builder.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "control/packet/big_endian.h"
#include "control/packet/checksum.h"

namespace switchyard::packet {
namespace {

// Options are the caller's own constant (a test's, mostly): a bad length
// is a bug in the caller.
void CheckOptions(const Bytes& options, const char* what) {
  if (options.size() % 4 != 0 || options.size() > 40) {
    std::fprintf(stderr,
                 "packet: %s of %zu bytes (need a multiple of 4, "
                 "at most 40)\n",
                 what, options.size());
    std::abort();
  }
}

}  // namespace

PacketBuilder& PacketBuilder::EthSrc(const Mac& mac) {
  eth_src_ = mac;
  return *this;
}

PacketBuilder& PacketBuilder::EthDst(const Mac& mac) {
  eth_dst_ = mac;
  return *this;
}

PacketBuilder& PacketBuilder::Vlan(uint16_t vid, uint16_t tpid) {
  vlan_tpid_ = tpid;
  vlan_vid_ = vid;
  return *this;
}

PacketBuilder& PacketBuilder::EtherType(uint16_t type) {
  ether_type_ = type;
  return *this;
}

PacketBuilder& PacketBuilder::Ipv4(absl::string_view saddr,
                                   absl::string_view daddr) {
  return Ipv4(ParseIp(saddr), ParseIp(daddr));
}

PacketBuilder& PacketBuilder::Ipv4(uint32_t saddr, uint32_t daddr) {
  saddr_ = saddr;
  daddr_ = daddr;
  return *this;
}

PacketBuilder& PacketBuilder::Tos(uint8_t tos) {
  tos_ = tos;
  return *this;
}

PacketBuilder& PacketBuilder::Id(uint16_t id) {
  id_ = id;
  return *this;
}

PacketBuilder& PacketBuilder::Ttl(uint8_t ttl) {
  ttl_ = ttl;
  return *this;
}

PacketBuilder& PacketBuilder::DontFragment() {
  df_ = true;
  return *this;
}

PacketBuilder& PacketBuilder::MoreFragments() {
  mf_ = true;
  return *this;
}

PacketBuilder& PacketBuilder::FragmentOffset(uint16_t units) {
  frag_offset_ = units & 0x1fff;
  return *this;
}

PacketBuilder& PacketBuilder::IpOptions(Bytes options) {
  CheckOptions(options, "IPv4 options");
  ip_options_ = std::move(options);
  return *this;
}

PacketBuilder& PacketBuilder::IpVersion(uint8_t version) {
  version_ = version;
  return *this;
}

PacketBuilder& PacketBuilder::Ihl(uint8_t ihl) {
  ihl_ = ihl;
  return *this;
}

PacketBuilder& PacketBuilder::TotalLength(uint16_t tot_len) {
  tot_len_ = tot_len;
  return *this;
}

PacketBuilder& PacketBuilder::Protocol(uint8_t protocol) {
  protocol_ = protocol;
  return *this;
}

PacketBuilder& PacketBuilder::Tcp(uint16_t sport, uint16_t dport) {
  l4_ = L4::kTcp;
  sport_ = sport;
  dport_ = dport;
  return *this;
}

PacketBuilder& PacketBuilder::Flags(uint8_t flags) {
  tcp_flags_ = flags;
  return *this;
}

PacketBuilder& PacketBuilder::Seq(uint32_t seq) {
  seq_ = seq;
  return *this;
}

PacketBuilder& PacketBuilder::AckSeq(uint32_t ack_seq) {
  ack_seq_ = ack_seq;
  return *this;
}

PacketBuilder& PacketBuilder::Window(uint16_t window) {
  window_ = window;
  return *this;
}

PacketBuilder& PacketBuilder::TcpOptions(Bytes options) {
  CheckOptions(options, "TCP options");
  tcp_options_ = std::move(options);
  return *this;
}

PacketBuilder& PacketBuilder::Udp(uint16_t sport, uint16_t dport) {
  l4_ = L4::kUdp;
  sport_ = sport;
  dport_ = dport;
  return *this;
}

PacketBuilder& PacketBuilder::NoUdpChecksum() {
  udp_checksum_ = false;
  return *this;
}

PacketBuilder& PacketBuilder::Icmp(uint8_t type, uint8_t code, uint32_t rest) {
  l4_ = L4::kIcmp;
  icmp_type_ = type;
  icmp_code_ = code;
  icmp_rest_ = rest;
  return *this;
}

PacketBuilder& PacketBuilder::Payload(Bytes payload) {
  payload_ = std::move(payload);
  return *this;
}

PacketBuilder& PacketBuilder::Payload(absl::string_view text) {
  payload_.assign(text.begin(), text.end());
  return *this;
}

PacketBuilder& PacketBuilder::Trailer(Bytes trailer) {
  trailer_ = std::move(trailer);
  return *this;
}

PacketBuilder& PacketBuilder::TruncateTo(size_t length) {
  truncate_to_ = length;
  return *this;
}

Bytes PacketBuilder::BuildL4() const {
  Bytes l4;
  switch (l4_) {
    case L4::kNone:
      break;
    case L4::kTcp: {
      Append16(l4, sport_);
      Append16(l4, dport_);
      Append32(l4, seq_);
      Append32(l4, ack_seq_);
      const uint8_t doff = static_cast<uint8_t>(5 + tcp_options_.size() / 4);
      l4.push_back(static_cast<uint8_t>(doff << 4));
      l4.push_back(tcp_flags_);
      Append16(l4, window_);
      Append16(l4, 0);  // checksum, below
      Append16(l4, 0);  // urgent pointer
      l4.insert(l4.end(), tcp_options_.begin(), tcp_options_.end());
      l4.insert(l4.end(), payload_.begin(), payload_.end());
      Store16(absl::MakeSpan(l4), 16,
              TransportChecksum(saddr_, daddr_, kProtoTcp, l4));
      return l4;
    }
    case L4::kUdp: {
      Append16(l4, sport_);
      Append16(l4, dport_);
      Append16(l4, static_cast<uint16_t>(8 + payload_.size()));
      Append16(l4, 0);  // checksum, below
      l4.insert(l4.end(), payload_.begin(), payload_.end());
      if (udp_checksum_) {
        Store16(absl::MakeSpan(l4), 6, UdpChecksum(saddr_, daddr_, l4));
      }
      return l4;
    }
    case L4::kIcmp: {
      l4.push_back(icmp_type_);
      l4.push_back(icmp_code_);
      Append16(l4, 0);  // checksum, below
      Append32(l4, icmp_rest_);
      l4.insert(l4.end(), payload_.begin(), payload_.end());
      Store16(absl::MakeSpan(l4), 2, InternetChecksum(l4));
      return l4;
    }
  }
  l4 = payload_;
  return l4;
}

Bytes PacketBuilder::Build() const {
  Bytes frame;
  frame.insert(frame.end(), eth_dst_.begin(), eth_dst_.end());
  frame.insert(frame.end(), eth_src_.begin(), eth_src_.end());
  if (vlan_tpid_.has_value()) {
    Append16(frame, *vlan_tpid_);
    Append16(frame, vlan_vid_ & 0x0fff);
  }
  if (ether_type_.has_value()) {
    Append16(frame, *ether_type_);
    frame.insert(frame.end(), payload_.begin(), payload_.end());
  } else {
    Append16(frame, kEthIpv4);
    const Bytes l4 = BuildL4();
    const size_t header_len = 20 + ip_options_.size();
    const uint8_t ihl =
        ihl_.value_or(static_cast<uint8_t>(header_len / 4)) & 0x0f;
    uint8_t protocol = 0;
    switch (l4_) {
      case L4::kNone:
        break;
      case L4::kTcp:
        protocol = kProtoTcp;
        break;
      case L4::kUdp:
        protocol = kProtoUdp;
        break;
      case L4::kIcmp:
        protocol = kProtoIcmp;
        break;
    }
    protocol = protocol_.value_or(protocol);
    const uint16_t frag = static_cast<uint16_t>(
        (df_ ? 0x4000 : 0) | (mf_ ? 0x2000 : 0) | frag_offset_);

    Bytes ip;
    ip.push_back(static_cast<uint8_t>(version_ << 4 | ihl));
    ip.push_back(tos_);
    Append16(ip,
             tot_len_.value_or(static_cast<uint16_t>(header_len + l4.size())));
    Append16(ip, id_);
    Append16(ip, frag);
    ip.push_back(ttl_);
    ip.push_back(protocol);
    Append16(ip, 0);  // checksum, below
    Append32(ip, saddr_);
    Append32(ip, daddr_);
    ip.insert(ip.end(), ip_options_.begin(), ip_options_.end());
    Store16(absl::MakeSpan(ip), 10, InternetChecksum(ip));

    frame.insert(frame.end(), ip.begin(), ip.end());
    frame.insert(frame.end(), l4.begin(), l4.end());
  }
  frame.insert(frame.end(), trailer_.begin(), trailer_.end());
  if (truncate_to_.has_value() && *truncate_to_ < frame.size()) {
    frame.resize(*truncate_to_);
  }
  return frame;
}

}  // namespace switchyard::packet
