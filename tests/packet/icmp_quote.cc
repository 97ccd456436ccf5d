// SPDX-License-Identifier: Apache-2.0
#include "tests/packet/icmp_quote.h"

#include "absl/types/span.h"
#include "tests/packet/checksum.h"
#include "tests/packet/packet_decoder.h"

namespace switchyard::packet {
namespace {

void Store16(Bytes& b, size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}

void Store32(Bytes& b, size_t off, uint32_t v) {
  Store16(b, off, static_cast<uint16_t>(v >> 16));
  Store16(b, off + 2, static_cast<uint16_t>(v));
}

}  // namespace

Bytes Quote(const Bytes& frame, size_t l4_bytes) {
  const size_t ihl = (frame[kEthHeaderLen] & 0x0f) * 4u;
  return Bytes(frame.begin() + kEthHeaderLen,
               frame.begin() + kEthHeaderLen + ihl + l4_bytes);
}

Bytes EditQuote(Bytes quote, const QuoteEdit& edit) {
  const size_t ihl = (quote[0] & 0x0f) * 4u;
  if (edit.saddr) Store32(quote, 12, ParseIp(*edit.saddr));
  if (edit.daddr) Store32(quote, 16, ParseIp(*edit.daddr));
  if (edit.sport) Store16(quote, ihl, *edit.sport);
  if (edit.dport) Store16(quote, ihl + 2, *edit.dport);
  Store16(quote, 10, 0);
  Store16(quote, 10, InternetChecksum(absl::MakeConstSpan(quote).first(ihl)));
  return quote;
}

bool QuoteHeaderChecksumRight(const Bytes& frame) {
  const DecodedFrame d = Decode(frame);
  if (!d.icmp.has_value() || d.payload.size() < 20) return false;
  const size_t ihl = (d.payload[0] & 0x0f) * 4u;
  if (d.payload.size() < ihl) return false;
  return InternetChecksum(absl::MakeConstSpan(d.payload).first(ihl)) == 0;
}

}  // namespace switchyard::packet
