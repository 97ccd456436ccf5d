// SPDX-License-Identifier: Apache-2.0
#include "control/ctl/inspect_text.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/common/ipv4.h"
#include "control/names/protocol_names.h"
#include "yard_abi.h"

namespace switchyard::ctl {

absl::StatusOr<InspectOutput> ParseInspectOutput(absl::string_view name) {
  if (name.empty()) return InspectOutput::kTable;
  if (name == "json") return InspectOutput::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("unable to match a printer for output format \"", name,
                   "\"; this command prints a table or -o json"));
}

uint16_t Port(uint16_t port_be) { return ntohs(port_be); }

std::string AddrPort(uint32_t addr_be, uint16_t port_be) {
  return absl::StrCat(FormatIpv4(addr_be), ":", Port(port_be));
}

std::string FrontendName(uint32_t addr_be, uint16_t port_be, uint8_t proto) {
  if (port_be == 0 && proto == 0)
    return absl::StrCat(FormatIpv4(addr_be), ":*/*");
  return absl::StrCat(AddrPort(addr_be, port_be), "/", names::ProtoName(proto));
}

std::string BackendStateName(uint8_t state) {
  switch (state) {
    case YARD_BACKEND_EMPTY:
      return "empty";
    case YARD_BACKEND_ACTIVE:
      return "active";
    case YARD_BACKEND_TERMINATING:
      return "terminating";
    case YARD_BACKEND_RETIRED:
      return "retired";
    default:
      return absl::StrCat("state ", state);
  }
}

std::string PolicyName(uint8_t policy) {
  switch (policy) {
    case YARD_POLICY_RANDOM:
      return "random";
    case YARD_POLICY_MAGLEV:
      return "maglev";
    case YARD_POLICY_LEAST_CONN:
      return "least-conn";
    default:
      return absl::StrCat("policy ", policy);
  }
}

std::vector<std::string> CtFlagNames(uint16_t flags) {
  std::vector<std::string> names;
  if (flags & YARD_CT_F_HAIRPIN) names.push_back("hairpin");
  if (flags & YARD_CT_F_CLOSING) names.push_back("closing");
  if (flags & YARD_CT_F_SEEN_REPLY) names.push_back("seen_reply");
  if (flags & YARD_CT_F_EXTERNAL) names.push_back("external");
  if (flags & YARD_CT_F_SNAT) names.push_back("snat");
  if (flags & YARD_CT_F_FIN_CLIENT) names.push_back("fin_client");
  if (flags & YARD_CT_F_FIN_BACKEND) names.push_back("fin_backend");
  if (flags & YARD_CT_F_RST) names.push_back("rst");
  if (flags & YARD_CT_F_DIRECT) names.push_back("direct");
  uint16_t unknown =
      flags & ~(YARD_CT_F_HAIRPIN | YARD_CT_F_CLOSING | YARD_CT_F_SEEN_REPLY |
                YARD_CT_F_EXTERNAL | YARD_CT_F_SNAT | YARD_CT_F_FIN_CLIENT |
                YARD_CT_F_FIN_BACKEND | YARD_CT_F_RST | YARD_CT_F_DIRECT);
  if (unknown != 0) names.push_back(absl::StrFormat("0x%x", unknown));
  return names;
}

std::vector<std::string> TcpFlagNames(uint8_t flags) {
  static constexpr struct {
    uint8_t bit;
    const char* name;
  } kBits[] = {{0x02, "SYN"}, {0x10, "ACK"}, {0x01, "FIN"}, {0x04, "RST"},
               {0x08, "PSH"}, {0x20, "URG"}, {0x40, "ECE"}, {0x80, "CWR"}};
  std::vector<std::string> names;
  for (const auto& bit : kBits) {
    if (flags & bit.bit) names.push_back(bit.name);
  }
  return names;
}

std::string HumanDuration(absl::Duration d) {
  int64_t s = absl::ToInt64Seconds(d);
  if (s < 0) s = 0;
  constexpr int64_t kMin = 60, kHour = 60 * kMin, kDay = 24 * kHour;
  // Precision shrinks as durations grow: seconds matter for a flow that
  // just went idle, not for one that has lived for days.
  if (s < 2 * kMin) return absl::StrCat(s, "s");
  if (s < 10 * kMin) {
    return s % kMin == 0 ? absl::StrCat(s / kMin, "m")
                         : absl::StrCat(s / kMin, "m", s % kMin, "s");
  }
  if (s < 3 * kHour) return absl::StrCat(s / kMin, "m");
  if (s < 8 * kHour) {
    int64_t m = (s % kHour) / kMin;
    return m == 0 ? absl::StrCat(s / kHour, "h")
                  : absl::StrCat(s / kHour, "h", m, "m");
  }
  if (s < 2 * kDay) return absl::StrCat(s / kHour, "h");
  if (s < 8 * kDay) {
    int64_t h = (s % kDay) / kHour;
    return h == 0 ? absl::StrCat(s / kDay, "d")
                  : absl::StrCat(s / kDay, "d", h, "h");
  }
  return absl::StrCat(s / kDay, "d");
}

std::string Percent(uint64_t used, uint64_t capacity) {
  if (capacity == 0) return "-";
  return absl::StrFormat("%.1f%%", 100.0 * static_cast<double>(used) /
                                       static_cast<double>(capacity));
}

}  // namespace switchyard::ctl
