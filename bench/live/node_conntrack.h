// SPDX-License-Identifier: Apache-2.0
// A Switchyard node with netfilter's connection tracking active, as on a
// real node: CNI plugins and the kubelet install rules that match on
// conntrack state, and one such rule is enough for the kernel to track
// every packet the stack sees in that namespace. kube-proxy's layouts
// need conntrack for their NAT, so they pay it in every run; without
// this, Switchyard's modes would be measured on a node cheaper than any
// real one.
#ifndef SWITCHYARD_BENCH_LIVE_NODE_CONNTRACK_H_
#define SWITCHYARD_BENCH_LIVE_NODE_CONNTRACK_H_

#include <memory>

#include "absl/status/statusor.h"
#include "bench/live/modes.h"
#include "bench/live/topology.h"

namespace switchyard::bench::live {

// The nftables table the node gets: `ct state` rules on the prerouting
// and forward hooks, counting and accepting (nothing is dropped).
inline constexpr char kNodeConntrackTable[] = "yard-bench-node";

// Loads the table into `topology`'s node and wraps `node`: ForgetFlows
// also empties conntrack, and Describe says conntrack is on.
absl::StatusOr<std::unique_ptr<ProgrammedNode>> WithNodeConntrack(
    std::unique_ptr<ProgrammedNode> node, const Topology& topology);

}  // namespace switchyard::bench::live

#endif  // SWITCHYARD_BENCH_LIVE_NODE_CONNTRACK_H_
