// SPDX-License-Identifier: Apache-2.0
// Vocabulary shared by the packet builder, the decoder and their users
// (yardctl trace, the tests, the bench): frames as byte vectors, MAC and
// IPv4 addresses, protocol constants.
#ifndef SWITCHYARD_CONTROL_PACKET_PACKET_TYPES_H_
#define SWITCHYARD_CONTROL_PACKET_PACKET_TYPES_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace switchyard::packet {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

inline constexpr uint16_t kEthIpv4 = 0x0800;
inline constexpr uint16_t kEthArp = 0x0806;
inline constexpr uint16_t kEthIpv6 = 0x86dd;
inline constexpr uint16_t kEth8021Q = 0x8100;
inline constexpr uint16_t kEth8021AD = 0x88a8;
inline constexpr size_t kEthHeaderLen = 14;

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;

// TCP header flag bits (byte 13 of the header).
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpUrg = 0x20;

inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpDestUnreach = 3;
inline constexpr uint8_t kIcmpPortUnreach = 3;  // code under kIcmpDestUnreach
inline constexpr uint8_t kIcmpFragNeeded = 4;   // code under kIcmpDestUnreach
inline constexpr uint8_t kIcmpEcho = 8;
inline constexpr uint8_t kIcmpTimeExceeded = 11;
inline constexpr uint8_t kIcmpParameterProblem = 12;

// "10.96.0.10" -> host-order address, for literals written in a test or a
// bench: those are constants of the program itself, so a malformed one
// aborts with its text rather than returning a status every caller would
// have to unwrap. Addresses from a user go through ParseIpv4
// (control/common/ipv4.h) instead.
uint32_t ParseIp(absl::string_view dotted);
// The same address in network order, as map keys and values hold it.
uint32_t IpBe(absl::string_view dotted);
// Host-order port -> network order, for map keys and values.
uint16_t PortBe(uint16_t port);

std::string FormatIp(uint32_t host_order);
std::string FormatMac(const Mac& mac);
// Lower-case hex, bytes separated by spaces; at most `max` bytes, then "...".
std::string Hex(absl::Span<const uint8_t> data, size_t max = 64);

}  // namespace switchyard::packet

#endif  // SWITCHYARD_CONTROL_PACKET_PACKET_TYPES_H_
