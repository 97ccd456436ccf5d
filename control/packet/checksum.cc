// SPDX-License-Identifier: Apache-2.0
#include "control/packet/checksum.h"

#include <netinet/in.h>

namespace switchyard::packet {

uint32_t OnesSum(absl::Span<const uint8_t> data, uint32_t initial) {
  // A 64-bit accumulator cannot overflow for any frame size, so carries are
  // folded once at the end instead of after every add.
  uint64_t sum = initial;
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) {
    sum += static_cast<uint32_t>(data[i]) << 8 | data[i + 1];
  }
  if (i < data.size()) sum += static_cast<uint32_t>(data[i]) << 8;
  while (sum >> 32) sum = (sum & 0xffffffff) + (sum >> 32);
  return static_cast<uint32_t>(sum);
}

uint16_t FoldComplement(uint32_t sum) {
  uint64_t s = sum;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s & 0xffff);
}

uint16_t InternetChecksum(absl::Span<const uint8_t> data) {
  return FoldComplement(OnesSum(data));
}

uint16_t TransportChecksum(uint32_t saddr, uint32_t daddr, uint8_t protocol,
                           absl::Span<const uint8_t> segment) {
  const uint8_t pseudo[12] = {
      static_cast<uint8_t>(saddr >> 24),
      static_cast<uint8_t>(saddr >> 16),
      static_cast<uint8_t>(saddr >> 8),
      static_cast<uint8_t>(saddr),
      static_cast<uint8_t>(daddr >> 24),
      static_cast<uint8_t>(daddr >> 16),
      static_cast<uint8_t>(daddr >> 8),
      static_cast<uint8_t>(daddr),
      0,
      protocol,
      static_cast<uint8_t>(segment.size() >> 8),
      static_cast<uint8_t>(segment.size()),
  };
  return FoldComplement(OnesSum(segment, OnesSum(pseudo)));
}

uint16_t UdpChecksum(uint32_t saddr, uint32_t daddr,
                     absl::Span<const uint8_t> segment) {
  uint16_t check = TransportChecksum(saddr, daddr, IPPROTO_UDP, segment);
  return check == 0 ? 0xffff : check;
}

}  // namespace switchyard::packet
