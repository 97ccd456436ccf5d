// SPDX-License-Identifier: Apache-2.0
// Header fields as the wire holds them: big-endian 16- and 32-bit values
// read from or written at an offset of a frame, or appended to one. Values
// on this side are in host order. The builder, the decoder, the ICMP quote
// editor and the bench's frame writer all use these, so there is one place
// that knows which byte goes first.
#ifndef SWITCHYARD_CONTROL_PACKET_BIG_ENDIAN_H_
#define SWITCHYARD_CONTROL_PACKET_BIG_ENDIAN_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace switchyard::packet {

inline uint16_t Load16(absl::Span<const uint8_t> d, size_t off) {
  return static_cast<uint16_t>(d[off] << 8 | d[off + 1]);
}

inline uint32_t Load32(absl::Span<const uint8_t> d, size_t off) {
  return static_cast<uint32_t>(Load16(d, off)) << 16 | Load16(d, off + 2);
}

inline void Store16(absl::Span<uint8_t> d, size_t off, uint16_t v) {
  d[off] = static_cast<uint8_t>(v >> 8);
  d[off + 1] = static_cast<uint8_t>(v);
}

inline void Store32(absl::Span<uint8_t> d, size_t off, uint32_t v) {
  Store16(d, off, static_cast<uint16_t>(v >> 16));
  Store16(d, off + 2, static_cast<uint16_t>(v));
}

inline void Append16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

inline void Append32(std::vector<uint8_t>& out, uint32_t v) {
  Append16(out, static_cast<uint16_t>(v >> 16));
  Append16(out, static_cast<uint16_t>(v));
}

}  // namespace switchyard::packet

#endif  // SWITCHYARD_CONTROL_PACKET_BIG_ENDIAN_H_
