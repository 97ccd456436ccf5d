// SPDX-License-Identifier: Apache-2.0
// How long a connection-tracking entry holds its tuple: the rule the
// datapath applies at lookup (bpf/lib/conntrack.h, yard_ct_expired), for
// user space: yardctl's time left, and the agent's sweeper, which only
// reclaims the memory of entries the datapath already ignores. Pure.
#ifndef SWITCHYARD_CONTROL_KERNEL_CT_LIFETIME_H_
#define SWITCHYARD_CONTROL_KERNEL_CT_LIFETIME_H_

#include <cstdint>

#include "absl/time/time.h"
#include "control/kernel/abi.h"

namespace switchyard::kernel {

struct CtTimeouts {
  uint32_t udp_s = YARD_DEFAULT_UDP_TIMEOUT_S;
  uint32_t tcp_idle_s = YARD_DEFAULT_TCP_IDLE_TIMEOUT_S;
  uint32_t tcp_close_s = YARD_DEFAULT_TCP_CLOSE_TIMEOUT_S;

  static CtTimeouts Of(const yard_config& config);
};

// A TCP flow that ended: a RST, or a FIN from each side.
bool CtEnded(const yard_ct4_value& value);

// The timeout that applies to the entry now, by protocol and state.
absl::Duration CtTimeout(uint8_t proto, const yard_ct4_value& value,
                         const CtTimeouts& timeouts);

// Time until the entry stops holding its tuple, at now_ns (the datapath's
// clock: CLOCK_MONOTONIC); zero once expired. An entry touched after
// now_ns has its whole timeout left.
absl::Duration CtTimeLeft(uint8_t proto, const yard_ct4_value& value,
                          const CtTimeouts& timeouts, uint64_t now_ns);

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_CT_LIFETIME_H_
