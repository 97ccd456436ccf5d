// SPDX-License-Identifier: Apache-2.0
// Short TCP connections through ClusterIPs: clients in the client pod
// connect to a service, read the one byte the endpoint's server writes,
// and close, over and over for a fixed time (or count). Servers in every
// backend accept on the target port for the whole endpoint range. Each
// connection is a new flow: a translation chosen on its SYN (a nat-table
// walk or a map lookup) and tracked until it ends, replies translated
// back on the way to the client.
#ifndef SWITCHYARD_BENCH_LIVE_TCP_CRR_H_
#define SWITCHYARD_BENCH_LIVE_TCP_CRR_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/live/service_set.h"
#include "bench/live/topology.h"

namespace switchyard::bench::live {

struct CrrConfig {
  double seconds = 2;                  // per repetition
  uint64_t max_connections = 1000000;  // per repetition, a hard bound
  int clients = 2;                     // client threads, each one at a time
};

struct CrrSample {
  uint64_t completed = 0;  // connected, read the byte, closed
  uint64_t failed = 0;     // refused, timed out, or no byte
  double seconds = 0;
  double per_second() const { return seconds > 0 ? completed / seconds : 0; }
};

// `services` are TCP service ports already programmed into the node.
absl::StatusOr<CrrSample> RunConnectLoop(
    const Topology& topology, const std::vector<ServicePort>& services,
    const CrrConfig& config);

}  // namespace switchyard::bench::live

#endif  // SWITCHYARD_BENCH_LIVE_TCP_CRR_H_
