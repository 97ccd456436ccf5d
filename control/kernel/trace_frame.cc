// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/trace_frame.h"

#include <netinet/in.h>

#include <cstring>

namespace switchyard::kernel {
namespace {

constexpr size_t kEthLen = 14;
constexpr size_t kIpLen = 20;
constexpr size_t kTcpLen = 20;
constexpr size_t kUdpLen = 8;
constexpr size_t kIcmpLen = 8;
constexpr size_t kUdpData = 8;
constexpr uint8_t kSyn = 0x02, kAck = 0x10;

void Put16(Frame& f, size_t off, uint16_t host) {
  f[off] = host >> 8;
  f[off + 1] = host & 0xff;
}

uint16_t Get16(const Frame& f, size_t off) {
  return static_cast<uint16_t>(f[off] << 8 | f[off + 1]);
}

// Bytes already in network order are copied as they are.
void PutRaw(Frame& f, size_t off, const void* value, size_t size) {
  std::memcpy(f.data() + off, value, size);
}

// RFC 1071 sum (not yet folded or inverted) of bytes [off, off + len).
uint32_t Sum(const Frame& f, size_t off, size_t len, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += Get16(f, off + i);
  if (len % 2 != 0) sum += f[off + len - 1] << 8;
  return sum;
}

uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// The TCP/UDP pseudo-header of the IPv4 header at `ip`.
uint32_t PseudoSum(const Frame& f, size_t ip, uint8_t proto, size_t l4_len) {
  return Sum(f, ip + 12, 8) + proto + static_cast<uint32_t>(l4_len);
}

}  // namespace

Frame BuildTraceFrame(const FlowTuple& tuple, TraceHook hook) {
  const bool tcp = tuple.proto == IPPROTO_TCP;
  const size_t l4_len = tcp ? kTcpLen : kUdpLen + kUdpData;
  Frame f(kEthLen + kIpLen + l4_len, 0);
  const bool from_pod = hook == TraceHook::kFromPod;
  const MacAddr& dst = from_pod ? kTraceHostMac : kTracePodMac;
  const MacAddr& src = from_pod ? kTracePodMac : kTraceHostMac;
  std::memcpy(f.data(), dst.data(), 6);
  std::memcpy(f.data() + 6, src.data(), 6);
  Put16(f, 12, 0x0800);

  const size_t ip = kEthLen;
  f[ip] = 0x45;
  Put16(f, ip + 2, static_cast<uint16_t>(kIpLen + l4_len));
  Put16(f, ip + 6, 0x4000);  // DF
  f[ip + 8] = 64;
  f[ip + 9] = tuple.proto;
  PutRaw(f, ip + 12, &tuple.saddr_be, 4);
  PutRaw(f, ip + 16, &tuple.daddr_be, 4);
  Put16(f, ip + 10, Fold(Sum(f, ip, kIpLen)));

  const size_t l4 = ip + kIpLen;
  PutRaw(f, l4, &tuple.sport_be, 2);
  PutRaw(f, l4 + 2, &tuple.dport_be, 2);
  size_t check_off;
  if (tcp) {
    Put16(f, l4 + 4, 0x1000);  // seq 0x10000000: any will do, 0 looks odd
    if (!from_pod) Put16(f, l4 + 8, 0x2000);  // ack_seq of the SYN-ACK
    f[l4 + 12] = (kTcpLen / 4) << 4;
    f[l4 + 13] = from_pod ? kSyn : kSyn | kAck;
    Put16(f, l4 + 14, 65535);
    check_off = l4 + 16;
  } else {
    Put16(f, l4 + 4, static_cast<uint16_t>(l4_len));
    std::memcpy(f.data() + l4 + kUdpLen, "yardctl!", kUdpData);
    check_off = l4 + 6;
  }
  uint16_t check =
      Fold(Sum(f, l4, l4_len, PseudoSum(f, ip, tuple.proto, l4_len)));
  // UDP sends a computed zero as all ones: zero means "no checksum".
  if (!tcp && check == 0) check = 0xffff;
  Put16(f, check_off, check);
  return f;
}

FrameSummary SummarizeFrame(const Frame& f) {
  FrameSummary s;
  s.length = f.size();
  if (f.size() < kEthLen) return s;
  std::memcpy(s.eth_dst.data(), f.data(), 6);
  std::memcpy(s.eth_src.data(), f.data() + 6, 6);
  if (Get16(f, 12) != 0x0800 || f.size() < kEthLen + kIpLen) return s;
  const size_t ip = kEthLen;
  const size_t ihl = (f[ip] & 0x0f) * 4u;
  const size_t tot_len = Get16(f, ip + 2);
  if ((f[ip] >> 4) != 4 || ihl < kIpLen || tot_len < ihl ||
      f.size() < ip + tot_len) {
    return s;
  }
  s.ipv4 = true;
  s.ttl = f[ip + 8];
  s.proto = f[ip + 9];
  std::memcpy(&s.saddr_be, f.data() + ip + 12, 4);
  std::memcpy(&s.daddr_be, f.data() + ip + 16, 4);
  bool ip_ok = Fold(Sum(f, ip, ihl)) == 0;

  const size_t l4 = ip + ihl;
  const size_t l4_len = tot_len - ihl;
  bool l4_ok = false;
  if (s.proto == IPPROTO_TCP && l4_len >= kTcpLen) {
    s.l4 = true;
    std::memcpy(&s.sport_be, f.data() + l4, 2);
    std::memcpy(&s.dport_be, f.data() + l4 + 2, 2);
    s.tcp_flags = f[l4 + 13];
    l4_ok = Fold(Sum(f, l4, l4_len, PseudoSum(f, ip, s.proto, l4_len))) == 0;
  } else if (s.proto == IPPROTO_UDP && l4_len >= kUdpLen) {
    s.l4 = true;
    std::memcpy(&s.sport_be, f.data() + l4, 2);
    std::memcpy(&s.dport_be, f.data() + l4 + 2, 2);
    l4_ok = Get16(f, l4 + 6) == 0 ||
            Fold(Sum(f, l4, l4_len, PseudoSum(f, ip, s.proto, l4_len))) == 0;
  } else if (s.proto == IPPROTO_ICMP && l4_len >= kIcmpLen) {
    s.l4 = true;
    s.icmp_type = f[l4];
    s.icmp_code = f[l4 + 1];
    l4_ok = Fold(Sum(f, l4, l4_len)) == 0;
  }
  s.checksums_ok = ip_ok && l4_ok;
  return s;
}

}  // namespace switchyard::kernel
