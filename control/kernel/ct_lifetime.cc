// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/ct_lifetime.h"

#include <netinet/in.h>

#include <algorithm>

namespace switchyard::kernel {

CtTimeouts CtTimeouts::Of(const yard_config& config) {
  return CtTimeouts{.udp_s = config.udp_timeout_s,
                    .tcp_idle_s = config.tcp_idle_timeout_s,
                    .tcp_close_s = config.tcp_close_timeout_s};
}

bool CtEnded(const yard_ct4_value& value) {
  constexpr uint16_t kBoth = YARD_CT_F_FIN_CLIENT | YARD_CT_F_FIN_BACKEND;
  return (value.flags & YARD_CT_F_RST) || (value.flags & kBoth) == kBoth;
}

absl::Duration CtTimeout(uint8_t proto, const yard_ct4_value& value,
                         const CtTimeouts& timeouts) {
  if (proto == IPPROTO_TCP) {
    return absl::Seconds(CtEnded(value) ? timeouts.tcp_close_s
                                        : timeouts.tcp_idle_s);
  }
  return absl::Seconds(timeouts.udp_s);
}

absl::Duration CtTimeLeft(uint8_t proto, const yard_ct4_value& value,
                          const CtTimeouts& timeouts, uint64_t now_ns) {
  const absl::Duration timeout = CtTimeout(proto, value, timeouts);
  if (value.last_seen_ns > now_ns) return timeout;
  const absl::Duration idle = absl::Nanoseconds(now_ns - value.last_seen_ns);
  return std::max(absl::ZeroDuration(), timeout - idle);
}

}  // namespace switchyard::kernel
