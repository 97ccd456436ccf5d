// SPDX-License-Identifier: Apache-2.0
// One packet-rate case: a programmed node, a traffic shape, N frames
// injected per repetition (by a TrafficSource) into the node's pod-facing
// interface (to ClusterIPs) or its external device (to NodePorts), and the
// frames the backends' sinks received.
#ifndef SWITCHYARD_BENCH_LIVE_RATE_CASE_H_
#define SWITCHYARD_BENCH_LIVE_RATE_CASE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/live/frame_generator.h"
#include "bench/live/modes.h"
#include "bench/live/service_set.h"
#include "bench/live/topology.h"
#include "bench/live/traffic_source.h"

namespace switchyard::bench::live {

enum class Shape {
  kEstablished,  // kEstablishedFlows long flows, cycled: per-packet cost
  kNewFlows,     // a new 5-tuple every frame: per-connection cost
};
inline constexpr uint32_t kEstablishedFlows = 16;
// Frames per injection call: small enough that a slow mode stops close
// to max_seconds, large enough that the call's setup is noise.
inline constexpr uint32_t kChunkFrames = 32768;

const char* ShapeName(Shape shape);  // "established", "new_flows"

// Where frames enter and what they are addressed to.
enum class Entry {
  kClusterIp,  // from the client pod (10.192.0.0/10), on vcl
  kNodePort,   // from outside (100.64.0.0/10) to kNodeAddr, on vext
};
const char* EntryName(Entry entry);  // "clusterip", "nodeport"

struct RateConfig {
  uint32_t frames = 0;       // per repetition, at most
  double max_seconds = 1.0;  // per repetition: injection stops (between
                             // chunks of kChunkFrames) once this is spent
  uint32_t repetitions = 3;  // samples; the report shows their median
  uint32_t batch = 64;       // frames per softirq round (live frames) or
                             // per sendmmsg (af-packet), 1..256
};

struct RateSample {
  uint64_t injected = 0;
  uint64_t delivered = 0;  // counted by the backends' sinks
  double seconds = 0;      // wall time of the injection calls
  double pps() const { return seconds > 0 ? delivered / seconds : 0; }
  double ns_per_frame() const {
    return injected ? seconds * 1e9 / injected : 0;
  }
};

struct RateResult {
  std::vector<RateSample> samples;
  double median_pps = 0;
  double median_ns_per_frame = 0;
};

// `sinks` counts what the backends received; `source` injects.
absl::StatusOr<RateResult> RunRateCase(const FrameGenerator& sinks,
                                       TrafficSource& source,
                                       const Topology& topology,
                                       ProgrammedNode& node,
                                       const std::vector<ServicePort>& services,
                                       Shape shape, Entry entry,
                                       const RateConfig& config);

double Median(std::vector<double> values);

}  // namespace switchyard::bench::live

#endif  // SWITCHYARD_BENCH_LIVE_RATE_CASE_H_
