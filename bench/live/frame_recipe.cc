// SPDX-License-Identifier: Apache-2.0
#include "bench/live/frame_recipe.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace switchyard::bench::live {
namespace {

constexpr size_t kEthLen = 14;
constexpr size_t kIpLen = 20;
constexpr size_t kUdpLen = 8;
static_assert(YBL_FRAME_LEN == kEthLen + kIpLen + kUdpLen + YBL_PAYLOAD_LEN);

void Put16(uint8_t* p, uint16_t host) {
  p[0] = static_cast<uint8_t>(host >> 8);
  p[1] = static_cast<uint8_t>(host);
}

// Ones' complement sum of big-endian 16-bit words (RFC 1071), unfolded.
uint32_t SumWords(const uint8_t* p, size_t len, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (len % 2) sum += p[len - 1] << 8;
  return sum;
}

uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

void WriteFrame(const FrameRecipe& recipe, uint64_t seq, uint32_t sender,
                absl::Span<uint8_t> frame) {
  // The sequence of live_gen_abi.h: flow index k, then the source address
  // and port from k, the destination cycled by k.
  const uint32_t k = recipe.flows ? static_cast<uint32_t>(seq % recipe.flows)
                                  : static_cast<uint32_t>(seq);
  const ybl_dst& dst = recipe.dsts[k % recipe.dsts.size()];
  const uint32_t saddr_be = recipe.src_base_be | htonl(((sender & 0x3f) << 16) |
                                                       ((k >> 14) & 0xffff));
  const uint16_t sport = static_cast<uint16_t>(1024 + (k & 0x3fff));
  const uint16_t udp_len = kUdpLen + YBL_PAYLOAD_LEN;
  const uint16_t tot_len = kIpLen + udp_len;

  uint8_t* eth = frame.data();
  std::memset(eth, 0, YBL_FRAME_LEN);
  std::memcpy(eth, recipe.dst_mac.data(), 6);
  std::memcpy(eth + 6, recipe.src_mac.data(), 6);
  Put16(eth + 12, 0x0800);  // ETH_P_IP

  uint8_t* ip = eth + kEthLen;
  ip[0] = 0x45;  // version 4, 5 words
  Put16(ip + 2, tot_len);
  Put16(ip + 4, static_cast<uint16_t>(seq));  // id
  ip[8] = 64;                                 // ttl
  ip[9] = IPPROTO_UDP;
  std::memcpy(ip + 12, &saddr_be, 4);
  std::memcpy(ip + 16, &dst.addr, 4);
  Put16(ip + 10, Fold(SumWords(ip, kIpLen)));

  uint8_t* udp = ip + kIpLen;
  Put16(udp, sport);
  std::memcpy(udp + 2, &dst.port, 2);
  Put16(udp + 4, udp_len);
  // Pseudo-header (addresses, protocol, length), then the UDP header and
  // payload with the checksum field still zero. 0 on the wire means "no
  // checksum", so a computed 0 is sent as 0xffff.
  uint32_t sum = SumWords(ip + 12, 8);
  sum += IPPROTO_UDP + udp_len;
  sum = SumWords(udp, udp_len, sum);
  const uint16_t check = Fold(sum);
  Put16(udp + 6, check == 0 ? 0xffff : check);
}

}  // namespace switchyard::bench::live
