// SPDX-License-Identifier: Apache-2.0
// The Internet checksum (RFC 1071), computed from scratch over whole
// buffers. The frame builder, the decoder's verifier, yardctl trace and the
// bench's frame writer use it; the tests build expected packets and check
// actual ones with it, so it deliberately shares nothing with the
// datapath's incremental updates: a bug there cannot hide behind the same
// bug here.
#ifndef SWITCHYARD_CONTROL_PACKET_CHECKSUM_H_
#define SWITCHYARD_CONTROL_PACKET_CHECKSUM_H_

#include <cstdint>

#include "absl/types/span.h"

namespace switchyard::packet {

// One's-complement sum of data read as big-endian 16-bit words (an odd last
// byte is padded with zero), added to `initial`, not folded. Sums of several
// pieces add up as long as every piece but the last has even length.
uint32_t OnesSum(absl::Span<const uint8_t> data, uint32_t initial = 0);

// Folds a sum to 16 bits and complements it: the value that goes into a
// checksum field, in host order.
uint16_t FoldComplement(uint32_t sum);

// Checksum of one buffer: IPv4 header, ICMP message.
uint16_t InternetChecksum(absl::Span<const uint8_t> data);

// TCP or UDP checksum: the IPv4 pseudo-header (addresses in host order, the
// protocol and the segment's length) followed by the segment, whose checksum
// field must be zero. Does not apply UDP's "0 means none" rule; see
// UdpChecksum.
uint16_t TransportChecksum(uint32_t saddr, uint32_t daddr, uint8_t protocol,
                           absl::Span<const uint8_t> segment);

// UDP's checksum: as TransportChecksum, but a computed 0 is sent as 0xffff
// because 0 on the wire means "no checksum" (RFC 768).
uint16_t UdpChecksum(uint32_t saddr, uint32_t daddr,
                     absl::Span<const uint8_t> segment);

}  // namespace switchyard::packet

#endif  // SWITCHYARD_CONTROL_PACKET_CHECKSUM_H_
