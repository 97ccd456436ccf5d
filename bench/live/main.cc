// SPDX-License-Identifier: Apache-2.0
// yard-bench-live: packet rates of Switchyard, kube-proxy's iptables layout
// and its nftables layout side by side, in one run, with live traffic
// through real interfaces in network namespaces.
//
//   yard-bench-live [--quick] [--json FILE|-] [--services 1,1000,10000]
//                   [--modes switchyard,iptables,...] [--frames N]
//                   [--new_frames N] [--reps K] [--tcp_services 1000,10000]
//                   [--traffic_source auto|live-frames|af-packet]
//                   [--node_conntrack=false] [--no_conntrack_services N,..]
//
// For every service count and mode a fresh set of namespaces is built
// (topology.h), the mode programs the node, and UDP frames go into the
// node: on its pod-facing interface to ClusterIPs, or on its external
// device to NodePorts. Two traffic sources (traffic_source.h) make them:
// an XDP program run with BPF_PROG_TEST_RUN in live-frames mode on the
// node's device (Switchyard's yard_from_outside tail-called by it, or
// XDP_PASS into kube-proxy's rules), or, where the kernel refuses that, a
// raw packet socket on the veth's other end (the client pod or the outside
// client) whose frames meet whatever the device has attached. Each frame
// goes through the node's receive path (XDP, tc, netfilter, routing,
// forwarding) to a backend, where a tc program counts and drops it.
// Switchyard's node has nf_conntrack active, as a real node's CNI and
// kubelet rules keep it (node_conntrack.h), and its modes run once more
// without it at --no_conntrack_services.
// Reported: frames delivered per second of injection time, and injection
// time per frame (everything the node does for a frame, on one CPU, plus
// the source's own cost). Then real TCP clients open short connections
// through the ClusterIPs. Nothing here asserts a number; with
// --expect_delivery the run fails if a case delivered nothing.
#include <netinet/in.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/kubeproxy/iptables_layout.h"
#include "bench/kubeproxy/nftables_layout.h"
#include "bench/live/bench_run.h"

ABSL_FLAG(bool, quick, false,
          "smoke run of seconds: 1 and 100 services, 20,000 frames, one "
          "repetition, a short TCP loop at 100 services");
ABSL_FLAG(std::string, json, "",
          "write results as JSON to this file ('-': stdout)");
ABSL_FLAG(std::string, services, "1,1000,10000", "service counts");
ABSL_FLAG(
    std::string, modes,
    "switchyard,switchyard-bypass,switchyard-xdp-stack,switchyard-xdp-redirect,"
    "switchyard-xdp-tx,switchyard-tc-stack,iptables,iptables-nodeport,"
    "nftables,nftables-nodeport,iptables-nodeport-remote,"
    "nftables-nodeport-remote",
    "modes for the packet-rate cases: ClusterIP from a pod "
    "(switchyard: stack bypass off, switchyard-bypass, iptables, "
    "nftables) and NodePort from outside "
    "(switchyard-xdp-stack, switchyard-xdp-redirect, switchyard-tc-stack: "
    "XDP off, the fallback; iptables-nodeport, nftables-nodeport: all "
    "to local endpoints; switchyard-xdp-tx, iptables-nodeport-remote, "
    "nftables-nodeport-remote: DNAT + SNAT to endpoints on another "
    "node); consecutive iptables and iptables-nodeport (nftables, "
    "nftables-nodeport) share one programmed node");
ABSL_FLAG(bool, node_conntrack, true,
          "nf_conntrack active on Switchyard's node (an nftables table with "
          "ct state rules on prerouting and forward), as CNI and kubelet "
          "rules keep it on a real node; kube-proxy's modes have it anyway");
ABSL_FLAG(std::string, no_conntrack_services, "10000",
          "service counts at which each Switchyard mode also runs on a node "
          "without conntrack, right after its first run, to show what it "
          "costs them (with --node_conntrack; empty: none)");
ABSL_FLAG(std::string, shapes, "established,new_flows", "traffic shapes");
ABSL_FLAG(uint32_t, frames, 1000000,
          "frames per repetition, established flows");
ABSL_FLAG(uint32_t, new_frames, 200000,
          "frames per repetition, new flows (each one a conntrack entry: "
          "keep it below nf_conntrack_max, 262,144 by default)");
ABSL_FLAG(double, rep_seconds, 1.0,
          "injection time per repetition, at most (a slow mode sends fewer "
          "frames than --frames / --new_frames)");
ABSL_FLAG(uint32_t, reps, 3, "repetitions per case (median reported)");
ABSL_FLAG(uint32_t, batch, 64,
          "frames per softirq round (live-frames) or per sendmmsg call "
          "(af-packet), 1..256");
ABSL_FLAG(int, endpoints, 10, "endpoints per service");
ABSL_FLAG(int, backends, 4, "backend namespaces the endpoints spread over");
ABSL_FLAG(std::string, tcp_services, "1000,10000",
          "service counts for the TCP connection cases (empty: none)");
ABSL_FLAG(std::string, tcp_modes,
          "switchyard,switchyard-bypass,iptables,nftables",
          "modes for the TCP connection cases");
ABSL_FLAG(double, tcp_seconds, 1.0, "seconds per TCP repetition");
ABSL_FLAG(int, tcp_clients, 2, "concurrent TCP client threads");
ABSL_FLAG(std::string, dump_rules, "",
          "print the iptables-restore input ('iptables') or nft script "
          "('nftables') for the first --services count and exit");
ABSL_FLAG(std::string, traffic_source, "auto",
          "where frames come from: live-frames (BPF_PROG_TEST_RUN of an XDP "
          "generator on the node's device), af-packet (a raw socket on the "
          "veth's other end, sendmmsg) or auto (live-frames if one tiny "
          "test run works, else af-packet)");
ABSL_FLAG(bool, expect_delivery, false,
          "fail unless every case delivered packets / completed connections");

namespace switchyard::bench::live {
namespace {

absl::StatusOr<std::vector<int>> ParseInts(const std::string& text) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int v = 0;
    if (!absl::SimpleAtoi(part, &v) || v < 1) {
      return absl::InvalidArgumentError(absl::StrCat("bad count: ", part));
    }
    out.push_back(v);
  }
  return out;
}

absl::StatusOr<std::vector<Mode>> ParseModes(const std::string& text) {
  std::vector<Mode> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    bool found = false;
    for (Mode m : kAllModes) {
      if (part == ModeName(m)) {
        out.push_back(m);
        found = true;
      }
    }
    if (!found) return absl::InvalidArgumentError(absl::StrCat("mode ", part));
  }
  return out;
}

absl::StatusOr<std::vector<Shape>> ParseShapes(const std::string& text) {
  std::vector<Shape> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    if (part == ShapeName(Shape::kEstablished)) {
      out.push_back(Shape::kEstablished);
    } else if (part == ShapeName(Shape::kNewFlows)) {
      out.push_back(Shape::kNewFlows);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("shape ", part));
    }
  }
  return out;
}

absl::StatusOr<BenchConfig> ConfigFromFlags() {
  BenchConfig c;
  const bool quick = absl::GetFlag(FLAGS_quick);
  c.quick = quick;
  absl::StatusOr<std::vector<int>> services =
      ParseInts(quick ? "1,100" : absl::GetFlag(FLAGS_services));
  absl::StatusOr<std::vector<int>> tcp_services =
      ParseInts(quick ? "100" : absl::GetFlag(FLAGS_tcp_services));
  // Quick: at the larger of its two counts, a flag's empty list kept.
  const std::string no_ct = absl::GetFlag(FLAGS_no_conntrack_services);
  absl::StatusOr<std::vector<int>> no_conntrack_services =
      ParseInts(quick && !no_ct.empty() ? "100" : no_ct);
  absl::StatusOr<std::vector<Mode>> modes =
      ParseModes(absl::GetFlag(FLAGS_modes));
  absl::StatusOr<std::vector<Mode>> tcp_modes =
      ParseModes(absl::GetFlag(FLAGS_tcp_modes));
  absl::StatusOr<std::vector<Shape>> shapes =
      ParseShapes(absl::GetFlag(FLAGS_shapes));
  absl::StatusOr<TrafficChoice> traffic =
      ParseTrafficChoice(absl::GetFlag(FLAGS_traffic_source));
  for (const absl::Status& s :
       {services.status(), tcp_services.status(),
        no_conntrack_services.status(), modes.status(), tcp_modes.status(),
        shapes.status(), traffic.status()}) {
    if (!s.ok()) return s;
  }
  for (Mode m : *tcp_modes) {
    if (IsNodePort(m)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tcp_modes takes ClusterIP modes, not ", ModeName(m)));
    }
  }
  c.services = *services;
  c.tcp_services = *tcp_services;
  c.node_conntrack = absl::GetFlag(FLAGS_node_conntrack);
  c.no_conntrack_services = *no_conntrack_services;
  c.modes = *modes;
  c.tcp_modes = *tcp_modes;
  c.shapes = *shapes;
  c.traffic = *traffic;
  c.established.frames = quick ? 20000 : absl::GetFlag(FLAGS_frames);
  c.new_flows.frames = quick ? 20000 : absl::GetFlag(FLAGS_new_frames);
  c.established.repetitions = c.new_flows.repetitions =
      quick ? 1 : absl::GetFlag(FLAGS_reps);
  c.established.batch = c.new_flows.batch = absl::GetFlag(FLAGS_batch);
  c.established.max_seconds = c.new_flows.max_seconds =
      absl::GetFlag(FLAGS_rep_seconds);
  c.endpoints = absl::GetFlag(FLAGS_endpoints);
  c.backends = absl::GetFlag(FLAGS_backends);
  c.tcp.seconds = quick ? 0.3 : absl::GetFlag(FLAGS_tcp_seconds);
  c.tcp.clients = absl::GetFlag(FLAGS_tcp_clients);
  c.tcp_repetitions = quick ? 1 : absl::GetFlag(FLAGS_reps);
  if (c.established.batch < 1 || c.established.batch > 256) {
    return absl::InvalidArgumentError("--batch must be 1..256");
  }
  return c;
}

int DumpRules(const BenchConfig& config, const std::string& which) {
  absl::StatusOr<std::vector<ServicePort>> services = BuildServices(
      config.services.front(), config.endpoints, config.backends, IPPROTO_UDP);
  if (!services.ok()) {
    std::cerr << services.status() << "\n";
    return 2;
  }
  const kubeproxy::LayoutOptions options{
      kClusterCidr, kServiceCidr, {kNodeAddr}};
  if (which == "iptables") {
    std::cout << kubeproxy::IptablesRestoreInput(*services, options);
  } else if (which == "nftables") {
    std::cout << kubeproxy::NftablesScript(*services, options);
  } else {
    std::cerr << "--dump_rules takes iptables or nftables\n";
    return 2;
  }
  return 0;
}

int Main() {
  absl::StatusOr<BenchConfig> config = ConfigFromFlags();
  if (!config.ok()) {
    std::cerr << config.status() << "\n";
    return 2;
  }
  if (const std::string dump = absl::GetFlag(FLAGS_dump_rules); !dump.empty()) {
    return DumpRules(*config, dump);
  }
  if (geteuid() != 0) {
    std::cerr << "yard-bench-live needs root (namespaces, BPF, netfilter)\n";
    return 2;
  }
  RunInfo info;
  utsname u = {};
  uname(&u);
  info.kernel = u.release;
  info.iptables = IptablesVersion();
  info.backends = config->backends;
  info.cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  info.batch = config->established.batch;
  info.quick = config->quick;
  info.node_conntrack = config->node_conntrack;

  std::vector<CaseRecord> cases;
  absl::Status run = RunBench(*config, info, cases);
  std::cerr << "\n" << ToTable(info, cases);
  const std::string json_path = absl::GetFlag(FLAGS_json);
  if (!json_path.empty()) {
    const std::string doc = ToJson(info, cases);
    if (json_path == "-") {
      std::cout << doc;
    } else {
      std::ofstream(json_path) << doc;
      std::cerr << "wrote " << json_path << "\n";
    }
  }
  if (!run.ok()) {
    std::cerr << "FAILED: " << run << "\n";
    return 1;
  }
  if (absl::GetFlag(FLAGS_expect_delivery)) {
    if (absl::Status s = CheckDelivery(cases); !s.ok()) {
      std::cerr << "FAILED: " << s << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace switchyard::bench::live

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Switchyard vs kube-proxy (iptables, nftables) packet rates with live "
      "traffic in network namespaces; run as root");
  absl::ParseCommandLine(argc, argv);
  return switchyard::bench::live::Main();
}
