// SPDX-License-Identifier: Apache-2.0
#include "control/common/ipv4.h"

#include <arpa/inet.h>

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace switchyard {

absl::StatusOr<uint32_t> ParseIpv4(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  if (parts.size() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not an IPv4 address"));
  }
  uint32_t host = 0;
  for (absl::string_view part : parts) {
    uint32_t octet = 0;
    bool digits_only = !part.empty() && part.size() <= 3 &&
                       part.find_first_not_of("0123456789") == part.npos;
    if (!digits_only || (part.size() > 1 && part[0] == '0') ||
        !absl::SimpleAtoi(part, &octet) || octet > 255) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", text, "' is not an IPv4 address"));
    }
    host = host << 8 | octet;
  }
  return htonl(host);
}

std::string FormatIpv4(uint32_t addr_be) {
  uint32_t host = ntohl(addr_be);
  return absl::StrCat(host >> 24, ".", (host >> 16) & 0xff, ".",
                      (host >> 8) & 0xff, ".", host & 0xff);
}

absl::StatusOr<uint16_t> PortToNetwork(int64_t port) {
  if (port < 1 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("port ", port, " is outside 1-65535"));
  }
  return htons(static_cast<uint16_t>(port));
}

absl::StatusOr<Ipv4Cidr> ParseIpv4Cidr(absl::string_view text) {
  size_t slash = text.find('/');
  int prefix = -1;
  if (slash != text.npos) {
    absl::string_view len = text.substr(slash + 1);
    if (!len.empty() && len.size() <= 2 &&
        len.find_first_not_of("0123456789") == len.npos &&
        (len.size() == 1 || len[0] != '0')) {
      (void)absl::SimpleAtoi(len, &prefix);
    }
  }
  if (prefix < 0 || prefix > 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not an IPv4 CIDR"));
  }
  absl::StatusOr<uint32_t> addr = ParseIpv4(text.substr(0, slash));
  if (!addr.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not an IPv4 CIDR"));
  }
  return Ipv4Cidr{ntohl(*addr), prefix};
}

}  // namespace switchyard
