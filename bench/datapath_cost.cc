// SPDX-License-Identifier: Apache-2.0
// yard-bench-datapath: what one packet costs in the tc datapath, measured
// with BPF_PROG_TEST_RUN (the kernel times `repeat` runs of the program on
// one packet and reports the mean), against the floor of an XDP program
// that only returns XDP_PASS.
//
//   yard-bench-datapath [--repeat N] [--runs K] [--services N[,N...]]
//                       [--json FILE]
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
//     adds the kernel timer's own cost to each sample), each to a service
//     picked at random. The "one packet per run" floor times the tc floor
//     program the same way, so that part of the sample can be told from
//     the program's.
//   * New flows, maglev: the same ring with every frontend's policy set to
//     Maglev and a lookup table per service (its one backend in every
//     entry: the lookup costs the same whatever the table holds). Tables
//     have the default 16381 entries while they fit in 64 MiB, else the
//     largest prime that does (named in the row), so 10,000 services do
//     not take 640 MiB of kernel memory.
//   * Policies side by side: the new-flow case again with four slots per
//     service (all holding the ring's next frontend, so the ring holds
//     whichever slot is chosen), chosen at random, then by least
//     connections (which reads every slot's count, and gives back and
//     takes a count per run).
//
// --services takes a list of counts (default 1,1000,10000,100000), each
// measured in turn in the same run on a datapath sized for it, and each
// with its own floors, so its ratios do not depend on another count's
// noise. A count of 1 uses a ring of 2 (a frontend cannot be its own
// backend). Service addresses are random in 10.96.0.0/12, and the ring
// visits the ids behind them (service, backend, reverse NAT, counters) in
// a random order, so consecutive runs touch unrelated hash buckets and
// array entries: with many services, lookups miss the caches the way
// traffic to many services does; with one, the same entries stay hot.
// Each timed run starts at a frontend picked at random.
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
#include <cstdlib>
#include <fstream>
#include <functional>
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
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/common/errno_status.h"
#include "control/format/json.h"
#include "control/format/value.h"
#include "control/kernel/datapath.h"
#include "control/kernel/datapath_maps.h"
#include "control/packet/packet_builder.h"
#include "control/packet/packet_types.h"
#include "control/translate/lb_policy.h"
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
// Fixed seeds, so runs compare.
constexpr uint32_t kAddressSeed = 20240601;
constexpr uint32_t kOrderSeed = 20240602;

struct BenchConfig {
  uint32_t repeat = 1000000;
  uint32_t runs = 5;
  std::vector<uint32_t> services = {1, 1000, 10000, 100000};
  std::string json_path;  // empty: no JSON
};

struct CaseResult {
  std::string name;
  std::string note;
  std::vector<uint32_t> ns;  // per-run mean, ns per packet
  uint32_t repeat = 0;
  double median = 0;
};

// One service count's results; cases[0] is the XDP_PASS floor.
struct CountResult {
  uint32_t services = 0;
  uint32_t ring = 0;
  double load_ms = 0;  // writing the maps, for the curious
  std::vector<CaseResult> cases;
};

struct Frontend {
  uint32_t addr_be;
  uint16_t port_be;
};

// The ring: position i holds frontend `at[i]`, whose service, backend,
// reverse-NAT and counter index is `id[i]`; its backend is at[i+1].
struct Ring {
  std::vector<Frontend> at;
  std::vector<uint32_t> id;  // a permutation of 1..n
  uint32_t size() const { return static_cast<uint32_t>(at.size()); }
};

double Median(std::vector<uint32_t> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

// Distinct random frontends in 10.96.0.0/12, visited in a random order of
// ids.
Ring RandomRing(uint32_t n) {
  std::mt19937 rng(kAddressSeed);
  std::uniform_int_distribution<uint32_t> host(1, (1u << 20) - 2);
  std::uniform_int_distribution<uint32_t> port(1, 65535);
  std::set<uint32_t> used;
  Ring ring;
  const uint32_t base = packet::ParseIp("10.96.0.0");
  while (ring.at.size() < n) {
    const uint32_t addr = base | host(rng);
    if (!used.insert(addr).second) continue;
    ring.at.push_back({htonl(addr), htons(static_cast<uint16_t>(port(rng)))});
  }
  ring.id.resize(n);
  for (uint32_t i = 0; i < n; ++i) ring.id[i] = i + 1;
  std::shuffle(ring.id.begin(), ring.id.end(), std::mt19937(kOrderSeed));
  return ring;
}

absl::Status Check(bool ok, absl::string_view what) {
  return ok ? absl::OkStatus() : absl::InternalError(what);
}

// How each frontend of the ring chooses: its policy, over `slots` slots
// (all holding its one backend, so any choice continues the ring; with
// several, a policy that looks at each slot pays for each).
struct Choice {
  uint8_t policy = YARD_POLICY_RANDOM;
  uint16_t slots = 1;
};

// Writes the ring: the frontend at position i (svc_id, rev_nat_id and
// backend id[i]) has choice.slots slots, whose backend is the frontend at
// i+1. Add order: backends, slots, reverse NAT, frontends, then the
// wildcard entries.
absl::Status WriteRing(DatapathMaps& maps, const Ring& ring, uint8_t proto,
                       Choice choice = {}) {
  const uint32_t n = ring.size();
  for (uint32_t i = 0; i < n; ++i) {
    const Frontend& next = ring.at[(i + 1) % n];
    const uint32_t id = ring.id[i];
    yard_backend4 be = {};
    be.addr = next.addr_be;
    be.port = next.port_be;
    be.state = YARD_BACKEND_ACTIVE;
    if (absl::Status s = maps.PutBackend(id, be); !s.ok()) return s;
    for (uint32_t slot = 1; slot <= choice.slots; ++slot) {
      if (absl::Status s = maps.PutSlot({id, slot}, {id}); !s.ok()) return s;
    }
    yard_rnat4 rnat = {};
    rnat.addr = ring.at[i].addr_be;
    rnat.port = ring.at[i].port_be;
    if (absl::Status s = maps.PutRevNat(id, rnat); !s.ok()) return s;
  }
  for (uint32_t i = 0; i < n; ++i) {
    yard_svc_value svc = {};
    svc.svc_id = ring.id[i];
    svc.rev_nat_id = ring.id[i];
    svc.count = choice.slots;
    svc.policy = choice.policy;
    if (absl::Status s = maps.PutFrontend(
            kernel::ServiceKey(ring.at[i].addr_be, ring.at[i].port_be, proto),
            svc);
        !s.ok()) {
      return s;
    }
    yard_svc_value wildcard = {};
    wildcard.flags = YARD_SVC_F_WILDCARD;
    if (absl::Status s =
            maps.PutFrontend(kernel::WildcardKey(ring.at[i].addr_be), wildcard);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// Reply entries chained like the ring: a reply from the address and port
// at position i gets those at i+1 as its source.
absl::Status WriteReplyRing(DatapathMaps& maps, const Ring& ring) {
  const uint32_t n = ring.size();
  for (uint32_t i = 0; i < n; ++i) {
    yard_ct4_key key = {};
    key.saddr = ring.at[i].addr_be;
    key.daddr = packet::IpBe(kClient);
    key.sport = ring.at[i].port_be;
    key.dport = htons(kClientPort);
    key.proto = packet::kProtoTcp;
    key.dir = YARD_CT_REPLY;
    yard_ct4_value value = {};
    value.backend_id = ring.id[i];
    value.rev_nat_id = ring.id[(i + 1) % n];
    value.addr = packet::IpBe(kClient);
    value.port = htons(kClientPort);
    value.nat_addr = ring.at[(i + 1) % n].addr_be;
    value.nat_port = ring.at[(i + 1) % n].port_be;
    if (absl::Status s = maps.PutCt(key, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Endpoints per service in the rows that compare policies.
constexpr uint16_t kChoiceSlots = 4;

DatapathConfig RingConfig(uint32_t ring, uint32_t udp_timeout_s) {
  DatapathConfig config;  // unpinned
  config.max_frontends = 2 * ring + 16;
  config.max_slots = kChoiceSlots * ring + 16;
  config.max_backends = ring + 16;
  config.max_ct_entries = 4 * ring + 65536;
  config.max_maglev_tables = ring + 16;
  config.udp_timeout_s = udp_timeout_s;
  // As for the agent: YARD_DATAPATH_FEATURES_OFF=coarse_clock measures the
  // fallback's cost (a bad list was refused in main).
  if (const char* off = getenv("YARD_DATAPATH_FEATURES_OFF")) {
    config.features_off =
        kernel::ParseFeatureList(off).value_or(std::vector<kernel::Feature>());
  }
  return config;
}

// One timed run of `repeat` per frame (so len(frames) runs); every run must
// end with `verdict`.
absl::StatusOr<std::vector<uint32_t>> Measure(int prog_fd,
                                              const std::vector<Bytes>& frames,
                                              uint32_t repeat, int verdict) {
  std::vector<uint32_t> ns;
  for (const Bytes& frame : frames) {
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

absl::StatusOr<std::vector<uint32_t>> Measure(int prog_fd, const Bytes& frame,
                                              uint32_t repeat, uint32_t runs,
                                              int verdict) {
  return Measure(prog_fd, std::vector<Bytes>(runs, frame), repeat, verdict);
}

// Packets measured one per test run, as a connection's first packet must
// be (each run changes the maps for the next): `samples` runs at repeat 1,
// frame_of(j) the j-th run's frame, averaged in `runs` batches. Each
// sample holds the kernel's timer and set-up for one run, not only the
// program: the "one packet per run" floor measures that part alone.
absl::StatusOr<std::vector<uint32_t>> MeasureOnePerRun(
    int prog_fd, uint32_t samples, uint32_t runs, int verdict,
    const std::function<Bytes(uint32_t)>& frame_of) {
  std::vector<uint32_t> batch_means;
  const uint32_t per_batch = std::max<uint32_t>(1, samples / runs);
  for (uint32_t batch = 0; batch < runs; ++batch) {
    uint64_t sum = 0;
    for (uint32_t k = 0; k < per_batch; ++k) {
      absl::StatusOr<std::vector<uint32_t>> one =
          Measure(prog_fd, frame_of(batch * per_batch + k), 1, 1, verdict);
      if (!one.ok()) return one.status();
      sum += (*one)[0];
    }
    batch_means.push_back(static_cast<uint32_t>(sum / per_batch));
  }
  return batch_means;
}

// Runs of one packet each: at most this many per case, split over --runs.
uint32_t OnePerRunSamples(const BenchConfig& cfg) {
  return std::min<uint32_t>(cfg.repeat, 20000);
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

// The floors: an XDP program that only passes (the floor of every
// per-packet cost), a tc program that only passes (what a tc program pays
// under BPF_PROG_TEST_RUN before doing anything: skb set-up), and the same
// tc program timed one packet per run, as the fresh-tuple case must be:
// the kernel's timer and per-run set-up, which that case's samples hold
// beside the program's own cost.
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
  absl::StatusOr<std::vector<uint32_t>> tc_one = MeasureOnePerRun(
      bpf_program__fd(skel->progs.yard_tc_pass), OnePerRunSamples(cfg),
      cfg.runs, kTcActOk, [&](uint32_t) { return frame; });
  yard_xdp_pass__destroy(skel);
  if (!xdp.ok()) return xdp.status();
  if (!tc.ok()) return tc.status();
  if (!tc_one.ok()) return tc_one.status();
  return std::vector<CaseResult>{
      {"xdp_pass (floor)", "XDP program returning XDP_PASS", *xdp, cfg.repeat},
      {"tc_pass (tc floor)", "tc program returning TC_ACT_OK", *tc, cfg.repeat},
      {"tc_pass, one packet per run",
       "the tc floor timed as the fresh tuple is: repeat 1, so the kernel's "
       "timer and per-run set-up are in it",
       *tc_one, 1}};
}

Bytes TcpAck(const Frontend& from, bool to_service) {
  const std::string addr = packet::FormatIp(ntohl(from.addr_be));
  const uint16_t port = ntohs(from.port_be);
  PacketBuilder b;
  if (to_service) {
    b.Ipv4(kClient, addr).Tcp(kClientPort, port);
  } else {
    b.Ipv4(addr, kClient).Tcp(port, kClientPort);
  }
  return b.Flags(packet::kTcpAck).Seq(1).AckSeq(1).Build();
}

Bytes UdpToService(const Frontend& to) {
  return PacketBuilder()
      .Ipv4(kClient, packet::FormatIp(ntohl(to.addr_be)))
      .Udp(kClientPort, ntohs(to.port_be))
      .Payload(Bytes(12, 'q'))
      .Build();
}

// One frame per timed run, each starting the ring at a frontend picked at
// random.
std::vector<Bytes> RandomStarts(const Ring& ring, uint32_t runs,
                                std::mt19937& rng,
                                Bytes (*frame)(const Frontend&)) {
  std::uniform_int_distribution<uint32_t> pick(0, ring.size() - 1);
  std::vector<Bytes> frames;
  for (uint32_t k = 0; k < runs; ++k)
    frames.push_back(frame(ring.at[pick(rng)]));
  return frames;
}

Bytes EstablishedAck(const Frontend& f) { return TcpAck(f, true); }
Bytes ReplyAck(const Frontend& f) { return TcpAck(f, false); }

// Established flows: one lap creates every flow of the ring; the measured
// runs find them.
absl::StatusOr<CaseResult> EstablishedCase(const BenchConfig& cfg, Datapath& dp,
                                           const Ring& ring,
                                           std::mt19937& rng) {
  const uint32_t n = ring.size();
  DatapathMaps& maps = dp.maps();
  absl::StatusOr<std::vector<uint32_t>> warm =
      Measure(dp.from_pod_fd(), EstablishedAck(ring.at[0]), n, 1, kTcActOk);
  if (!warm.ok()) return warm.status();
  if (absl::Status s = maps.ResetCounters(); !s.ok()) return s;
  absl::StatusOr<std::vector<uint32_t>> ns = Measure(
      dp.from_pod_fd(), RandomStarts(ring, cfg.runs, rng, EstablishedAck),
      cfg.repeat, kTcActOk);
  if (!ns.ok()) return ns.status();
  absl::StatusOr<uint64_t> translated = ForwardPackets(maps, n);
  if (!translated.ok()) return translated.status();
  absl::StatusOr<std::vector<std::pair<yard_ct4_key, yard_ct4_value>>> ct =
      maps.DumpCt();
  if (!ct.ok()) return ct.status();
  // Proof that every run was a translation of an established flow: all of
  // them counted, and no flow was created after the warm-up lap.
  if (absl::Status s = Check(
          *translated == uint64_t{cfg.repeat} * cfg.runs &&
              ct->size() == 2u * n,
          absl::StrCat("established: ", *translated, " packets translated, ",
                       ct->size(), " tracking entries"));
      !s.ok()) {
    return s;
  }
  return CaseResult{"from_pod established flow",
                    "TCP ACK of a tracked flow: DNAT", *ns, cfg.repeat};
}

// Backends' answers of flows written straight into the maps.
absl::StatusOr<CaseResult> ReplyCase(const BenchConfig& cfg, Datapath& dp,
                                     const Ring& ring, std::mt19937& rng) {
  DatapathMaps& maps = dp.maps();
  if (absl::Status s = maps.ClearCt(); !s.ok()) return s;
  if (absl::Status s = WriteReplyRing(maps, ring); !s.ok()) return s;
  absl::StatusOr<std::vector<uint32_t>> ns =
      Measure(dp.to_pod_fd(), RandomStarts(ring, cfg.runs, rng, ReplyAck),
              cfg.repeat, kTcActOk);
  if (!ns.ok()) return ns.status();
  uint64_t replies = 0;
  for (uint32_t id = 1; id <= ring.size(); ++id) {
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
  return CaseResult{"to_pod reply", "backend reply of a tracked flow: SNAT",
                    *ns, cfg.repeat};
}

// A packet for no service: every lookup misses and it passes. One frame
// size (54 bytes) as the TCP cases, so only the work differs.
absl::StatusOr<CaseResult> NonServiceCase(const BenchConfig& cfg,
                                          Datapath& dp) {
  const Bytes non_service = PacketBuilder()
                                .Ipv4(kClient, kOtherPod)
                                .Tcp(kClientPort, 8080)
                                .Flags(packet::kTcpAck)
                                .Seq(1)
                                .AckSeq(1)
                                .Build();
  absl::StatusOr<std::vector<uint32_t>> ns =
      Measure(dp.from_pod_fd(), non_service, cfg.repeat, cfg.runs, kTcActOk);
  if (!ns.ok()) return ns.status();
  return CaseResult{"from_pod non-service packet",
                    "TCP to a pod address: lookups miss, passes", *ns,
                    cfg.repeat};
}

// New flows with a fresh tuple per run, each to a service picked at
// random: repeat 1, so each sample is one packet plus the timer's cost
// (the "one packet per run" floor). Sources vary over ports.
absl::StatusOr<CaseResult> FreshTupleCase(const BenchConfig& cfg, Datapath& dp,
                                          const Ring& ring, std::mt19937& rng) {
  if (absl::Status s = dp.maps().ClearCt(); !s.ok()) return s;
  const uint32_t samples = OnePerRunSamples(cfg);
  std::uniform_int_distribution<uint32_t> pick(0, ring.size() - 1);
  absl::StatusOr<std::vector<uint32_t>> ns = MeasureOnePerRun(
      dp.from_pod_fd(), samples, cfg.runs, kTcActOk, [&](uint32_t j) {
        const Frontend& to = ring.at[pick(rng)];
        return PacketBuilder()
            .Ipv4(kClient, packet::FormatIp(ntohl(to.addr_be)))
            .Tcp(static_cast<uint16_t>(1024 + j % 60000), ntohs(to.port_be))
            .Flags(packet::kTcpSyn)
            .Build();
      });
  if (!ns.ok()) return ns.status();
  return CaseResult{
      "from_pod new flow, fresh tuple",
      absl::StrCat("TCP SYN, new tuple and random service each run; "
                   "repeat 1 x ",
                   std::max<uint32_t>(1, samples / cfg.runs),
                   " per run, includes timer overhead"),
      *std::move(ns), 1};
}

// The Maglev table size for n services: the default while all tables fit
// in 64 MiB, else the largest prime that does.
uint32_t MaglevBenchTableSize(uint32_t n) {
  constexpr uint64_t kBudgetEntries = (64u << 20) / sizeof(uint32_t);
  uint32_t size = static_cast<uint32_t>(
      std::min<uint64_t>(YARD_DEFAULT_MAGLEV_TABLE_SIZE, kBudgetEntries / n));
  while (size > 2 && !translate::IsPrime(size)) --size;
  return size;
}

// Turns every frontend of the ring to Maglev: the tables first (every
// entry the frontend's one backend), then the frontends. The tables go in
// as the agent writes them, many per call: the kernel waits a grace period
// after each call that writes a map of maps (17 ms on the bench VM, so
// one table per call would have kept 100,000 services loading for about
// half an hour).
absl::Status MakeRingMaglev(DatapathMaps& maps, const Ring& ring, uint8_t proto,
                            uint32_t size) {
  std::vector<std::vector<uint32_t>> tables;
  tables.reserve(ring.size());
  for (uint32_t i = 0; i < ring.size(); ++i) {
    tables.emplace_back(size + 1, ring.id[i]);
    tables.back()[0] = size;
  }
  const absl::Span<const uint32_t> ids = absl::MakeConstSpan(ring.id);
  for (size_t from = 0; from < tables.size();) {
    uint32_t done = 0;
    absl::Status s = maps.PutMaglevTables(
        ids.subspan(from), absl::MakeConstSpan(tables).subspan(from), done);
    if (absl::IsUnimplemented(s) && done == 0) {
      // No batch calls for maps of maps here: one table per call.
      for (; from < tables.size(); ++from) {
        if (s = maps.PutMaglevTable(ring.id[from], tables[from]); !s.ok()) {
          return s;
        }
      }
      break;
    }
    if (!s.ok()) return s;
    from += done;
  }
  for (uint32_t i = 0; i < ring.size(); ++i) {
    yard_svc_value svc = {};
    svc.svc_id = ring.id[i];
    svc.rev_nat_id = ring.id[i];
    svc.count = 1;
    svc.policy = YARD_POLICY_MAGLEV;
    if (absl::Status s = maps.PutFrontend(
            kernel::ServiceKey(ring.at[i].addr_be, ring.at[i].port_be, proto),
            svc);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// New flows: UDP, idle timeout 0, so every run chooses again (a datapath
// of its own). With least-connection, each run also gives back the count
// of the flow it replaces and takes one: a flow's whole counting.
absl::StatusOr<CaseResult> RechosenCase(const BenchConfig& cfg,
                                        const Ring& ring, std::mt19937& rng,
                                        Choice choice, std::string name,
                                        std::string note) {
  const uint32_t n = ring.size();
  absl::StatusOr<std::unique_ptr<Datapath>> dp =
      Datapath::Load(RingConfig(n, 0));
  if (!dp.ok()) return dp.status();
  DatapathMaps& maps = (*dp)->maps();
  if (absl::Status s = WriteRing(maps, ring, packet::kProtoUdp, choice);
      !s.ok()) {
    return s;
  }
  const uint32_t table_size = MaglevBenchTableSize(n);
  if (choice.policy == YARD_POLICY_MAGLEV) {
    if (absl::Status s =
            MakeRingMaglev(maps, ring, packet::kProtoUdp, table_size);
        !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<std::vector<uint32_t>> warm =
      Measure((*dp)->from_pod_fd(), UdpToService(ring.at[0]), n, 1, kTcActOk);
  if (!warm.ok()) return warm.status();
  absl::StatusOr<std::vector<uint32_t>> ns = Measure(
      (*dp)->from_pod_fd(), RandomStarts(ring, cfg.runs, rng, UdpToService),
      cfg.repeat, kTcActOk);
  if (!ns.ok()) return ns.status();
  absl::StatusOr<std::vector<std::pair<yard_ct4_key, yard_ct4_value>>> ct =
      maps.DumpCt();
  if (!ct.ok()) return ct.status();
  // A re-chosen flow starts its forward entry at 1 packet; an established
  // one would count up. Every forward entry must still say 1.
  for (const auto& [key, value] : *ct) {
    if (key.dir == YARD_CT_FORWARD && value.packets != 1) {
      return absl::InternalError(absl::StrCat(
          "new flow: a forward entry counts ", value.packets, " packets"));
    }
  }
  absl::StatusOr<uint64_t> drops = DropsAndRejects(maps);
  if (!drops.ok()) return drops.status();
  if (*drops != 0) {
    return absl::InternalError(absl::StrCat("new flow: ", *drops, " drops"));
  }
  // Least-connection: each service has one flow at a time, so every
  // backend counts exactly one, however many times it was replaced.
  if (choice.policy == YARD_POLICY_LEAST_CONN) {
    for (uint32_t id = 1; id <= n; ++id) {
      absl::StatusOr<yard_lc_count> c = maps.LeastConnCount(id);
      if (!c.ok()) return c.status();
      if (static_cast<uint32_t>(c->word) != 1) {
        return absl::InternalError(
            absl::StrCat("least-conn new flow: backend ", id, " counts ",
                         static_cast<int32_t>(c->word), " flows, not 1"));
      }
    }
  }
  return CaseResult{std::move(name), std::move(note), *ns, cfg.repeat};
}

absl::StatusOr<CountResult> RunCount(const BenchConfig& cfg,
                                     uint32_t services) {
  CountResult out;
  out.services = services;
  out.ring = std::max<uint32_t>(2, services);
  const uint32_t n = out.ring;
  const Ring ring = RandomRing(n);
  std::mt19937 rng(kOrderSeed + services);
  std::vector<CaseResult>& results = out.cases;

  absl::StatusOr<std::vector<CaseResult>> floors =
      Floors(cfg, EstablishedAck(ring.at[0]));
  if (!floors.ok()) return floors.status();
  results.insert(results.end(), floors->begin(), floors->end());

  absl::StatusOr<std::unique_ptr<Datapath>> dp =
      Datapath::Load(RingConfig(n, YARD_DEFAULT_UDP_TIMEOUT_S));
  if (!dp.ok()) return dp.status();
  const absl::Time load_start = absl::Now();
  if (absl::Status s = WriteRing((*dp)->maps(), ring, packet::kProtoTcp);
      !s.ok()) {
    return s;
  }
  out.load_ms = absl::ToDoubleMilliseconds(absl::Now() - load_start);
  auto add = [&](absl::StatusOr<CaseResult> result) {
    if (result.ok()) results.push_back(*std::move(result));
    return result.status();
  };
  // In this order: each case starts from what the one before left.
  if (absl::Status s = add(EstablishedCase(cfg, **dp, ring, rng)); !s.ok()) {
    return s;
  }
  if (absl::Status s = add(ReplyCase(cfg, **dp, ring, rng)); !s.ok()) return s;
  if (absl::Status s = add(NonServiceCase(cfg, **dp)); !s.ok()) return s;
  if (absl::Status s = add(FreshTupleCase(cfg, **dp, ring, rng)); !s.ok()) {
    return s;
  }
  dp->reset();
  if (absl::Status s = add(RechosenCase(
          cfg, ring, rng, {}, "from_pod new flow",
          "UDP, idle timeout 0: backend chosen, both CT entries written, "
          "DNAT"));
      !s.ok()) {
    return s;
  }
  // The policies side by side, over kChoiceSlots endpoints each.
  if (absl::Status s = add(
          RechosenCase(cfg, ring, rng, {YARD_POLICY_RANDOM, kChoiceSlots},
                       absl::StrCat("new flow, random, ", kChoiceSlots, " ep"),
                       absl::StrCat("as \"from_pod new flow\", ", kChoiceSlots,
                                    " endpoints, random choice")));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = add(RechosenCase(
          cfg, ring, rng, {YARD_POLICY_LEAST_CONN, kChoiceSlots},
          absl::StrCat("new flow, least-conn, ", kChoiceSlots, " ep"),
          absl::StrCat("the same, least-connection: every endpoint's count "
                       "read, the old flow's count given back, the new "
                       "one's taken")));
      !s.ok()) {
    return s;
  }
  // Maglev: one backend per service, the table full of it (the lookup
  // costs the same whatever the table holds). The summary prints one note
  // per case for every count: it says how the size is chosen.
  if (absl::Status s = add(RechosenCase(
          cfg, ring, rng, {YARD_POLICY_MAGLEV, 1}, "from_pod new flow, maglev",
          "as new flow, chosen by a Maglev table per service: 16381 entries "
          "up to 1024 services, then the largest prime that keeps all within "
          "64 MiB (1669 at 10,000)"));
      !s.ok()) {
    return s;
  }
  for (CaseResult& r : results) r.median = Median(r.ns);
  return out;
}

double Ratio(double ns, double floor) { return floor > 0 ? ns / floor : 0; }

format::Value ResultsJson(const BenchConfig& cfg,
                          const std::vector<CountResult>& counts) {
  using format::Value;
  utsname uts = {};
  uname(&uts);
  Value doc = Value::Map();
  doc.Set("kernel", Value::String(uts.release));
  doc.Set("repeat", Value::Int(cfg.repeat));
  doc.Set("runs", Value::Int(cfg.runs));
  Value count_list = Value::List();
  for (const CountResult& count : counts) {
    const double floor = count.cases.empty() ? 0 : count.cases[0].median;
    Value c = Value::Map();
    c.Set("services", Value::Int(count.services));
    c.Set("ring", Value::Int(count.ring));
    c.Set("map_write_ms", Value::Fixed(count.load_ms, 1));
    // Medians of whole nanoseconds: .5 at most.
    c.Set("xdp_floor_ns", Value::Fixed(floor, 1));
    Value cases = Value::List();
    for (const CaseResult& r : count.cases) {
      Value v = Value::Map();
      v.Set("name", Value::String(r.name));
      v.Set("note", Value::String(r.note));
      v.Set("repeat", Value::Int(r.repeat));
      v.Set("ns_per_packet_median", Value::Fixed(r.median, 1));
      v.Set("ratio_to_floor", Value::Fixed(Ratio(r.median, floor), 2));
      Value runs = Value::List();
      for (uint32_t ns : r.ns) runs.Append(Value::Int(ns));
      v.Set("ns_per_run", std::move(runs));
      cases.Append(std::move(v));
    }
    c.Set("cases", std::move(cases));
    count_list.Append(std::move(c));
  }
  doc.Set("counts", std::move(count_list));
  return doc;
}

absl::Status WriteJson(const BenchConfig& cfg,
                       const std::vector<CountResult>& counts) {
  std::ofstream out(cfg.json_path);
  if (!out) return absl::InternalError(absl::StrCat("open ", cfg.json_path));
  out << format::WriteJson(ResultsJson(cfg, counts));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("write ", cfg.json_path));
  return absl::OkStatus();
}

void PrintCount(const CountResult& count) {
  const double floor = count.cases.empty() ? 0 : count.cases[0].median;
  std::printf("services %u (ring of %u frontends, maps written in %.0f ms)\n",
              count.services, count.ring, count.load_ms);
  std::printf("  %-32s %10s %8s   %s\n", "case", "ns/packet", "x floor",
              "per-run ns");
  for (const CaseResult& r : count.cases) {
    std::printf("  %-32s %10.1f %8.2f   %s\n", r.name.c_str(), r.median,
                Ratio(r.median, floor), absl::StrJoin(r.ns, " ").c_str());
  }
  std::printf("\n");
  std::fflush(stdout);
}

// Cases down, counts across: ns/packet (x its own XDP floor).
void PrintSummary(const std::vector<CountResult>& counts) {
  if (counts.empty()) return;
  std::printf("%-32s", "ns/packet (x XDP floor)");
  for (const CountResult& c : counts) {
    std::printf(" %18s", absl::StrCat(c.services, " svc").c_str());
  }
  std::printf("\n");
  for (size_t i = 0; i < counts[0].cases.size(); ++i) {
    std::printf("%-32s", counts[0].cases[i].name.c_str());
    for (const CountResult& c : counts) {
      const double floor = c.cases[0].median;
      std::printf(" %18s", absl::StrFormat("%.0f (%.1fx)", c.cases[i].median,
                                           Ratio(c.cases[i].median, floor))
                               .c_str());
    }
    std::printf("\n");
  }
  std::printf("\n");
  for (const CaseResult& r : counts[0].cases) {
    std::printf("  %-30s %s\n", r.name.c_str(), r.note.c_str());
  }
}

void Usage() {
  std::fprintf(stderr,
               "usage: yard-bench-datapath [--repeat N] [--runs K] "
               "[--services N[,N...]] [--json FILE]\n"
               "  --repeat N    packets per timed run (default 1000000)\n"
               "  --runs K      timed runs per case; the median is shown "
               "(default 5)\n"
               "  --services L  service counts, each measured in turn "
               "(default 1,1000,10000,100000; at most 1000000)\n"
               "  --json FILE   also write the results as JSON, one entry "
               "per count\n");
}

bool ParseCounts(absl::string_view value, std::vector<uint32_t>& out) {
  out.clear();
  for (absl::string_view part : absl::StrSplit(value, ',')) {
    uint32_t n = 0;
    if (!absl::SimpleAtoi(part, &n) || n < 1 || n > 1000000) return false;
    out.push_back(n);
  }
  return !out.empty();
}

}  // namespace
}  // namespace switchyard::bench

int main(int argc, char** argv) {
  using switchyard::bench::BenchConfig;
  BenchConfig cfg;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      switchyard::bench::Usage();
      return 0;
    }
    // --flag=value or --flag value.
    absl::string_view value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      switchyard::bench::Usage();
      return 2;
    }
    bool ok = true;
    if (arg == "--repeat") {
      ok = absl::SimpleAtoi(value, &cfg.repeat) && cfg.repeat >= 1;
    } else if (arg == "--runs") {
      ok = absl::SimpleAtoi(value, &cfg.runs) && cfg.runs >= 1;
    } else if (arg == "--services") {
      ok = switchyard::bench::ParseCounts(value, cfg.services);
    } else if (arg == "--json") {
      cfg.json_path = std::string(value);
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "yard-bench-datapath: bad argument %s %s\n",
                   std::string(arg).c_str(), std::string(value).c_str());
      switchyard::bench::Usage();
      return 2;
    }
  }
  switchyard::kernel::RouteLibbpfLogs();
  const char* off = getenv("YARD_DATAPATH_FEATURES_OFF");
  if (off != nullptr && !switchyard::kernel::ParseFeatureList(off).ok()) {
    std::fprintf(
        stderr, "yard-bench-datapath: YARD_DATAPATH_FEATURES_OFF=%s: %s\n", off,
        switchyard::kernel::ParseFeatureList(off).status().ToString().c_str());
    return 2;
  }
  if (off != nullptr) std::printf("features off: %s\n", off);
  utsname uts = {};
  uname(&uts);
  std::printf("yard-bench-datapath: kernel %s, repeat %u, runs %u\n\n",
              uts.release, cfg.repeat, cfg.runs);
  std::vector<switchyard::bench::CountResult> counts;
  for (uint32_t services : cfg.services) {
    absl::StatusOr<switchyard::bench::CountResult> count =
        switchyard::bench::RunCount(cfg, services);
    if (!count.ok()) {
      std::fprintf(stderr, "yard-bench-datapath: %u services: %s\n", services,
                   count.status().ToString().c_str());
      return 1;
    }
    switchyard::bench::PrintCount(*count);
    counts.push_back(*std::move(count));
  }
  switchyard::bench::PrintSummary(counts);
  if (!cfg.json_path.empty()) {
    absl::Status s = switchyard::bench::WriteJson(cfg, counts);
    if (!s.ok()) {
      std::fprintf(stderr, "yard-bench-datapath: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  return 0;
}
