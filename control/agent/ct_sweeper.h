// SPDX-License-Identifier: Apache-2.0
// Reclaims the memory of connection-tracking entries whose time is up.
// The datapath already ignores them (expiry is checked at every lookup,
// bpf/lib/conntrack.h), so nothing on the packet path waits for this; it
// keeps yard_ct4 bounded by the traffic of the last timeouts instead of
// filling to its size with the dead.
#ifndef SWITCHYARD_CONTROL_AGENT_CT_SWEEPER_H_
#define SWITCHYARD_CONTROL_AGENT_CT_SWEEPER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "control/kernel/ct_lifetime.h"
#include "control/kernel/datapath_maps.h"

namespace switchyard::agent {

// Deletes the entries of yard_ct4 expired at now_ns (CLOCK_MONOTONIC);
// returns how many. An entry a packet touched since the walk read it is
// kept.
absl::StatusOr<uint64_t> SweepExpiredFlows(kernel::DatapathMaps& maps,
                                           const kernel::CtTimeouts& timeouts,
                                           uint64_t now_ns);

// CLOCK_MONOTONIC in nanoseconds: the datapath's clock.
uint64_t MonotonicNowNs();

}  // namespace switchyard::agent

#endif  // SWITCHYARD_CONTROL_AGENT_CT_SWEEPER_H_
