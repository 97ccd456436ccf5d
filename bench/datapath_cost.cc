// SPDX-License-Identifier: Apache-2.0
// yard-bench-datapath: what one packet costs in the tc datapath, measured
// with BPF_PROG_TEST_RUN (the kernel times `repeat` runs of the program on
// one packet and reports the mean), against the floor of an XDP program
// that only returns XDP_PASS.
//
//   yard-bench-datapath [--repeat N] [--runs K] [--services N] [--json FILE]
//
// The kernel runs the program `repeat` times on the same buffer, so the
// packet one run leaves is the input of the next. A translated packet is
// addressed to its backend, and a naive loop would time the non-service
// path from the second run on. So every case is built so that each run's
// output is again a packet of the same kind:
//
//   * The service frontends form a ring: frontend i's only backend is
//     frontend i+1's address and port. An established packet to frontend i
//     is translated to frontend i+1, whose flow is established too, and so
//     on round the ring: every run is a full established-flow translation
//     (service, flow and backend lookups, address and port rewrite with
//     checksum updates, counters).
//   * Replies: reply entries chained the same way, so each run rewrites
//     the source of a tracked reply to the next frontend.
//   * New flows: UDP over the same ring on a datapath loaded with a UDP
//     idle timeout of 0, so every run finds its flow expired and chooses
//     a backend again, writing both tracking entries anew. That is the
//     whole new-flow path except that the tracking entries replace
//     existing keys instead of adding fresh ones; the "fresh tuple" row
//     checks that difference with a new tuple per run at repeat 1 (which
//     adds the kernel timer's own cost to each sample).
//
// --services N sets the ring's length (at least 2, since a frontend cannot
// be its own backend). With a large N consecutive runs touch different
// service, slot, backend and flow entries, so lookups miss the caches the
// way traffic to many services does; with the default the same few
// entries stay hot.
//
// Each case is run --runs times; the table shows the median of the
// per-run means (the kernel reports whole nanoseconds).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "control/common/errno_status.h"
#include "control/kernel/datapath.h"
#include "control/kernel/datapath_maps.h"
#include "tests/packet/packet_builder.h"
#include "tests/packet/packet_types.h"
#include "tests/packet/prog_run.h"
#include "yard_xdp_pass.skel.h"

namespace switchyard::bench {
namespace {

using kernel::Datapath;
using kernel::DatapathConfig;
using kernel::DatapathMaps;
using packet::Bytes;
using packet::PacketBuilder;

constexpr int kTcActOk = 0;
constexpr int kXdpPass = 2;

constexpr char kClient[] = "10.244.0.5";
constexpr uint16_t kClientPort = 40000;
// A pod address that is no service: the pass-through case.
constexpr char kOtherPod[] = "10.244.99.99";

struct BenchConfig {
  uint32_t repeat = 1000000;
  uint32_t runs = 5;
  uint32_t services = 1;
  std::string json_path;  // empty: no JSON
};

struct CaseResult {
  std::string name;
  std::string note;
  std::vector<uint32_t> ns;  // per-run mean, ns per packet
  uint32_t repeat = 0;
  double median = 0;
};

struct Frontend {
  uint32_t addr_be;
  uint16_t port_be;
};

double Median(std::vector<uint32_t> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

// Distinct random frontends in 10.96.0.0/12, fixed seed so runs compare.
std::vector<Frontend> RandomFrontends(uint32_t n) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<uint32_t> host(1, (1u << 20) - 2);
  std::uniform_int_distribution<uint32_t> port(1, 65535);
  std::set<uint32_t> used;
  std::vector<Frontend> out;
  const uint32_t base = packet::ParseIp("10.96.0.0");
  while (out.size() < n) {
    const uint32_t addr = base | host(rng);
    if (!used.insert(addr).second) continue;
    out.push_back({htonl(addr), htons(static_cast<uint16_t>(port(rng)))});
  }
  return out;
}

absl::Status Check(bool ok, absl::string_view what) {
  return ok ? absl::OkStatus() : absl::InternalError(what);
}

// Writes the ring: frontend i (svc_id and rev_nat_id i+1) has one slot,
// backend i+1 = frontend (i+1) mod n. Add order: backends, slots, reverse
// NAT, frontends, then the wildcard entries.
absl::Status WriteRing(DatapathMaps& maps, const std::vector<Frontend>& ring,
                       uint8_t proto) {
  const uint32_t n = static_cast<uint32_t>(ring.size());
  for (uint32_t i = 0; i < n; ++i) {
    const Frontend& next = ring[(i + 1) % n];
    yard_backend4 be = {};
    be.addr = next.addr_be;
    be.port = next.port_be;
    be.state = YARD_BACKEND_ACTIVE;
    if (absl::Status s = maps.PutBackend(i + 1, be); !s.ok()) return s;
    if (absl::Status s = maps.PutSlot({i + 1, 1}, {i + 1}); !s.ok()) return s;
    yard_rnat4 rnat = {};
    rnat.addr = ring[i].addr_be;
    rnat.port = ring[i].port_be;
    if (absl::Status s = maps.PutRevNat(i + 1, rnat); !s.ok()) return s;
  }
  for (uint32_t i = 0; i < n; ++i) {
    yard_svc_value svc = {};
    svc.svc_id = i + 1;
    svc.rev_nat_id = i + 1;
    svc.count = 1;
    if (absl::Status s = maps.PutFrontend(
            kernel::ServiceKey(ring[i].addr_be, ring[i].port_be, proto), svc);
        !s.ok()) {
      return s;
    }
    yard_svc_value wildcard = {};
    wildcard.flags = YARD_SVC_F_WILDCARD;
    if (absl::Status s =
            maps.PutFrontend(kernel::WildcardKey(ring[i].addr_be), wildcard);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// Reply entries chained like the ring: a reply from frontend i's address
// and port gets frontend i+1's as its source.
absl::Status WriteReplyRing(DatapathMaps& maps,
                            const std::vector<Frontend>& ring) {
  const uint32_t n = static_cast<uint32_t>(ring.size());
  for (uint32_t i = 0; i < n; ++i) {
    yard_ct4_key key = {};
    key.saddr = ring[i].addr_be;
    key.daddr = packet::IpBe(kClient);
    key.sport = ring[i].port_be;
    key.dport = htons(kClientPort);
    key.proto = packet::kProtoTcp;
    key.dir = YARD_CT_REPLY;
    yard_ct4_value value = {};
    value.backend_id = i + 1;
    value.rev_nat_id = (i + 1) % n + 1;
    value.addr = packet::IpBe(kClient);
    value.port = htons(kClientPort);
    if (absl::Status s = maps.PutCt(key, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

DatapathConfig RingConfig(uint32_t ring, uint32_t udp_timeout_s) {
  DatapathConfig config;  // unpinned
  config.max_frontends = 2 * ring + 16;
  config.max_slots = ring + 16;
  config.max_backends = ring + 16;
  config.max_ct_entries = 4 * ring + 65536;
  config.udp_timeout_s = udp_timeout_s;
  return config;
}

// K runs of `repeat` each; every run must end with `verdict`.
absl::StatusOr<std::vector<uint32_t>> Measure(int prog_fd, const Bytes& frame,
                                              uint32_t repeat, uint32_t runs,
                                              int verdict) {
  std::vector<uint32_t> ns;
  for (uint32_t k = 0; k < runs; ++k) {
    absl::StatusOr<packet::ProgRun> run =
        packet::RunProg(prog_fd, frame, repeat);
    if (!run.ok()) return run.status();
    if (run->verdict != verdict) {
      return absl::InternalError(
          absl::StrCat("verdict ", run->verdict, ", expected ", verdict));
    }
    ns.push_back(run->duration_ns);
  }
  return ns;
}

absl::StatusOr<uint64_t> ForwardPackets(DatapathMaps& maps, uint32_t ring) {
  uint64_t sum = 0;
  for (uint32_t id = 1; id <= ring; ++id) {
    absl::StatusOr<yard_svc_stats> s = maps.ServiceStats(id);
    if (!s.ok()) return s.status();
    sum += s->forward.packets;
  }
  return sum;
}

absl::StatusOr<uint64_t> DropsAndRejects(DatapathMaps& maps) {
  uint64_t sum = 0;
  for (int r = YARD_REASON_TRUNCATED; r < YARD_REASON_MAX; ++r) {
    absl::StatusOr<yard_counter> c =
        maps.ReasonCounter(static_cast<yard_reason>(r));
    if (!c.ok()) return c.status();
    sum += c->packets;
  }
  return sum;
}

// The two floors: an XDP program that only passes (the floor of every
// per-packet cost) and a tc program that only passes (what a tc program
// pays under BPF_PROG_TEST_RUN before doing anything: skb set-up).
absl::StatusOr<std::vector<CaseResult>> Floors(const BenchConfig& cfg,
                                               const Bytes& frame) {
  yard_xdp_pass* skel = yard_xdp_pass__open_and_load();
  if (skel == nullptr) return ErrnoStatus(errno, "load yard_xdp_pass");
  absl::StatusOr<std::vector<uint32_t>> xdp =
      Measure(bpf_program__fd(skel->progs.yard_xdp_pass), frame, cfg.repeat,
              cfg.runs, kXdpPass);
  absl::StatusOr<std::vector<uint32_t>> tc =
      Measure(bpf_program__fd(skel->progs.yard_tc_pass), frame, cfg.repeat,
              cfg.runs, kTcActOk);
  yard_xdp_pass__destroy(skel);
  if (!xdp.ok()) return xdp.status();
  if (!tc.ok()) return tc.status();
  return std::vector<CaseResult>{
      {"xdp_pass (floor)", "XDP program returning XDP_PASS", *xdp, cfg.repeat},
      {"tc_pass (tc floor)", "tc program returning TC_ACT_OK", *tc,
       cfg.repeat}};
}

absl::StatusOr<std::vector<CaseResult>> RunBench(const BenchConfig& cfg) {
  const uint32_t ring = std::max<uint32_t>(2, cfg.services);
  const std::vector<Frontend> frontends = RandomFrontends(ring);
  const std::string first_addr = packet::FormatIp(ntohl(frontends[0].addr_be));
  const uint16_t first_port = ntohs(frontends[0].port_be);
  std::vector<CaseResult> results;

  // One frame size (54 bytes) for every case, so only the work differs.
  const Bytes established = PacketBuilder()
                                .Ipv4(kClient, first_addr)
                                .Tcp(kClientPort, first_port)
                                .Flags(packet::kTcpAck)
                                .Seq(1)
                                .AckSeq(1)
                                .Build();
  const Bytes reply = PacketBuilder()
                          .Ipv4(first_addr, kClient)
                          .Tcp(first_port, kClientPort)
                          .Flags(packet::kTcpAck)
                          .Seq(1)
                          .AckSeq(1)
                          .Build();
  const Bytes udp_new = PacketBuilder()
                            .Ipv4(kClient, first_addr)
                            .Udp(kClientPort, first_port)
                            .Payload(Bytes(12, 'q'))
                            .Build();
  const Bytes non_service = PacketBuilder()
                                .Ipv4(kClient, kOtherPod)
                                .Tcp(kClientPort, 8080)
                                .Flags(packet::kTcpAck)
                                .Seq(1)
                                .AckSeq(1)
                                .Build();

  absl::StatusOr<std::vector<CaseResult>> floors = Floors(cfg, established);
  if (!floors.ok()) return floors.status();
  results.insert(results.end(), floors->begin(), floors->end());

  // Established flows and replies.
  absl::StatusOr<std::unique_ptr<Datapath>> dp =
      Datapath::Load(RingConfig(ring, YARD_DEFAULT_UDP_TIMEOUT_S));
  if (!dp.ok()) return dp.status();
  DatapathMaps& maps = (*dp)->maps();
  if (absl::Status s = WriteRing(maps, frontends, packet::kProtoTcp); !s.ok()) {
    return s;
  }
  // One lap creates every flow of the ring; the measured runs find them.
  absl::StatusOr<std::vector<uint32_t>> warm =
      Measure((*dp)->from_pod_fd(), established, ring, 1, kTcActOk);
  if (!warm.ok()) return warm.status();
  if (absl::Status s = maps.ResetCounters(); !s.ok()) return s;
  absl::StatusOr<std::vector<uint32_t>> ns = Measure(
      (*dp)->from_pod_fd(), established, cfg.repeat, cfg.runs, kTcActOk);
  if (!ns.ok()) return ns.status();
  absl::StatusOr<uint64_t> translated = ForwardPackets(maps, ring);
  if (!translated.ok()) return translated.status();
  absl::StatusOr<std::vector<std::pair<yard_ct4_key, yard_ct4_value>>> ct =
      maps.DumpCt();
  if (!ct.ok()) return ct.status();
  // Proof that every run was a translation of an established flow: all of
  // them counted, and no flow was created after the warm-up lap.
  if (absl::Status s = Check(
          *translated == uint64_t{cfg.repeat} * cfg.runs &&
              ct->size() == 2u * ring,
          absl::StrCat("established: ", *translated, " packets translated, ",
                       ct->size(), " tracking entries"));
      !s.ok()) {
    return s;
  }
  results.push_back({"from_pod established flow",
                     "TCP ACK of a tracked flow: DNAT", *ns, cfg.repeat});

  if (absl::Status s = maps.ClearCt(); !s.ok()) return s;
  if (absl::Status s = WriteReplyRing(maps, frontends); !s.ok()) return s;
  ns = Measure((*dp)->to_pod_fd(), reply, cfg.repeat, cfg.runs, kTcActOk);
  if (!ns.ok()) return ns.status();
  uint64_t replies = 0;
  for (uint32_t id = 1; id <= ring; ++id) {
    absl::StatusOr<yard_svc_stats> st = maps.ServiceStats(id);
    if (!st.ok()) return st.status();
    replies += st->reply.packets;
  }
  if (absl::Status s =
          Check(replies == uint64_t{cfg.repeat} * cfg.runs,
                absl::StrCat("reply: ", replies, " packets translated"));
      !s.ok()) {
    return s;
  }
  results.push_back({"to_pod reply", "backend reply of a tracked flow: SNAT",
                     *ns, cfg.repeat});

  ns = Measure((*dp)->from_pod_fd(), non_service, cfg.repeat, cfg.runs,
               kTcActOk);
  if (!ns.ok()) return ns.status();
  results.push_back({"from_pod non-service packet",
                     "TCP to a pod address: lookups miss, passes", *ns,
                     cfg.repeat});

  // New flows with a fresh tuple per run: repeat 1, so each sample is one
  // packet plus the timer's cost. Sources vary over addresses and ports.
  {
    if (absl::Status s = maps.ClearCt(); !s.ok()) return s;
    const uint32_t samples = std::min<uint32_t>(cfg.repeat, 20000);
    std::vector<uint32_t> batch_means;
    const uint32_t per_batch = std::max<uint32_t>(1, samples / cfg.runs);
    uint64_t sum = 0;
    uint32_t in_batch = 0;
    for (uint32_t j = 0; j < per_batch * cfg.runs; ++j) {
      const Bytes syn = PacketBuilder()
                            .Ipv4(kClient, first_addr)
                            .Tcp(static_cast<uint16_t>(1024 + j), first_port)
                            .Flags(packet::kTcpSyn)
                            .Build();
      absl::StatusOr<std::vector<uint32_t>> one =
          Measure((*dp)->from_pod_fd(), syn, 1, 1, kTcActOk);
      if (!one.ok()) return one.status();
      sum += (*one)[0];
      if (++in_batch == per_batch) {
        batch_means.push_back(static_cast<uint32_t>(sum / per_batch));
        sum = 0;
        in_batch = 0;
      }
    }
    results.push_back(
        {"from_pod new flow, fresh tuple",
         absl::StrCat("TCP SYN, new tuple each run; repeat 1 x ", per_batch,
                      " per run, includes timer overhead"),
         batch_means, 1});
  }
  dp->reset();

  // New flows: UDP, idle timeout 0, so every run chooses again.
  dp = Datapath::Load(RingConfig(ring, 0));
  if (!dp.ok()) return dp.status();
  DatapathMaps& new_maps = (*dp)->maps();
  if (absl::Status s = WriteRing(new_maps, frontends, packet::kProtoUdp);
      !s.ok()) {
    return s;
  }
  warm = Measure((*dp)->from_pod_fd(), udp_new, ring, 1, kTcActOk);
  if (!warm.ok()) return warm.status();
  ns = Measure((*dp)->from_pod_fd(), udp_new, cfg.repeat, cfg.runs, kTcActOk);
  if (!ns.ok()) return ns.status();
  ct = new_maps.DumpCt();
  if (!ct.ok()) return ct.status();
  // A re-chosen flow starts its forward entry at 1 packet; an established
  // one would count up. Every forward entry must still say 1.
  for (const auto& [key, value] : *ct) {
    if (key.dir == YARD_CT_FORWARD && value.packets != 1) {
      return absl::InternalError(absl::StrCat(
          "new flow: a forward entry counts ", value.packets, " packets"));
    }
  }
  absl::StatusOr<uint64_t> drops = DropsAndRejects(new_maps);
  if (!drops.ok()) return drops.status();
  if (*drops != 0) {
    return absl::InternalError(absl::StrCat("new flow: ", *drops, " drops"));
  }
  results.push_back({"from_pod new flow",
                     "UDP, idle timeout 0: backend chosen, both CT entries "
                     "written, DNAT",
                     *ns, cfg.repeat});
  return results;
}

std::string JsonEscape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

absl::Status WriteJson(const BenchConfig& cfg, uint32_t ring,
                       const std::vector<CaseResult>& results, double floor) {
  std::ofstream out(cfg.json_path);
  if (!out) return absl::InternalError(absl::StrCat("open ", cfg.json_path));
  out << "{\n  \"repeat\": " << cfg.repeat << ",\n  \"runs\": " << cfg.runs
      << ",\n  \"services\": " << cfg.services << ",\n  \"ring\": " << ring
      << ",\n  \"cases\": [\n";
  for (size_t i = 0; i < results.size(); ++i) {
    const CaseResult& r = results[i];
    out << "    {\"name\": \"" << JsonEscape(r.name) << "\", \"note\": \""
        << JsonEscape(r.note) << "\", \"repeat\": " << r.repeat
        << ", \"ns_per_packet_median\": " << r.median
        << ", \"ratio_to_floor\": "
        << absl::StrFormat("%.2f", floor > 0 ? r.median / floor : 0)
        << ", \"ns_per_run\": [" << absl::StrJoin(r.ns, ", ") << "]}"
        << (i + 1 < results.size() ? "," : "") << "\n";
  }
  out << "  ]\n}\n";
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("write ", cfg.json_path));
  return absl::OkStatus();
}

void PrintTable(const BenchConfig& cfg, uint32_t ring,
                std::vector<CaseResult>& results) {
  utsname uts = {};
  uname(&uts);
  std::printf(
      "yard-bench-datapath: kernel %s, repeat %u, runs %u, "
      "services %u (ring of %u frontends)\n\n",
      uts.release, cfg.repeat, cfg.runs, cfg.services, ring);
  const double floor = results.empty() ? 0 : results[0].median;
  std::printf("%-32s %12s %9s   %s\n", "case", "ns/packet", "x floor",
              "per-run ns");
  for (const CaseResult& r : results) {
    std::printf("%-32s %12.1f %9.2f   %s\n", r.name.c_str(), r.median,
                floor > 0 ? r.median / floor : 0.0,
                absl::StrJoin(r.ns, " ").c_str());
  }
  std::printf("\n");
  for (const CaseResult& r : results) {
    std::printf("  %-30s %s\n", r.name.c_str(), r.note.c_str());
  }
}

void Usage() {
  std::fprintf(stderr,
               "usage: yard-bench-datapath [--repeat N] [--runs K] "
               "[--services N] [--json FILE]\n"
               "  --repeat N    packets per timed run (default 1000000)\n"
               "  --runs K      timed runs per case; the median is shown "
               "(default 5)\n"
               "  --services N  service frontends in the ring (default 1; "
               "at least 2 are used)\n"
               "  --json FILE   also write the results as JSON\n");
}

}  // namespace
}  // namespace switchyard::bench

int main(int argc, char** argv) {
  using switchyard::bench::BenchConfig;
  BenchConfig cfg;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      switchyard::bench::Usage();
      return 0;
    }
    if (i + 1 >= argc) {
      switchyard::bench::Usage();
      return 2;
    }
    const absl::string_view value = argv[++i];
    bool ok = true;
    if (arg == "--repeat") {
      ok = absl::SimpleAtoi(value, &cfg.repeat) && cfg.repeat >= 1;
    } else if (arg == "--runs") {
      ok = absl::SimpleAtoi(value, &cfg.runs) && cfg.runs >= 1;
    } else if (arg == "--services") {
      ok = absl::SimpleAtoi(value, &cfg.services) && cfg.services >= 1 &&
           cfg.services <= 1000000;
    } else if (arg == "--json") {
      cfg.json_path = std::string(value);
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "yard-bench-datapath: bad argument %s %s\n",
                   argv[i - 1], argv[i]);
      switchyard::bench::Usage();
      return 2;
    }
  }
  switchyard::kernel::RouteLibbpfLogs();
  absl::StatusOr<std::vector<switchyard::bench::CaseResult>> results =
      switchyard::bench::RunBench(cfg);
  if (!results.ok()) {
    std::fprintf(stderr, "yard-bench-datapath: %s\n",
                 results.status().ToString().c_str());
    return 1;
  }
  for (auto& r : *results) r.median = switchyard::bench::Median(r.ns);
  const uint32_t ring = std::max<uint32_t>(2, cfg.services);
  switchyard::bench::PrintTable(cfg, ring, *results);
  if (!cfg.json_path.empty()) {
    absl::Status s =
        switchyard::bench::WriteJson(cfg, ring, *results, (*results)[0].median);
    if (!s.ok()) {
      std::fprintf(stderr, "yard-bench-datapath: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  return 0;
}
