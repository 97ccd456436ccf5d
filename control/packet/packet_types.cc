// SPDX-License-Identifier: Apache-2.0
#include "control/packet/packet_types.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace switchyard::packet {

uint32_t ParseIp(absl::string_view dotted) {
  std::string text(dotted);
  in_addr addr;
  if (inet_pton(AF_INET, text.c_str(), &addr) != 1) {
    std::fprintf(stderr, "packet: '%s' is not an IPv4 address\n", text.c_str());
    std::abort();
  }
  return ntohl(addr.s_addr);
}

uint32_t IpBe(absl::string_view dotted) { return htonl(ParseIp(dotted)); }

uint16_t PortBe(uint16_t port) { return htons(port); }

std::string FormatIp(uint32_t host_order) {
  return absl::StrCat(host_order >> 24, ".", (host_order >> 16) & 0xff, ".",
                      (host_order >> 8) & 0xff, ".", host_order & 0xff);
}

std::string FormatMac(const Mac& mac) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
                         mac[2], mac[3], mac[4], mac[5]);
}

std::string Hex(absl::Span<const uint8_t> data, size_t max) {
  std::string out;
  for (size_t i = 0; i < data.size() && i < max; ++i) {
    if (i > 0) out += ' ';
    absl::StrAppendFormat(&out, "%02x", data[i]);
  }
  if (data.size() > max) out += " ...";
  return out;
}

}  // namespace switchyard::packet
