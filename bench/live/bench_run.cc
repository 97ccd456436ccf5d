// SPDX-License-Identifier: Apache-2.0
#include "bench/live/bench_run.h"

#include <netinet/in.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/live/frame_generator.h"
#include "bench/live/node_conntrack.h"
#include "bench/live/topology.h"
#include "control/kernel/datapath.h"
#include "tests/netns/netns.h"

namespace switchyard::bench::live {
namespace {

// Short namespace tags: names must stay short, and a later case's
// namespaces must not collide with an earlier one's.
std::string Tag(Mode mode, int services) {
  const std::string key = ProgramKey(mode);
  const bool remote = ModeSite(mode) == Site::kRemote;
  const char* m = key == "iptables"                      ? "ipt"
                  : key == "nftables"                    ? "nft"
                  : IsKubeProxy(mode) && remote          ? "kpr"
                  : mode == Mode::kSwitchyardXdpStack    ? "sxs"
                  : mode == Mode::kSwitchyardXdpRedirect ? "sxr"
                  : mode == Mode::kSwitchyardXdpTx       ? "sxt"
                                                         : "sw";
  return absl::StrCat(m, services);
}

const char* SiteName(Site site) {
  return site == Site::kRemote ? "remote" : "local";
}

struct Programmed {
  std::unique_ptr<Topology> topology;
  std::unique_ptr<ProgrammedNode> node;  // destroyed first
  bool node_conntrack = true;            // nf_conntrack active on the node
};

// `conntrack`: a Switchyard node gets node_conntrack.h's rules;
// kube-proxy's nodes track connections whatever it says.
absl::StatusOr<Programmed> Setup(Mode mode, int services_count,
                                 const std::vector<ServicePort>& services,
                                 int backends, bool conntrack,
                                 FrameGenerator* sink_source) {
  Programmed p;
  absl::StatusOr<std::unique_ptr<Topology>> topology =
      Topology::Create(Tag(mode, services_count), backends, ModeSite(mode));
  if (!topology.ok()) return topology.status();
  p.topology = *std::move(topology);
  if (sink_source != nullptr) {
    for (int b = 0; b < p.topology->backend_count(); ++b) {
      const int ifindex = p.topology->backend_ifindex(b);
      const int fd = sink_source->sink_fd();
      if (absl::Status s = p.topology->backend(b).Run([&] {
            return kernel::AttachTc(ifindex, kernel::TcDirection::kIngress, fd);
          });
          !s.ok()) {
        return s;
      }
    }
  }
  absl::StatusOr<std::unique_ptr<ProgrammedNode>> node =
      ProgramNode(mode, *p.topology, services);
  if (!node.ok()) return node.status();
  p.node_conntrack = conntrack || IsKubeProxy(mode);
  if (conntrack && !IsKubeProxy(mode)) {
    node = WithNodeConntrack(*std::move(node), *p.topology);
    if (!node.ok()) return node.status();
  }
  p.node = *std::move(node);
  std::cerr << absl::StrFormat(
      "  %-10s %6d services: programmed in %.2f s (%s)\n", ProgramKey(mode),
      services_count, p.node->program_seconds(), p.node->Describe());
  return p;
}

// One mode's packet-rate cases on a node with or without conntrack.
struct NodeRun {
  Mode mode;
  bool conntrack;
};

// What runs at `count` services: every mode with the run's conntrack
// setting and, where the config asks for it, each Switchyard mode once
// more without conntrack right after it, so that the two are measured
// back to back (on a shared machine, minutes apart can differ by more
// than conntrack does).
std::vector<NodeRun> NodeRuns(const BenchConfig& config, int count) {
  const bool compare = config.node_conntrack &&
                       std::find(config.no_conntrack_services.begin(),
                                 config.no_conntrack_services.end(),
                                 count) != config.no_conntrack_services.end();
  std::vector<NodeRun> runs;
  for (Mode mode : config.modes) {
    runs.push_back({mode, config.node_conntrack});
    if (compare && !IsKubeProxy(mode)) runs.push_back({mode, false});
  }
  return runs;
}

// What every case records of the node it ran on.
CaseRecord RecordFor(Mode mode, Entry entry, const char* shape, int count,
                     const BenchConfig& config, const Programmed& p) {
  CaseRecord rec;
  rec.mode = ModeName(mode);
  rec.entry = EntryName(entry);
  rec.shape = shape;
  rec.site = SiteName(ModeSite(mode));
  rec.node_conntrack = p.node_conntrack;
  rec.services = count;
  rec.endpoints = config.endpoints;
  rec.setup = p.node->Describe();
  rec.program_seconds = p.node->program_seconds();
  return rec;
}

// The packet-rate cases of `runs` at one service count.
absl::Status RateCasesAt(const BenchConfig& config, int count,
                         const std::vector<ServicePort>& services,
                         const std::vector<NodeRun>& runs,
                         FrameGenerator& generator, TrafficSource& source,
                         std::vector<CaseRecord>& cases) {
  // Consecutive modes that program the node alike (iptables and
  // iptables-nodeport) share one programmed node: loading 10,000
  // services' rules takes iptables and nft tens of seconds.
  std::optional<Programmed> p;
  std::string programmed_as;
  for (const NodeRun& run : runs) {
    const Mode mode = run.mode;
    const std::string key =
        absl::StrCat(ProgramKey(mode), run.conntrack ? "" : " no-ct");
    if (!p || programmed_as != key) {
      p.reset();
      absl::StatusOr<Programmed> made = Setup(
          mode, count, services, config.backends, run.conntrack, &generator);
      if (!made.ok()) {
        return absl::Status(
            made.status().code(),
            absl::StrCat(ModeName(mode), " at ", count,
                         " services: ", made.status().message()));
      }
      p = *std::move(made);
      programmed_as = key;
    }
    const Entry entry = IsNodePort(mode) ? Entry::kNodePort : Entry::kClusterIp;
    std::cerr << absl::StrFormat(
        "   %s (%s%s)\n", ModeName(mode), EntryName(entry),
        p->node_conntrack ? "" : ", no conntrack on the node");
    for (Shape shape : config.shapes) {
      const RateConfig& rc =
          shape == Shape::kEstablished ? config.established : config.new_flows;
      absl::StatusOr<RateResult> r =
          RunRateCase(generator, source, *p->topology, *p->node, services,
                      shape, entry, rc);
      if (!r.ok()) {
        return absl::Status(
            r.status().code(),
            absl::StrCat(ModeName(mode), " ", ShapeName(shape), " at ", count,
                         " services: ", r.status().message()));
      }
      CaseRecord rec =
          RecordFor(mode, entry, ShapeName(shape), count, config, *p);
      rec.traffic_source = source.name();
      rec.rate_samples = r->samples;
      rec.pps = r->median_pps;
      rec.ns_per_frame = r->median_ns_per_frame;
      uint64_t injected = 0, delivered = 0;
      for (const RateSample& s : r->samples) {
        injected += s.injected;
        delivered += s.delivered;
      }
      std::cerr << absl::StrFormat(
          "    %-12s %10.0f pkt/s %7.0f ns/frame  delivered %d of %d\n",
          rec.shape, rec.pps, rec.ns_per_frame, delivered, injected);
      cases.push_back(std::move(rec));
    }
  }
  return absl::OkStatus();
}

absl::Status RateCases(const BenchConfig& config, FrameGenerator& generator,
                       TrafficSource& source, std::vector<CaseRecord>& cases) {
  for (int count : config.services) {
    absl::StatusOr<std::vector<ServicePort>> services =
        BuildServices(count, config.endpoints, config.backends, IPPROTO_UDP);
    if (!services.ok()) return services.status();
    if (absl::Status s =
            RateCasesAt(config, count, *services, NodeRuns(config, count),
                        generator, source, cases);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status TcpCases(const BenchConfig& config,
                      std::vector<CaseRecord>& cases) {
  for (int count : config.tcp_services) {
    absl::StatusOr<std::vector<ServicePort>> services =
        BuildServices(count, config.endpoints, config.backends, IPPROTO_TCP);
    if (!services.ok()) return services.status();
    for (Mode mode : config.tcp_modes) {
      absl::StatusOr<Programmed> p =
          Setup(mode, count, *services, config.backends, config.node_conntrack,
                nullptr);
      if (!p.ok()) return p.status();
      CaseRecord rec =
          RecordFor(mode, Entry::kClusterIp, "tcp_connect", count, config, *p);
      std::vector<double> rates;
      for (uint32_t r = 0; r < config.tcp_repetitions; ++r) {
        absl::StatusOr<CrrSample> s =
            RunConnectLoop(*p->topology, *services, config.tcp);
        if (!s.ok()) return s.status();
        rec.crr_samples.push_back(*s);
        rates.push_back(s->per_second());
      }
      rec.connections_per_s = Median(rates);
      uint64_t failed = 0;
      for (const CrrSample& s : rec.crr_samples) failed += s.failed;
      std::cerr << absl::StrFormat("    %-12s %10.0f conn/s  (%d failed)\n",
                                   rec.shape, rec.connections_per_s, failed);
      cases.push_back(std::move(rec));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunBench(const BenchConfig& config, RunInfo& info,
                      std::vector<CaseRecord>& cases) {
  // Namespaces a killed earlier run left behind (its pid is gone).
  if (absl::StatusOr<int> stale = netns::CleanupStaleNamespaces();
      stale.ok() && *stale > 0) {
    std::cerr << "removed " << *stale << " stale namespaces\n";
  }
  if (!config.services.empty() && !config.modes.empty()) {
    // Loaded whichever source injects: its sink counts at the backends.
    absl::StatusOr<std::unique_ptr<FrameGenerator>> generator =
        FrameGenerator::Load();
    if (!generator.ok()) return generator.status();
    absl::StatusOr<ChosenSource> chosen =
        ChooseTrafficSource(config.traffic, **generator);
    if (!chosen.ok()) return chosen.status();
    info.traffic_source = chosen->source->name();
    info.traffic_source_why = chosen->why;
    std::cerr << "traffic source: " << info.traffic_source << ", "
              << chosen->why << "\n";
    std::cerr << "packet rates (" << info.traffic_source << ", "
              << config.endpoints << " endpoints per service, "
              << config.backends << " backends)\n";
    if (absl::Status s = RateCases(config, **generator, *chosen->source, cases);
        !s.ok()) {
      return s;
    }
  }
  if (!config.tcp_services.empty() && !config.tcp_modes.empty()) {
    std::cerr << "short TCP connections (" << config.tcp.clients
              << " clients)\n";
    return TcpCases(config, cases);
  }
  return absl::OkStatus();
}

absl::Status CheckDelivery(const std::vector<CaseRecord>& cases) {
  for (const CaseRecord& c : cases) {
    uint64_t total = 0;
    for (const RateSample& s : c.rate_samples) total += s.delivered;
    for (const CrrSample& s : c.crr_samples) total += s.completed;
    if (total == 0) {
      return absl::InternalError(absl::StrCat(c.mode, " ", c.shape, " at ",
                                              c.services,
                                              " services delivered nothing"));
    }
  }
  return absl::OkStatus();
}

}  // namespace switchyard::bench::live
