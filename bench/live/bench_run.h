// SPDX-License-Identifier: Apache-2.0
// The whole run: every (service count, mode) gets fresh namespaces and a
// freshly programmed node, then its packet-rate cases; then the TCP
// connection cases. Progress goes to stderr as it happens.
#ifndef SWITCHYARD_BENCH_LIVE_BENCH_RUN_H_
#define SWITCHYARD_BENCH_LIVE_BENCH_RUN_H_

#include <vector>

#include "absl/status/status.h"
#include "bench/live/modes.h"
#include "bench/live/rate_case.h"
#include "bench/live/report.h"
#include "bench/live/tcp_crr.h"
#include "bench/live/traffic_source.h"

namespace switchyard::bench::live {

struct BenchConfig {
  std::vector<int> services;
  std::vector<Mode> modes;
  std::vector<Shape> shapes;
  TrafficChoice traffic = TrafficChoice::kAuto;
  RateConfig established;
  RateConfig new_flows;
  int endpoints = 10;
  int backends = 4;
  std::vector<int> tcp_services;
  std::vector<Mode> tcp_modes;
  CrrConfig tcp;
  uint32_t tcp_repetitions = 3;
  // nf_conntrack active on Switchyard's nodes (node_conntrack.h), as on a
  // real node; kube-proxy's have it regardless.
  bool node_conntrack = true;
  // Service counts at which each Switchyard mode runs a second time,
  // right after the first, without it (with node_conntrack only): what
  // conntrack costs them.
  std::vector<int> no_conntrack_services;
  bool quick = false;
};

// Appends one record per finished case, so a failure midway still leaves
// the cases before it to report, and names the traffic source it chose in
// `info`. Namespaces are gone when it returns.
absl::Status RunBench(const BenchConfig& config, RunInfo& info,
                      std::vector<CaseRecord>& cases);

// An error naming the first case that delivered no packet or completed no
// connection: the smoke test's only assertion (behaviour, not speed).
absl::Status CheckDelivery(const std::vector<CaseRecord>& cases);

}  // namespace switchyard::bench::live

#endif  // SWITCHYARD_BENCH_LIVE_BENCH_RUN_H_
