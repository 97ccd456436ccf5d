// SPDX-License-Identifier: Apache-2.0
#include "control/packet/trace_frame.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "control/packet/checksum.h"
#include "control/packet/packet_builder.h"
#include "control/packet/packet_decoder.h"

namespace switchyard::packet {
namespace {

// Any sequence numbers will do; 0 looks odd in a capture.
constexpr uint32_t kSynSeq = 0x10000000;
constexpr uint32_t kSynAckSeq = 0x20000000;

// Eight bytes a person recognises in a capture of the UDP trace.
constexpr absl::string_view kUdpPayload = "yardctl!";

// Whether the checksums of the IPv4 datagram `ip` (header first, exactly
// tot_len bytes) verify: each one's sum, taken over the field as stored,
// folds to zero. A UDP checksum of 0 means none was sent.
bool ChecksumsVerify(absl::Span<const uint8_t> ip, const DecodedFrame& d) {
  const size_t header_len = d.ip->ihl * 4u;
  if (InternetChecksum(ip.first(header_len)) != 0) return false;
  const absl::Span<const uint8_t> l4 = ip.subspan(header_len);
  if (d.tcp.has_value()) {
    return TransportChecksum(d.ip->saddr, d.ip->daddr, kProtoTcp, l4) == 0;
  }
  if (d.udp.has_value()) {
    return d.udp->check == 0 ||
           TransportChecksum(d.ip->saddr, d.ip->daddr, kProtoUdp, l4) == 0;
  }
  if (d.icmp.has_value()) return InternetChecksum(l4) == 0;
  return false;
}

}  // namespace

Bytes BuildTraceFrame(const FlowTuple& tuple, TraceHook hook) {
  const bool from_pod = hook == TraceHook::kFromPod;
  PacketBuilder b;
  b.EthSrc(from_pod ? kTracePodMac : kTraceHostMac)
      .EthDst(from_pod ? kTraceHostMac : kTracePodMac)
      .Ipv4(ntohl(tuple.saddr_be), ntohl(tuple.daddr_be))
      .DontFragment();
  const uint16_t sport = ntohs(tuple.sport_be);
  const uint16_t dport = ntohs(tuple.dport_be);
  if (tuple.proto == IPPROTO_TCP) {
    b.Tcp(sport, dport).Seq(kSynSeq);
    if (from_pod) {
      b.Flags(kTcpSyn);
    } else {
      b.Flags(kTcpSyn | kTcpAck).AckSeq(kSynAckSeq);
    }
  } else {
    b.Udp(sport, dport).Payload(kUdpPayload);
  }
  return b.Build();
}

FrameSummary SummarizeFrame(absl::Span<const uint8_t> frame) {
  FrameSummary s;
  s.length = frame.size();
  const DecodedFrame d = Decode(frame);
  if (!d.eth.has_value()) return s;
  s.eth_dst = d.eth->dst;
  s.eth_src = d.eth->src;
  // A trace frame is untagged: a tagged one is "another EtherType" here.
  if (d.eth->type != kEthIpv4 || !d.ip.has_value()) return s;
  const Ipv4Fields& ip = *d.ip;
  const size_t header_len = ip.ihl * 4u;
  if (ip.version != 4 || ip.ihl < 5 || ip.tot_len < header_len ||
      frame.size() < kEthHeaderLen + ip.tot_len) {
    return s;
  }
  s.ipv4 = true;
  s.ttl = ip.ttl;
  s.proto = ip.protocol;
  s.saddr_be = htonl(ip.saddr);
  s.daddr_be = htonl(ip.daddr);
  if (d.tcp.has_value()) {
    s.sport_be = htons(d.tcp->sport);
    s.dport_be = htons(d.tcp->dport);
    s.tcp_flags = d.tcp->flags;
  } else if (d.udp.has_value()) {
    s.sport_be = htons(d.udp->sport);
    s.dport_be = htons(d.udp->dport);
  } else if (d.icmp.has_value()) {
    s.icmp_type = d.icmp->type;
    s.icmp_code = d.icmp->code;
  }
  s.l4 = d.tcp.has_value() || d.udp.has_value() || d.icmp.has_value();
  s.checksums_ok =
      s.l4 && ChecksumsVerify(frame.subspan(kEthHeaderLen, ip.tot_len), d);
  return s;
}

}  // namespace switchyard::packet
