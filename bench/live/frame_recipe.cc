// SPDX-License-Identifier: Apache-2.0
#include "bench/live/frame_recipe.h"

#include <arpa/inet.h>

#include <algorithm>

#include "control/packet/big_endian.h"
#include "control/packet/checksum.h"
#include "control/packet/packet_types.h"

namespace switchyard::bench::live {
namespace {

constexpr size_t kEthLen = packet::kEthHeaderLen;
constexpr size_t kIpLen = 20;
constexpr size_t kUdpLen = 8;
static_assert(YBL_FRAME_LEN == kEthLen + kIpLen + kUdpLen + YBL_PAYLOAD_LEN);

}  // namespace

void WriteFrame(const FrameRecipe& recipe, uint64_t seq, uint32_t sender,
                absl::Span<uint8_t> frame) {
  // The sequence of live_gen_abi.h: flow index k, then the source address
  // and port from k, the destination cycled by k.
  const uint32_t k = recipe.flows ? static_cast<uint32_t>(seq % recipe.flows)
                                  : static_cast<uint32_t>(seq);
  const ybl_dst& dst = recipe.dsts[k % recipe.dsts.size()];
  const uint32_t saddr = ntohl(recipe.src_base_be) | ((sender & 0x3f) << 16) |
                         ((k >> 14) & 0xffff);
  const uint32_t daddr = ntohl(dst.addr);
  const uint16_t sport = static_cast<uint16_t>(1024 + (k & 0x3fff));
  const uint16_t udp_len = kUdpLen + YBL_PAYLOAD_LEN;
  const uint16_t tot_len = kIpLen + udp_len;

  // Written in place rather than with packet::PacketBuilder: the af-packet
  // source writes every frame it sends in its send loop, where the
  // builder's allocations would be measured with the socket.
  frame = frame.first(YBL_FRAME_LEN);
  std::fill(frame.begin(), frame.end(), 0);
  std::copy(recipe.dst_mac.begin(), recipe.dst_mac.end(), frame.begin());
  std::copy(recipe.src_mac.begin(), recipe.src_mac.end(), frame.begin() + 6);
  packet::Store16(frame, 12, packet::kEthIpv4);

  absl::Span<uint8_t> ip = frame.subspan(kEthLen, kIpLen);
  ip[0] = 0x45;  // version 4, 5 words
  packet::Store16(ip, 2, tot_len);
  packet::Store16(ip, 4, static_cast<uint16_t>(seq));  // id
  ip[8] = 64;                                          // ttl
  ip[9] = packet::kProtoUdp;
  packet::Store32(ip, 12, saddr);
  packet::Store32(ip, 16, daddr);
  packet::Store16(ip, 10, packet::InternetChecksum(ip));

  absl::Span<uint8_t> udp = frame.subspan(kEthLen + kIpLen, udp_len);
  packet::Store16(udp, 0, sport);
  packet::Store16(udp, 2, ntohs(dst.port));
  packet::Store16(udp, 4, udp_len);
  packet::Store16(udp, 6, packet::UdpChecksum(saddr, daddr, udp));
}

}  // namespace switchyard::bench::live
