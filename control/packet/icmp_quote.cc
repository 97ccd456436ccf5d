// SPDX-License-Identifier: Apache-2.0
#include "control/packet/icmp_quote.h"

#include "absl/types/span.h"
#include "control/packet/big_endian.h"
#include "control/packet/checksum.h"
#include "control/packet/packet_decoder.h"

namespace switchyard::packet {

Bytes Quote(const Bytes& frame, size_t l4_bytes) {
  const size_t ihl = (frame[kEthHeaderLen] & 0x0f) * 4u;
  return Bytes(frame.begin() + kEthHeaderLen,
               frame.begin() + kEthHeaderLen + ihl + l4_bytes);
}

Bytes EditQuote(Bytes quote, const QuoteEdit& edit) {
  const size_t ihl = (quote[0] & 0x0f) * 4u;
  absl::Span<uint8_t> q = absl::MakeSpan(quote);
  if (edit.saddr) Store32(q, 12, ParseIp(*edit.saddr));
  if (edit.daddr) Store32(q, 16, ParseIp(*edit.daddr));
  if (edit.sport) Store16(q, ihl, *edit.sport);
  if (edit.dport) Store16(q, ihl + 2, *edit.dport);
  Store16(q, 10, 0);
  Store16(q, 10, InternetChecksum(q.first(ihl)));
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
