// SPDX-License-Identifier: Apache-2.0
// IPv4 addresses and ports as the datapath stores them: network byte order.
#ifndef SWITCHYARD_CONTROL_COMMON_IPV4_H_
#define SWITCHYARD_CONTROL_COMMON_IPV4_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard {

// "10.96.0.10" -> the address in network byte order. Rejects anything that
// is not four decimal octets (no shorthand, no leading zeros, no spaces).
absl::StatusOr<uint32_t> ParseIpv4(absl::string_view text);

// Network byte order -> dotted quad.
std::string FormatIpv4(uint32_t addr_be);

// Host-order port -> network order, rejecting 0 and values above 65535.
absl::StatusOr<uint16_t> PortToNetwork(int64_t port);

// An IPv4 prefix. `address` is host byte order and may have host bits set,
// as Kubernetes accepts "10.0.0.1/8" in loadBalancerSourceRanges.
struct Ipv4Cidr {
  uint32_t address = 0;
  int prefix_len = 0;

  uint32_t network() const {
    return prefix_len == 0 ? 0 : address & (~uint32_t{0} << (32 - prefix_len));
  }
  uint64_t size() const { return uint64_t{1} << (32 - prefix_len); }
};

// "10.96.0.0/12" -> {0x0a600000, 12}. Same strictness as ParseIpv4.
absl::StatusOr<Ipv4Cidr> ParseIpv4Cidr(absl::string_view text);

}  // namespace switchyard

#endif  // SWITCHYARD_CONTROL_COMMON_IPV4_H_
