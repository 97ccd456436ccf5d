// SPDX-License-Identifier: Apache-2.0
#include "bench/live/rate_case.h"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace switchyard::bench::live {
namespace {

// Frames still queued when the injection returns (softirq work deferred to
// ksoftirqd on a busy machine) are waited for: until all have arrived, or
// the count has not moved for kQuiet, at most kSettleLimit.
constexpr uint64_t kFirstChunkFrames = 4096;
constexpr auto kPoll = std::chrono::milliseconds(10);
constexpr auto kQuiet = std::chrono::milliseconds(50);
constexpr auto kSettleLimit = std::chrono::seconds(2);

absl::StatusOr<uint64_t> SettledCount(const FrameGenerator& sinks,
                                      uint64_t expected) {
  const auto limit = std::chrono::steady_clock::now() + kSettleLimit;
  absl::StatusOr<uint64_t> last = sinks.SinkCount();
  auto last_change = std::chrono::steady_clock::now();
  while (last.ok() && *last < expected) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= limit || now - last_change >= kQuiet) break;
    std::this_thread::sleep_for(kPoll);
    absl::StatusOr<uint64_t> next = sinks.SinkCount();
    if (next.ok() && *next != *last) {
      last_change = std::chrono::steady_clock::now();
    }
    last = next;
  }
  return last;
}

FrameRecipe Recipe(const Topology& topology,
                   const std::vector<ServicePort>& services, Shape shape,
                   Entry entry) {
  FrameRecipe recipe;
  const bool np = entry == Entry::kNodePort;
  recipe.src_mac = np ? topology.outside_mac() : topology.client_mac();
  recipe.dst_mac = np ? topology.external_mac() : topology.inject_mac();
  // Network order.
  recipe.src_base_be = inet_addr(np ? kOutsideSourceBase : kSourceBase);
  const uint32_t node_addr = inet_addr(kNodeAddr);
  auto dst = [&](const ServicePort& sp) -> ybl_dst {
    if (np) return {node_addr, htons(sp.node_port), 0};
    return {htonl(sp.cluster_ip), htons(sp.port), 0};
  };
  // Services without a NodePort are no NodePort frame's destination.
  std::vector<const ServicePort*> usable;
  for (const ServicePort& sp : services) {
    if (!np || sp.node_port != 0) usable.push_back(&sp);
  }
  const size_t n = usable.size();
  if (n == 0) return recipe;  // SetRecipe refuses it
  if (shape == Shape::kEstablished) {
    // The long flows go to services spread over the whole set, so with
    // many services they are not all at the head of a rule list.
    recipe.flows = kEstablishedFlows;
    for (uint32_t i = 0; i < kEstablishedFlows; ++i) {
      recipe.dsts.push_back(dst(*usable[(i * n) / kEstablishedFlows]));
    }
  } else {
    recipe.flows = 0;
    for (size_t i = 0; i < n && i < YBL_MAX_DSTS; ++i) {
      recipe.dsts.push_back(dst(*usable[i]));
    }
  }
  return recipe;
}

// Where `entry`'s frames go into the node, and the veth end they come
// from.
InjectionPoint Point(const Topology& topology, const ProgrammedNode& node,
                     Entry entry) {
  InjectionPoint point;
  point.node = &topology.node();
  if (entry == Entry::kNodePort) {
    point.node_ifindex = topology.external_ifindex();
    point.peer = &topology.outside();
    point.peer_ifindex = topology.outside_ifindex();
    point.xdp_entry_fd = node.xdp_entry_fd();
  } else {
    point.node_ifindex = topology.inject_ifindex();
    point.peer = &topology.client();
    point.peer_ifindex = topology.client_ifindex();
  }
  return point;
}

absl::StatusOr<RateSample> OneSample(const FrameGenerator& sinks,
                                     TrafficSource& source, uint32_t frames,
                                     double max_seconds, uint32_t batch) {
  absl::StatusOr<uint64_t> before = sinks.SinkCount();
  if (!before.ok()) return before.status();
  InjectResult total;
  // Bounded twice: by `frames`, and by max_seconds checked between
  // chunks.
  while (total.frames < frames &&
         total.wall_ns < static_cast<uint64_t>(max_seconds * 1e9)) {
    // Start small, then size chunks by the rate seen so far, so a slow
    // mode overshoots max_seconds by little.
    uint64_t chunk = kFirstChunkFrames;
    if (total.wall_ns > 0) {
      const double left = max_seconds - total.wall_ns / 1e9;
      chunk =
          static_cast<uint64_t>(total.frames * 1e9 / total.wall_ns * left) + 1;
    }
    chunk = std::clamp<uint64_t>(chunk, 1024, kChunkFrames);
    chunk = std::min<uint64_t>(chunk, frames - total.frames);
    absl::StatusOr<InjectResult> one =
        source.Inject(static_cast<uint32_t>(chunk), batch);
    if (!one.ok()) return one.status();
    total.frames += one->frames;
    total.wall_ns += one->wall_ns;
  }
  absl::StatusOr<uint64_t> after = SettledCount(sinks, *before + total.frames);
  if (!after.ok()) return after.status();
  RateSample sample;
  sample.injected = total.frames;
  sample.delivered = *after - *before;
  sample.seconds = total.wall_ns / 1e9;
  return sample;
}

absl::StatusOr<RateResult> RunSamples(const FrameGenerator& sinks,
                                      TrafficSource& source,
                                      ProgrammedNode& node, Shape shape,
                                      const RateConfig& config) {
  // Warm-up, not measured: the established flows get their tracking
  // entries (and every path its cache lines) before the first sample.
  if (absl::StatusOr<RateSample> warm =
          OneSample(sinks, source, 4 * kEstablishedFlows, 1.0, config.batch);
      !warm.ok()) {
    return warm.status();
  }
  RateResult result;
  std::vector<double> pps, ns;
  for (uint32_t r = 0; r < config.repetitions; ++r) {
    if (shape == Shape::kNewFlows) {
      if (absl::Status s = node.ForgetFlows(); !s.ok()) return s;
    }
    absl::StatusOr<RateSample> sample = OneSample(
        sinks, source, config.frames, config.max_seconds, config.batch);
    if (!sample.ok()) return sample.status();
    result.samples.push_back(*sample);
    pps.push_back(sample->pps());
    ns.push_back(sample->ns_per_frame());
  }
  result.median_pps = Median(pps);
  result.median_ns_per_frame = Median(ns);
  return result;
}

}  // namespace

const char* ShapeName(Shape shape) {
  return shape == Shape::kEstablished ? "established" : "new_flows";
}

const char* EntryName(Entry entry) {
  return entry == Entry::kClusterIp ? "clusterip" : "nodeport";
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

absl::StatusOr<RateResult> RunRateCase(const FrameGenerator& sinks,
                                       TrafficSource& source,
                                       const Topology& topology,
                                       ProgrammedNode& node,
                                       const std::vector<ServicePort>& services,
                                       Shape shape, Entry entry,
                                       const RateConfig& config) {
  if (absl::Status s = source.Start(Point(topology, node, entry),
                                    Recipe(topology, services, shape, entry));
      !s.ok()) {
    return s;
  }
  absl::StatusOr<RateResult> result =
      RunSamples(sinks, source, node, shape, config);
  if (absl::Status s = source.Stop(); !s.ok() && result.ok()) return s;
  return result;
}

}  // namespace switchyard::bench::live
