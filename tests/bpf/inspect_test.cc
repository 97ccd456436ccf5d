// SPDX-License-Identifier: Apache-2.0
// yardctl's view of a node read from bpffs (kernel/map_usage.h,
// kernel/node_programs.h) and traces (kernel/trace.h) against cases of the
// datapath packet tables: a service with endpoints is translated to a
// backend and leaves no connection entry behind, one without endpoints is
// rejected, an address that is no service passes unchanged. Every trace
// must leave the live maps exactly as they were: connection entries and
// counters are compared byte for byte before and after.
//
// Pins go under /sys/fs/bpf/switchyard-inspect-test-<pid>/<node>, removed
// however the test ends (and, for crashed earlier runs, by the next one).
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/ctl/cli.h"
#include "control/ctl/commands.h"
#include "control/kernel/datapath.h"
#include "control/kernel/datapath_maps.h"
#include "control/kernel/map_usage.h"
#include "control/kernel/node_programs.h"
#include "control/kernel/trace.h"
#include "control/packet/packet_builder.h"
#include "control/packet/packet_decoder.h"
#include "gtest/gtest.h"
#include "tests/bpf/scoped_pin_root.h"
#include "tests/packet/map_keys.h"
#include "tests/packet/prog_run.h"
#include "tests/packet/service_port.h"

namespace switchyard {
namespace {

using kernel::Datapath;
using kernel::DatapathConfig;
using kernel::DatapathMaps;
using kernel::TraceRequest;
using kernel::TraceResult;
using packet::Bytes;
using packet::CtKey;
using packet::IpBe;
using packet::PacketBuilder;
using packet::PortBe;
using packet::TraceHook;

#define ASSERT_OK(expr)                           \
  do {                                            \
    const absl::Status yard_status = (expr);      \
    ASSERT_TRUE(yard_status.ok()) << yard_status; \
  } while (0)

constexpr char kPrefix[] = "switchyard-inspect-test-";
constexpr char kNode[] = "node-a";
// Not the default, so a trace that did not take the loaded program's
// config would show.
constexpr absl::string_view kHairpin = "169.254.99.1";

constexpr absl::string_view kClient = "10.244.0.5";
constexpr absl::string_view kWebIp = "10.96.0.10";    // TCP/80, UDP/53
constexpr absl::string_view kEmptyIp = "10.96.0.20";  // TCP/443, no endpoint
constexpr absl::string_view kSelfIp = "10.96.0.30";   // TCP/80 -> the client
constexpr absl::string_view kOtherPod = "10.244.7.7";

packet::FlowTuple Tuple(absl::string_view saddr, uint16_t sport,
                        absl::string_view daddr, uint16_t dport,
                        uint8_t proto) {
  return {IpBe(saddr), IpBe(daddr), PortBe(sport), PortBe(dport), proto};
}

// Everything a trace could write in the live maps, as raw bytes.
struct LiveState {
  std::vector<std::pair<yard_ct4_key, yard_ct4_value>> ct;
  std::vector<yard_counter> reasons;
  std::vector<yard_svc_stats> stats;
};

bool operator==(const LiveState& a, const LiveState& b) {
  auto same = [](const auto& x, const auto& y) {
    return x.size() == y.size() &&
           (x.empty() ||
            std::memcmp(x.data(), y.data(), x.size() * sizeof(x[0])) == 0);
  };
  return same(a.ct, b.ct) && same(a.reasons, b.reasons) &&
         same(a.stats, b.stats);
}

class InspectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pins_ = std::make_unique<testing::ScopedPinRoot>(kPrefix);
    root_ = pins_->root();
    ASSERT_NO_FATAL_FAILURE(Load());
  }
  void TearDown() override {
    dp_.reset();  // programs first, then the pins
    pins_.reset();
  }

  std::string pin_dir() const { return pins_->Node(kNode); }

  void Load() {
    DatapathConfig config;
    config.pin_dir = pin_dir();
    config.max_frontends = 32;
    config.max_slots = 64;
    config.max_backends = 16;
    config.max_ct_entries = 1024;
    config.hairpin_addr_be = IpBe(kHairpin);
    absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
    ASSERT_TRUE(dp.ok()) << dp.status();
    dp_ = std::move(*dp);
  }

  DatapathMaps& maps() { return dp_->maps(); }

  void PutBackend(uint32_t id, absl::string_view addr, uint16_t port,
                  uint8_t state = YARD_BACKEND_ACTIVE) {
    yard_backend4 be = {};
    be.addr = IpBe(addr);
    be.port = PortBe(port);
    be.state = state;
    ASSERT_OK(maps().PutBackend(id, be));
  }

  void PutServicePort(absl::string_view addr, uint16_t port, uint8_t proto,
                      uint32_t id, const std::vector<uint32_t>& backends) {
    ASSERT_OK(packet::WriteServicePort(maps(), {.addr = std::string(addr),
                                                .port = port,
                                                .proto = proto,
                                                .id = id,
                                                .backends = backends}));
  }

  void PutWildcard(absl::string_view addr) {
    yard_svc_value svc = {};
    svc.flags = YARD_SVC_F_WILDCARD;
    ASSERT_OK(maps().PutFrontend(kernel::WildcardKey(IpBe(addr)), svc));
  }

  // The datapath_test cluster, in small.
  void InstallCluster() {
    PutBackend(1, "10.244.1.2", 8080);
    PutBackend(2, "10.244.1.3", 5353);
    PutBackend(3, kClient, 8080);
    PutServicePort(kWebIp, 80, packet::kProtoTcp, 1, {1});
    PutServicePort(kWebIp, 53, packet::kProtoUdp, 2, {2});
    PutServicePort(kEmptyIp, 443, packet::kProtoTcp, 3, {});
    PutServicePort(kSelfIp, 80, packet::kProtoTcp, 4, {3});
    for (absl::string_view addr : {kWebIp, kEmptyIp, kSelfIp}) {
      PutWildcard(addr);
    }
  }

  LiveState Live() {
    LiveState s;
    absl::StatusOr<std::vector<std::pair<yard_ct4_key, yard_ct4_value>>> ct =
        maps().DumpCt();
    EXPECT_TRUE(ct.ok()) << ct.status();
    if (ct.ok()) {
      s.ct = *ct;
      std::sort(s.ct.begin(), s.ct.end(), [](const auto& a, const auto& b) {
        return std::memcmp(&a.first, &b.first, sizeof(a.first)) < 0;
      });
    }
    for (int r = 0; r < YARD_REASON_MAX; ++r) {
      absl::StatusOr<yard_counter> c =
          maps().ReasonCounter(static_cast<yard_reason>(r));
      EXPECT_TRUE(c.ok()) << c.status();
      s.reasons.push_back(c.ok() ? *c : yard_counter{});
    }
    for (uint32_t id = 0; id < 8; ++id) {
      absl::StatusOr<yard_svc_stats> st = maps().ServiceStats(id);
      EXPECT_TRUE(st.ok()) << st.status();
      s.stats.push_back(st.ok() ? *st : yard_svc_stats{});
    }
    return s;
  }

  // Traces, and checks that the live maps did not move.
  TraceResult Trace(const packet::FlowTuple& tuple,
                    TraceHook hook = TraceHook::kFromPod) {
    const LiveState before = Live();
    absl::StatusOr<TraceResult> result =
        kernel::RunTrace(pin_dir(), TraceRequest{tuple, hook});
    EXPECT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(before == Live()) << "the trace changed the live maps";
    if (!result.ok()) return TraceResult{};
    // The output is a well-formed frame whatever the verdict.
    absl::Status checksums = packet::VerifyChecksums(result->output);
    EXPECT_TRUE(checksums.ok()) << checksums;
    return *std::move(result);
  }

  // A real packet through the loaded program, as a pod would send it.
  void Send(const Bytes& frame, TraceHook hook = TraceHook::kFromPod) {
    absl::StatusOr<packet::ProgRun> run = packet::RunProg(
        hook == TraceHook::kFromPod ? dp_->from_pod_fd() : dp_->to_pod_fd(),
        frame);
    ASSERT_TRUE(run.ok()) << run.status();
  }

  std::unique_ptr<testing::ScopedPinRoot> pins_;
  std::string root_;
  std::unique_ptr<Datapath> dp_;
};

// --- trace: the datapath table's cases ------------------------------------

TEST_F(InspectTest, TraceServiceWithEndpointTranslatesAndLeavesNoFlow) {
  ASSERT_NO_FATAL_FAILURE(InstallCluster());
  TraceResult r = Trace(Tuple(kClient, 40000, kWebIp, 80, packet::kProtoTcp));
  EXPECT_EQ(r.verdict, kernel::kTcActOk);
  EXPECT_FALSE(r.reason.has_value());
  EXPECT_EQ(r.output, PacketBuilder()
                          .EthSrc(packet::kTracePodMac)
                          .EthDst(packet::kTraceHostMac)
                          .Ipv4(kClient, "10.244.1.2")
                          .DontFragment()
                          .Tcp(40000, 8080)
                          .Flags(packet::kTcpSyn)
                          .Seq(0x10000000)
                          .Build())
      << packet::Describe(r.output);
  ASSERT_TRUE(r.service.has_value());
  EXPECT_EQ(r.service->svc_id, 1u);
  ASSERT_TRUE(r.flow.has_value());
  EXPECT_EQ(r.flow->backend_id, 1u);
  ASSERT_TRUE(r.backend.has_value());
  EXPECT_EQ(r.backend->addr, IpBe("10.244.1.2"));
  EXPECT_EQ(r.slot, 1u);
  EXPECT_FALSE(r.forward_before.has_value());
  // A new flow: forward and reply entries, in the trace's copy only (Trace
  // checked the live table).
  EXPECT_EQ(r.ct_written.size(), 2u);
  absl::StatusOr<std::optional<yard_ct4_value>> live = maps().LookupCt(
      CtKey(kClient, 40000, kWebIp, 80, packet::kProtoTcp, YARD_CT_FORWARD));
  ASSERT_TRUE(live.ok());
  EXPECT_FALSE(live->has_value());
}

TEST_F(InspectTest, TraceRunsTheLoadedBuildWithItsConfig) {
  ASSERT_NO_FATAL_FAILURE(InstallCluster());
  TraceResult r = Trace(Tuple(kClient, 40000, kWebIp, 80, packet::kProtoTcp));
  ASSERT_TRUE(r.loaded.has_value());
  EXPECT_EQ(r.loaded->name, "yard_from_pod");
  EXPECT_EQ(r.loaded->tag, r.program_tag) << "same object, same tag";
  EXPECT_TRUE(r.config_from_loaded);
  EXPECT_EQ(r.config.hairpin_addr, IpBe(kHairpin));
  EXPECT_EQ(r.config.udp_timeout_s, YARD_DEFAULT_UDP_TIMEOUT_S);
}

TEST_F(InspectTest, TraceNoEndpointIsRejectedWithRst) {
  ASSERT_NO_FATAL_FAILURE(InstallCluster());
  TraceResult r =
      Trace(Tuple(kClient, 40000, kEmptyIp, 443, packet::kProtoTcp));
  EXPECT_EQ(r.verdict, kernel::kTcActRedirect);
  EXPECT_EQ(r.reason, YARD_REASON_REJECT_NO_ENDPOINT);
  packet::DecodedFrame d = packet::Decode(r.output);
  ASSERT_TRUE(d.tcp.has_value());
  EXPECT_EQ(d.tcp->flags, packet::kTcpRst | packet::kTcpAck);
  EXPECT_EQ(d.ip->saddr, packet::ParseIp(kEmptyIp));
  EXPECT_EQ(d.ip->daddr, packet::ParseIp(kClient));
  EXPECT_TRUE(r.ct_written.empty());
}

TEST_F(InspectTest, TraceUdpToUnknownPortIsRejectedWithIcmp) {
  ASSERT_NO_FATAL_FAILURE(InstallCluster());
  TraceResult r = Trace(Tuple(kClient, 5000, kEmptyIp, 53, packet::kProtoUdp));
  EXPECT_EQ(r.verdict, kernel::kTcActRedirect);
  EXPECT_EQ(r.reason, YARD_REASON_REJECT_NO_PORT);
  EXPECT_TRUE(r.service_address);
  EXPECT_FALSE(r.service.has_value());
  packet::DecodedFrame d = packet::Decode(r.output);
  ASSERT_TRUE(d.icmp.has_value());
  EXPECT_EQ(d.icmp->type, packet::kIcmpDestUnreach);
  EXPECT_EQ(d.icmp->code, packet::kIcmpPortUnreach);
}

TEST_F(InspectTest, TraceNotAServicePassesUnchanged) {
  ASSERT_NO_FATAL_FAILURE(InstallCluster());
  TraceResult r =
      Trace(Tuple(kClient, 40000, kOtherPod, 80, packet::kProtoTcp));
  EXPECT_EQ(r.verdict, kernel::kTcActOk);
  EXPECT_FALSE(r.reason.has_value());
  EXPECT_EQ(r.output, r.input);
  EXPECT_FALSE(r.service_address);
  EXPECT_FALSE(r.flow.has_value());
  EXPECT_TRUE(r.ct_written.empty());
}

TEST_F(InspectTest, TraceHairpinUsesTheLoadedHairpinAddress) {
  ASSERT_NO_FATAL_FAILURE(InstallCluster());
  TraceResult r = Trace(Tuple(kClient, 40000, kSelfIp, 80, packet::kProtoTcp));
  EXPECT_EQ(r.verdict, kernel::kTcActRedirect);
  EXPECT_FALSE(r.reason.has_value());
  packet::DecodedFrame d = packet::Decode(r.output);
  ASSERT_TRUE(d.ip.has_value());
  EXPECT_EQ(d.ip->saddr, packet::ParseIp(kHairpin));
  EXPECT_EQ(d.ip->daddr, packet::ParseIp(kClient));
  ASSERT_TRUE(r.flow.has_value());
  EXPECT_TRUE(r.flow->flags & YARD_CT_F_HAIRPIN);
}

TEST_F(InspectTest, TraceOfAnExistingFlowKeepsItsBackendAndEntry) {
  ASSERT_NO_FATAL_FAILURE(InstallCluster());
  // A second backend, so a new choice could differ from the flow's.
  PutBackend(5, "10.244.3.4", 8080);
  ASSERT_OK(maps().PutSlot({1, 2}, {5}));
  ASSERT_NO_FATAL_FAILURE(Send(PacketBuilder()
                                   .Ipv4(kClient, kWebIp)
                                   .Tcp(40001, 80)
                                   .Flags(packet::kTcpSyn)
                                   .Build()));
  absl::StatusOr<std::optional<yard_ct4_value>> live = maps().LookupCt(
      CtKey(kClient, 40001, kWebIp, 80, packet::kProtoTcp, YARD_CT_FORWARD));
  ASSERT_TRUE(live.ok() && live->has_value());

  TraceResult r = Trace(Tuple(kClient, 40001, kWebIp, 80, packet::kProtoTcp));
  EXPECT_EQ(r.verdict, kernel::kTcActOk);
  ASSERT_TRUE(r.forward_before.has_value());
  ASSERT_TRUE(r.flow.has_value());
  EXPECT_EQ(r.flow->backend_id, (*live)->backend_id);
  EXPECT_EQ(r.flow->created_ns, (*live)->created_ns);
  EXPECT_EQ(r.flow->packets, (*live)->packets + 1) << "counted in the copy";
  // Only the forward entry was touched (its counters), in the copy.
  ASSERT_EQ(r.ct_written.size(), 1u);
  EXPECT_EQ(r.ct_written[0].first.dir, YARD_CT_FORWARD);
}

TEST_F(InspectTest, TraceToPodTranslatesAReply) {
  ASSERT_NO_FATAL_FAILURE(InstallCluster());
  ASSERT_NO_FATAL_FAILURE(Send(PacketBuilder()
                                   .Ipv4(kClient, kWebIp)
                                   .Tcp(40002, 80)
                                   .Flags(packet::kTcpSyn)
                                   .Build()));
  TraceResult r =
      Trace(Tuple("10.244.1.2", 8080, kClient, 40002, packet::kProtoTcp),
            TraceHook::kToPod);
  EXPECT_EQ(r.verdict, kernel::kTcActOk);
  EXPECT_EQ(r.program_name, "yard_to_pod");
  packet::DecodedFrame d = packet::Decode(r.output);
  ASSERT_TRUE(d.tcp.has_value());
  EXPECT_EQ(d.ip->saddr, packet::ParseIp(kWebIp));
  EXPECT_EQ(d.tcp->sport, 80);
  ASSERT_TRUE(r.rev_nat.has_value());
  EXPECT_EQ(r.rev_nat->addr, IpBe(kWebIp));
}

TEST_F(InspectTest, TraceWithoutLoadedProgramsUsesDefaults) {
  ASSERT_NO_FATAL_FAILURE(InstallCluster());
  dp_.reset();  // programs unloaded (nothing attached), pins stay
  absl::StatusOr<DatapathMaps> pinned = DatapathMaps::OpenPinned(pin_dir());
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  absl::StatusOr<TraceResult> r = kernel::RunTrace(
      pin_dir(),
      TraceRequest{Tuple(kClient, 40000, kWebIp, 80, packet::kProtoTcp)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->loaded.has_value());
  EXPECT_FALSE(r->config_from_loaded);
  EXPECT_EQ(r->config.udp_timeout_s, YARD_DEFAULT_UDP_TIMEOUT_S);
  EXPECT_EQ(r->verdict, kernel::kTcActOk);
  ASSERT_TRUE(r->flow.has_value());
  EXPECT_EQ(r->flow->backend_id, 1u);
  absl::StatusOr<std::vector<std::pair<yard_ct4_key, yard_ct4_value>>> ct =
      pinned->DumpCt();
  ASSERT_TRUE(ct.ok());
  EXPECT_TRUE(ct->empty());
}

// --- programs and map fill ------------------------------------------------

TEST_F(InspectTest, FindsTheNodesProgramsOnly) {
  // Another datapath, not pinned: its programs use other maps.
  DatapathConfig other;
  other.max_frontends = 8;
  other.max_slots = 8;
  other.max_backends = 8;
  other.max_ct_entries = 16;
  absl::StatusOr<std::unique_ptr<Datapath>> unrelated = Datapath::Load(other);
  ASSERT_TRUE(unrelated.ok()) << unrelated.status();

  absl::StatusOr<std::vector<kernel::ProgramInfo>> programs =
      kernel::FindNodePrograms(pin_dir());
  ASSERT_TRUE(programs.ok()) << programs.status();
  std::vector<std::string> names;
  const kernel::ProgramInfo* from_pod = nullptr;
  for (const kernel::ProgramInfo& program : *programs) {
    names.push_back(program.name);
    if (program.name == "yard_from_pod") from_pod = &program;
  }
  std::sort(names.begin(), names.end());
  // Names as the kernel keeps them: cut to 15 characters.
  EXPECT_EQ(names, (std::vector<std::string>{
                       "yard_from_outsi", "yard_from_pod", "yard_outside_in",
                       "yard_to_outside", "yard_to_pod"}));
  ASSERT_NE(from_pod, nullptr);
  absl::StatusOr<std::optional<std::vector<uint8_t>>> rodata =
      kernel::ReadProgramRodata(*from_pod);
  ASSERT_TRUE(rodata.ok() && rodata->has_value());
  std::optional<yard_config> config = kernel::ConfigFromRodata(**rodata);
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->hairpin_addr, IpBe(kHairpin));
}

TEST_F(InspectTest, MapUsageCountsEntriesInUse) {
  ASSERT_NO_FATAL_FAILURE(InstallCluster());
  ASSERT_NO_FATAL_FAILURE(Send(PacketBuilder()
                                   .Ipv4(kClient, kWebIp)
                                   .Tcp(40003, 80)
                                   .Flags(packet::kTcpSyn)
                                   .Build()));
  ASSERT_OK(maps().ClearBackend(2));  // a cleared id is not in use
  absl::StatusOr<std::vector<kernel::MapUsage>> usage =
      kernel::ReadMapUsage(pin_dir());
  ASSERT_TRUE(usage.ok()) << usage.status();
  std::map<std::string, kernel::MapUsage> by_name;
  for (const kernel::MapUsage& m : *usage) by_name[m.name] = m;
  ASSERT_EQ(by_name.size(), 7u);
  EXPECT_EQ(by_name[YARD_MAP_SVC4].entries, 7u);  // 4 ports + 3 wildcards
  EXPECT_EQ(by_name[YARD_MAP_SVC4].max_entries, 32u);
  EXPECT_EQ(by_name[YARD_MAP_SVC4].type, "hash");
  EXPECT_EQ(by_name[YARD_MAP_SLOTS].entries, 3u);
  EXPECT_EQ(by_name[YARD_MAP_BACKEND4].entries, 2u);
  EXPECT_EQ(by_name[YARD_MAP_BACKEND4].type, "array");
  EXPECT_EQ(by_name[YARD_MAP_RNAT4].entries, 4u);
  EXPECT_EQ(by_name[YARD_MAP_CT4].entries, 2u);
  EXPECT_EQ(by_name[YARD_MAP_CT4].type, "lru_hash");
  EXPECT_EQ(by_name[YARD_MAP_CT4].max_entries, 1024u);
  EXPECT_FALSE(by_name[YARD_MAP_REASONS].entries.has_value());
  EXPECT_EQ(by_name[YARD_MAP_REASONS].max_entries,
            static_cast<uint32_t>(YARD_REASON_SLOTS));
}

// --- the commands, end to end on the pinned maps ---------------------------

class InspectCommandTest : public InspectTest {
 protected:
  // Runs `yardctl ARGS --bpffs-root <test root>`; a controller that is not
  // there, so status shows it unreachable.
  absl::Status Yardctl(std::vector<std::string> args) {
    args.push_back("--bpffs-root");
    args.push_back(root_);
    absl::StatusOr<ctl::CommandLine> line = ctl::ParseCommandLine(args);
    if (!line.ok()) return line.status();
    ctl::ClusterClient client(
        grpc::CreateChannel(absl::StrCat("unix:", root_, "/no-controller.sock"),
                            grpc::InsecureChannelCredentials()),
        "unix:///nowhere.sock", absl::Seconds(2));
    out_.str("");
    err_.str("");
    ctl::Context context{
        .client = &client, .in = nullptr, .out = &out_, .err = &err_};
    return ctl::RunCommand(*line, context);
  }

  std::ostringstream out_, err_;
};

TEST_F(InspectCommandTest, BpfServicesTable) {
  ASSERT_NO_FATAL_FAILURE(InstallCluster());
  ASSERT_OK(Yardctl({"bpf", "services"}));  // the only node: no --node
  EXPECT_EQ(
      out_.str(),
      "FRONTEND             FOR    TYPE                              SVC-ID   "
      "REV-NAT   COUNT   POLICY   SLOT   BACKEND-ID   BACKEND           "
      "STATE\n"
      "10.96.0.10:*/*       pods   wildcard (reject unknown ports)   -        "
      "-         -       -        -      -            -                 "
      "-\n"
      "10.96.0.10:53/UDP    pods   service                           2        "
      "2         1       random   1      2            10.244.1.3:5353   "
      "active\n"
      "10.96.0.10:80/TCP    pods   service                           1        "
      "1         1       random   1      1            10.244.1.2:8080   "
      "active\n"
      "10.96.0.20:*/*       pods   wildcard (reject unknown ports)   -        "
      "-         -       -        -      -            -                 "
      "-\n"
      "10.96.0.20:443/TCP   pods   service (no endpoints: reject)    3        "
      "3         0       random   -      -            -                 "
      "-\n"
      "10.96.0.30:*/*       pods   wildcard (reject unknown ports)   -        "
      "-         -       -        -      -            -                 "
      "-\n"
      "10.96.0.30:80/TCP    pods   service                           4        "
      "4         1       random   1      3            10.244.0.5:8080   "
      "active\n")
      << out_.str();
}

TEST_F(InspectCommandTest, BpfCtAndStatsJson) {
  ASSERT_NO_FATAL_FAILURE(InstallCluster());
  ASSERT_NO_FATAL_FAILURE(
      Send(PacketBuilder().Ipv4(kClient, kWebIp).Udp(5000, 53).Build()));
  ASSERT_OK(Yardctl({"bpf", "ct", "--node", kNode, "-o", "json"}));
  const std::string ct = out_.str();
  EXPECT_TRUE(absl::StrContains(ct, "\"udp_timeout_s\": 120")) << ct;
  EXPECT_TRUE(absl::StrContains(ct, "\"direction\": \"forward\"")) << ct;
  EXPECT_TRUE(absl::StrContains(ct, "\"backend_address\": \"10.244.1.3\""))
      << ct;
  EXPECT_TRUE(absl::StrContains(ct, "\"time_left_ms\": 1")) << ct;
  // Every entry has a lifetime: both of the UDP flow's.
  EXPECT_FALSE(absl::StrContains(ct, "\"time_left_ms\": null")) << ct;
  EXPECT_TRUE(absl::StrContains(ct, "\"tcp_close_timeout_s\": 10")) << ct;

  ASSERT_OK(Yardctl({"bpf", "stats", "-ojson"}));
  const std::string stats = out_.str();
  EXPECT_TRUE(absl::StrContains(stats, "\"forward_packets\": 1")) << stats;
  EXPECT_TRUE(absl::StrContains(stats, "\"reason\": \"reject_no_endpoint\""))
      << stats;
}

TEST_F(InspectCommandTest, TraceCommandPrintsTheVerdict) {
  ASSERT_NO_FATAL_FAILURE(InstallCluster());
  ASSERT_OK(Yardctl({"trace", "10.244.0.5:40000", "10.96.0.10:80/tcp"}));
  const std::string text = out_.str();
  EXPECT_TRUE(absl::StrContains(text, "Verdict:     pass, translated")) << text;
  EXPECT_TRUE(absl::StrContains(
      text, "After:       10.244.0.5:40000 -> 10.244.1.2:8080 TCP [SYN]"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "10.244.1.2:8080 (id 1, slot 1, active)"))
      << text;

  ASSERT_OK(Yardctl({"trace", "10.244.0.5", "10.96.0.20:443", "-o", "json"}));
  EXPECT_TRUE(absl::StrContains(out_.str(), "\"outcome\": \"rejected\""))
      << out_.str();
  EXPECT_TRUE(
      absl::StrContains(out_.str(), "\"reason\": \"reject_no_endpoint\""))
      << out_.str();
}

TEST_F(InspectCommandTest, StatusShowsFillWithControllerAway) {
  ASSERT_NO_FATAL_FAILURE(InstallCluster());
  ASSERT_OK(Yardctl({"status"}));
  const std::string text = out_.str();
  EXPECT_TRUE(absl::StrContains(text, "Node:        node-a")) << text;
  EXPECT_TRUE(absl::StrContains(text, "yard_svc4")) << text;
  EXPECT_TRUE(absl::StrContains(text, "unreachable")) << text;
  EXPECT_TRUE(absl::StrContains(text, "yard_from_pod id")) << text;
}

TEST_F(InspectCommandTest, NodeErrorsListTheNodes) {
  absl::Status s = Yardctl({"bpf", "services", "--node", "node-b"});
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "node-a")) << s;
}

}  // namespace
}  // namespace switchyard
