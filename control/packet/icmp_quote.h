// SPDX-License-Identifier: Apache-2.0
// What an ICMP error quotes of a frame, and quotes edited as a translating
// datapath edits them. An ICMP error is built as
//   PacketBuilder()...Icmp(kIcmpDestUnreach, code).Payload(Quote(frame))
// so the error and its quote have every checksum computed from scratch.
#ifndef SWITCHYARD_CONTROL_PACKET_ICMP_QUOTE_H_
#define SWITCHYARD_CONTROL_PACKET_ICMP_QUOTE_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "control/packet/packet_types.h"

namespace switchyard::packet {

// The first bytes of `frame`'s datagram an ICMP error quotes: the IPv4
// header and `l4_bytes` after it.
Bytes Quote(const Bytes& frame, size_t l4_bytes = 8);

// A quote with some of its addresses and ports replaced and its IPv4 header
// checksum computed again from scratch; the L4 bytes are left as they were
// (receivers do not check a quote's L4 checksum, and the datapath leaves it).
struct QuoteEdit {
  std::optional<absl::string_view> saddr, daddr;
  std::optional<uint16_t> sport, dport;
};
Bytes EditQuote(Bytes quote, const QuoteEdit& edit);

// Whether the IPv4 header checksum of the quote that `frame`'s ICMP error
// carries is right (the sum over the header folds to zero).
bool QuoteHeaderChecksumRight(const Bytes& frame);

}  // namespace switchyard::packet

#endif  // SWITCHYARD_CONTROL_PACKET_ICMP_QUOTE_H_
