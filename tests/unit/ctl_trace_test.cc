// SPDX-License-Identifier: Apache-2.0
// `yardctl trace` without a kernel: its arguments, the frame it sends (its
// checksums recomputed whole by the packet decoder; its exact bytes are
// pinned in trace_frame_test.cc), and the answer printed from made-up
// results. Also the node commands' shared pieces: durations, node folder
// resolution, flags. (Protocol and reason names have their own test:
// names_test.cc.)
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "control/common/ipv4.h"
#include "control/ctl/cli.h"
#include "control/ctl/commands.h"
#include "control/ctl/inspect_text.h"
#include "control/ctl/node_pins.h"
#include "control/ctl/trace_format.h"
#include "control/packet/packet_builder.h"
#include "control/packet/packet_decoder.h"
#include "control/packet/trace_frame.h"

namespace switchyard::ctl {
namespace {

using kernel::TraceResult;
using packet::FlowTuple;
using packet::TraceHook;

uint32_t Ip(absl::string_view text) { return *ParseIpv4(text); }

FlowTuple Tuple(absl::string_view saddr, uint16_t sport,
                absl::string_view daddr, uint16_t dport, uint8_t proto) {
  return {Ip(saddr), Ip(daddr), htons(sport), htons(dport), proto};
}

bool SameTuple(const FlowTuple& a, const FlowTuple& b) {
  return a.saddr_be == b.saddr_be && a.daddr_be == b.daddr_be &&
         a.sport_be == b.sport_be && a.dport_be == b.dport_be &&
         a.proto == b.proto;
}

// --- arguments -------------------------------------------------------------

TEST(TraceArgs, SourcePortAndProtocol) {
  absl::StatusOr<FlowTuple> t =
      ParseTraceTuple("10.244.0.5:40000", "10.96.0.10:53/UDP", 1);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(
      SameTuple(*t, Tuple("10.244.0.5", 40000, "10.96.0.10", 53, IPPROTO_UDP)));
}

TEST(TraceArgs, DefaultsAreTheGivenPortAndTcp) {
  absl::StatusOr<FlowTuple> t =
      ParseTraceTuple("10.244.0.5", "10.96.0.10:80", 33333);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(
      SameTuple(*t, Tuple("10.244.0.5", 33333, "10.96.0.10", 80, IPPROTO_TCP)));
}

TEST(TraceArgs, ErrorsSayWhatIsExpected) {
  struct Case {
    const char* src;
    const char* dst;
    const char* error;
  } cases[] = {
      {"10.244.0.5", "10.96.0.10",
       "invalid destination \"10.96.0.10\": "
       "expected ADDR:PORT[/tcp|udp]"},
      {"10.244.0.5", "10.96.0.10:80/sctp",
       "invalid protocol \"sctp\": a trace sends tcp or udp"},
      {"10.244.0.5:0", "10.96.0.10:80",
       "invalid source port \"0\": expected a port in 1-65535"},
      {"10.244.0.5", "10.96.0.10:70000",
       "invalid destination port \"70000\": expected a port in 1-65535"},
      {"pod-a", "10.96.0.10:80", "'pod-a' is not an IPv4 address"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<FlowTuple> t = ParseTraceTuple(c.src, c.dst, 1);
    ASSERT_FALSE(t.ok()) << c.src << " " << c.dst;
    EXPECT_EQ(t.status().message(), c.error);
  }
}

// --- the frame -------------------------------------------------------------

TEST(TraceFrame, SynFromPodIsWellFormed) {
  packet::Bytes f = packet::BuildTraceFrame(
      Tuple("10.244.0.5", 40000, "10.96.0.10", 80, IPPROTO_TCP),
      TraceHook::kFromPod);
  EXPECT_EQ(f, packet::PacketBuilder()
                   .EthSrc(packet::kTracePodMac)
                   .EthDst(packet::kTraceHostMac)
                   .Ipv4("10.244.0.5", "10.96.0.10")
                   .DontFragment()
                   .Tcp(40000, 80)
                   .Flags(packet::kTcpSyn)
                   .Seq(0x10000000)
                   .Build())
      << packet::Describe(f);
  packet::FrameSummary s = packet::SummarizeFrame(f);
  EXPECT_TRUE(s.ipv4 && s.l4 && s.checksums_ok);
  EXPECT_EQ(s.tcp_flags, packet::kTcpSyn);
}

TEST(TraceFrame, UdpAndReplyFramesVerify) {
  for (TraceHook hook : {TraceHook::kFromPod, TraceHook::kToPod}) {
    for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP}) {
      packet::Bytes f = packet::BuildTraceFrame(
          Tuple("10.244.1.2", 8080, "10.244.0.5", 40000, proto), hook);
      absl::Status checksums = packet::VerifyChecksums(f);
      EXPECT_TRUE(checksums.ok()) << checksums;
      packet::FrameSummary s = packet::SummarizeFrame(f);
      EXPECT_TRUE(s.checksums_ok);
      EXPECT_EQ(s.proto, proto);
      EXPECT_EQ(ntohs(s.sport_be), 8080);
      if (proto == IPPROTO_TCP && hook == TraceHook::kToPod) {
        EXPECT_EQ(s.tcp_flags, packet::kTcpSyn | packet::kTcpAck);
      }
    }
  }
}

TEST(TraceFrame, SummaryNoticesBadChecksumsAndIcmp) {
  packet::Bytes f = packet::BuildTraceFrame(
      Tuple("10.244.0.5", 40000, "10.96.0.10", 80, IPPROTO_TCP),
      TraceHook::kFromPod);
  f[f.size() - 1] ^= 0xff;  // the urgent pointer, under the TCP checksum
  EXPECT_FALSE(packet::SummarizeFrame(f).checksums_ok);

  packet::Bytes icmp =
      packet::PacketBuilder()
          .Ipv4("10.96.0.20", "10.244.0.5")
          .Icmp(packet::kIcmpDestUnreach, packet::kIcmpPortUnreach)
          .Payload("0123456789abcdefghijklmnopq")
          .Build();
  packet::FrameSummary s = packet::SummarizeFrame(icmp);
  EXPECT_TRUE(s.checksums_ok);
  EXPECT_EQ(s.icmp_type, 3);
  EXPECT_EQ(s.icmp_code, 3);

  EXPECT_FALSE(packet::SummarizeFrame(packet::Bytes(10, 0)).ipv4);
}

// --- the answer ------------------------------------------------------------

yard_ct4_key CtKey(const FlowTuple& t, yard_ct_dir dir) {
  yard_ct4_key key = {};
  key.saddr = t.saddr_be;
  key.daddr = t.daddr_be;
  key.sport = t.sport_be;
  key.dport = t.dport_be;
  key.proto = t.proto;
  key.dir = static_cast<uint8_t>(dir);
  return key;
}

kernel::ProgramInfo Loaded(const std::string& tag) {
  kernel::ProgramInfo p;
  p.id = 57;
  p.name = "yard_from_pod";
  p.tag = tag;
  return p;
}

// A new TCP flow to 10.96.0.10:80 translated to 10.244.1.3:8080, as
// kernel::RunTrace reports it.
TraceResult Translated() {
  const FlowTuple in =
      Tuple("10.244.0.5", 40000, "10.96.0.10", 80, IPPROTO_TCP);
  const FlowTuple out =
      Tuple("10.244.0.5", 40000, "10.244.1.3", 8080, IPPROTO_TCP);
  TraceResult r;
  r.request = {in, TraceHook::kFromPod};
  r.program_name = "yard_from_pod";
  r.program_tag = "3b3ce79516adad05";
  r.loaded = Loaded(r.program_tag);
  r.config = {htonl(0xa9fe2a01), 120};
  r.config_from_loaded = true;
  r.verdict = kernel::kTcActOk;
  r.input = packet::BuildTraceFrame(in, TraceHook::kFromPod);
  r.output = packet::BuildTraceFrame(out, TraceHook::kFromPod);
  r.service = yard_svc_value{1, 1, 2, 0, 0, 0};
  r.service_address = true;
  yard_ct4_value fwd = {};
  fwd.created_ns = fwd.last_seen_ns = 5;
  fwd.packets = 1;
  fwd.bytes = 54;
  fwd.backend_id = 2;
  fwd.rev_nat_id = 1;
  fwd.addr = Ip("10.244.1.3");
  fwd.port = htons(8080);
  yard_ct4_value rep = fwd;
  rep.packets = rep.bytes = 0;
  rep.addr = in.saddr_be;
  rep.port = in.sport_be;
  r.ct_written = {
      {CtKey(in, YARD_CT_FORWARD), fwd},
      {CtKey(Tuple("10.244.1.3", 8080, "10.244.0.5", 40000, IPPROTO_TCP),
             YARD_CT_REPLY),
       rep},
  };
  r.flow_key = CtKey(in, YARD_CT_FORWARD);
  r.flow = fwd;
  r.backend =
      yard_backend4{Ip("10.244.1.3"), htons(8080), YARD_BACKEND_ACTIVE, 0};
  r.slot = 2;
  r.rev_nat = yard_rnat4{Ip("10.96.0.10"), htons(80), 0};
  return r;
}

TEST(TraceAnswer, TranslatedNewFlow) {
  EXPECT_EQ(FormatTrace("node-a", Translated(), InspectOutput::kTable),
            R"(Node:        node-a
Packet:      10.244.0.5:40000 -> 10.96.0.10:80 TCP [SYN], as a pod sends it (yard_from_pod)
Verdict:     pass, translated
Why:         translated to the flow's backend
Service:     10.96.0.10:80/TCP: svc 1, rev-NAT 1, 2 backends, random
Flow:        new: a backend was chosen, and a forward and a reply entry recorded (in the trace's copy only)
Backend:     10.244.1.3:8080 (id 2, slot 2, active)
Frontend:    10.96.0.10:80 (rev-NAT 1): what replies come from
Before:      10.244.0.5:40000 -> 10.96.0.10:80 TCP [SYN]
After:       10.244.0.5:40000 -> 10.244.1.3:8080 TCP [SYN], checksums ok
Program:     a copy of this yardctl's yard_from_pod (tag 3b3ce79516adad05), the same build as the loaded one (id 57)
             config from the loaded program: hairpin address 169.254.42.1, UDP idle timeout 120s
Live state:  unchanged (the trace wrote only to its own copies)
)");
}

TEST(TraceAnswer, TranslatedNewFlowJson) {
  EXPECT_EQ(FormatTrace("node-a", Translated(), InspectOutput::kJson),
            R"({
    "node": "node-a",
    "hook": "from_pod",
    "verdict": "pass",
    "tc_action": 0,
    "outcome": "translated",
    "reason": null,
    "program": {
        "name": "yard_from_pod",
        "tag": "3b3ce79516adad05",
        "loaded_id": 57,
        "loaded_tag": "3b3ce79516adad05",
        "same_build": true,
        "config_from_loaded": true,
        "hairpin_address": "169.254.42.1",
        "udp_timeout_s": 120
    },
    "service_address": true,
    "service": {
        "svc_id": 1,
        "rev_nat_id": 1,
        "count": 2,
        "policy": "random"
    },
    "flow": {
        "state": "new",
        "direction": "forward",
        "backend_id": 2,
        "rev_nat_id": 1,
        "packets": 1,
        "flags": []
    },
    "backend": {
        "backend_id": 2,
        "address": "10.244.1.3",
        "port": 8080,
        "state": "active",
        "slot": 2
    },
    "frontend": {
        "rev_nat_id": 1,
        "address": "10.96.0.10",
        "port": 80
    },
    "before": {
        "ipv4": true,
        "src_address": "10.244.0.5",
        "dst_address": "10.96.0.10",
        "protocol": "TCP",
        "src_port": 40000,
        "dst_port": 80,
        "tcp_flags": [
            "SYN"
        ],
        "icmp_type": 0,
        "icmp_code": 0,
        "ttl": 64,
        "checksums_ok": true,
        "length": 54
    },
    "after": {
        "ipv4": true,
        "src_address": "10.244.0.5",
        "dst_address": "10.244.1.3",
        "protocol": "TCP",
        "src_port": 40000,
        "dst_port": 8080,
        "tcp_flags": [
            "SYN"
        ],
        "icmp_type": 0,
        "icmp_code": 0,
        "ttl": 64,
        "checksums_ok": true,
        "length": 54
    },
    "ct_written": [
        {
            "direction": "forward",
            "protocol": "TCP",
            "src_address": "10.244.0.5",
            "src_port": 40000,
            "dst_address": "10.96.0.10",
            "dst_port": 80,
            "backend_id": 2,
            "rev_nat_id": 1,
            "flags": []
        },
        {
            "direction": "reply",
            "protocol": "TCP",
            "src_address": "10.244.1.3",
            "src_port": 8080,
            "dst_address": "10.244.0.5",
            "dst_port": 40000,
            "backend_id": 2,
            "rev_nat_id": 1,
            "flags": []
        }
    ]
}
)");
}

TEST(TraceAnswer, SaysWhenTheBuildDiffersOrNothingIsLoaded) {
  TraceResult r = Translated();
  r.loaded = Loaded("0000000000000001");
  EXPECT_NE(FormatTrace("n", r, InspectOutput::kTable)
                .find("NOT the build the node runs (id 57, tag "
                      "0000000000000001)"),
            std::string::npos);
  r.loaded.reset();
  r.config_from_loaded = false;
  std::string text = FormatTrace("n", r, InspectOutput::kTable);
  EXPECT_NE(text.find("; the node has none loaded\n             config of a "
                      "default agent"),
            std::string::npos)
      << text;
}

TEST(TraceAnswer, RejectedNoEndpoint) {
  const FlowTuple in =
      Tuple("10.244.0.5", 40000, "10.96.0.20", 443, IPPROTO_TCP);
  TraceResult r;
  r.request = {in, TraceHook::kFromPod};
  r.program_name = "yard_from_pod";
  r.verdict = kernel::kTcActRedirect;
  r.reason = YARD_REASON_REJECT_NO_ENDPOINT;
  r.input = packet::BuildTraceFrame(in, TraceHook::kFromPod);
  r.output = packet::PacketBuilder()
                 .EthSrc(packet::kTraceHostMac)
                 .EthDst(packet::kTracePodMac)
                 .Ipv4("10.96.0.20", "10.244.0.5")
                 .Tcp(443, 40000)
                 .Flags(packet::kTcpRst | packet::kTcpAck)
                 .Build();
  r.service = yard_svc_value{3, 3, 0, 0, 0, 0};
  r.service_address = true;
  EXPECT_EQ(TraceOutcome(r), "rejected");
  std::string text = FormatTrace("node-a", r, InspectOutput::kTable);
  for (const char* want : {
           "Verdict:     redirect, rejected\n",
           "Why:         reject_no_endpoint: service port has no endpoint: "
           "answered with RST or ICMP unreachable\n",
           "Service:     10.96.0.20:443/TCP: svc 3, rev-NAT 3, 0 backends, "
           "random\n",
           "Flow:        none: no connection entry involved\n",
           "After:       10.96.0.20:443 -> 10.244.0.5:40000 TCP [ACK,RST], "
           "MACs swapped, checksums ok\n",
       }) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
}

TEST(TraceAnswer, NotAServicePassesAsItIs) {
  const FlowTuple in =
      Tuple("10.244.0.5", 40000, "10.244.7.7", 80, IPPROTO_TCP);
  TraceResult r;
  r.request = {in, TraceHook::kFromPod};
  r.verdict = kernel::kTcActOk;
  r.input = r.output = packet::BuildTraceFrame(in, TraceHook::kFromPod);
  EXPECT_EQ(TraceOutcome(r), "passed");
  std::string text = FormatTrace("node-a", r, InspectOutput::kTable);
  EXPECT_NE(text.find("Why:         not a service address: passed as it is\n"
                      "Service:     10.244.7.7:80/TCP: not a service\n"),
            std::string::npos)
      << text;
}

TEST(TraceAnswer, DroppedShowsNoAfter) {
  TraceResult r = Translated();
  r.verdict = kernel::kTcActShot;
  r.reason = YARD_REASON_BACKEND_GONE;
  r.backend->state = YARD_BACKEND_EMPTY;
  EXPECT_EQ(TraceOutcome(r), "dropped");
  std::string text = FormatTrace("node-a", r, InspectOutput::kTable);
  EXPECT_NE(text.find("Backend:     id 2: gone from yard_be4\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("After:       - (dropped)\n"), std::string::npos) << text;
}

// --- shared pieces ---------------------------------------------------------

TEST(HumanDuration, PrecisionShrinksWithSize) {
  struct {
    absl::Duration d;
    const char* want;
  } cases[] = {
      {absl::Seconds(-3), "0s"},         {absl::Milliseconds(900), "0s"},
      {absl::Seconds(119), "119s"},      {absl::Seconds(120), "2m"},
      {absl::Seconds(192), "3m12s"},     {absl::Minutes(47), "47m"},
      {absl::Minutes(303), "5h3m"},      {absl::Hours(5), "5h"},
      {absl::Hours(30), "30h"},          {absl::Hours(76), "3d4h"},
      {absl::Hours(24 * 12 + 5), "12d"},
  };
  for (const auto& c : cases) EXPECT_EQ(HumanDuration(c.d), c.want);
}

TEST(InspectText, Words) {
  EXPECT_EQ(Percent(1, 8), "12.5%");
  EXPECT_EQ(Percent(1, 0), "-");
  EXPECT_EQ(FrontendName(Ip("10.96.0.10"), 0, 0), "10.96.0.10:*/*");
  EXPECT_EQ(FrontendName(Ip("10.96.0.10"), htons(53), IPPROTO_UDP),
            "10.96.0.10:53/UDP");
  EXPECT_EQ(BackendStateName(9), "state 9");
  EXPECT_EQ(PolicyName(YARD_POLICY_RANDOM), "random");
  EXPECT_EQ(PolicyName(YARD_POLICY_MAGLEV), "maglev");
  EXPECT_EQ(PolicyName(YARD_POLICY_LEAST_CONN), "least-conn");
  EXPECT_EQ(CtFlagNames(YARD_CT_F_HAIRPIN | 0x1000),
            (std::vector<std::string>{"hairpin", "0x1000"}));
}

class NodePinsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            absl::StrCat("yard-node-pins-", getpid());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void AddNode(const std::string& node) {
    std::filesystem::create_directories(root_ / node);
    std::ofstream(root_ / node / YARD_MAP_SVC4) << "";
  }
  std::filesystem::path root_;
};

TEST_F(NodePinsTest, TheOnlyNodeWithoutAFlag) {
  std::filesystem::create_directories(root_ / "not-a-node");  // no maps
  AddNode("node-a");
  absl::StatusOr<NodePins> pins = ResolveNodePins(root_.string(), "");
  ASSERT_TRUE(pins.ok()) << pins.status();
  EXPECT_EQ(pins->node, "node-a");
  EXPECT_EQ(pins->pin_dir, (root_ / "node-a").string());
}

TEST_F(NodePinsTest, SeveralOrNoneAskForNode) {
  absl::StatusOr<NodePins> none = ResolveNodePins(root_.string(), "");
  EXPECT_TRUE(absl::IsNotFound(none.status())) << none.status();
  AddNode("node-b");
  AddNode("node-a");
  absl::StatusOr<NodePins> two = ResolveNodePins(root_.string(), "");
  EXPECT_EQ(
      two.status().message(),
      absl::StrCat("maps of several nodes are pinned under ", root_.string(),
                   ": node-a, node-b; pick one with --node"));
  absl::StatusOr<NodePins> named = ResolveNodePins(root_.string(), "node-b");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->node, "node-b");
  absl::StatusOr<NodePins> missing = ResolveNodePins(root_.string(), "node-c");
  EXPECT_EQ(missing.status().message(),
            absl::StrCat("no maps pinned for node node-c in ", root_.string(),
                         "/node-c (nodes under ", root_.string(),
                         ": node-a, node-b)"));
  EXPECT_FALSE(ResolveNodePins(root_.string(), "../etc").ok());
}

TEST(NodeFlags, ParsedAndRefusedWhereNotTaken) {
  absl::StatusOr<CommandLine> line =
      ParseCommandLine({"trace", "10.244.0.5", "10.96.0.10:80", "--to-pod",
                        "--node=node-a", "--bpffs-root", "/x", "-o", "json"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->command, "trace");
  EXPECT_TRUE(line->options.to_pod);
  EXPECT_EQ(line->options.node, "node-a");
  EXPECT_EQ(line->options.bpffs_root, "/x");
  EXPECT_EQ(line->options.args.size(), 2u);

  line = ParseCommandLine({"status", "--cluster", "--netns", "lab"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_TRUE(line->options.cluster);
  EXPECT_EQ(line->options.netns, "lab");

  EXPECT_EQ(ParseCommandLine({"status", "--node="}).status().message(),
            "--node needs a node name");

  std::ostringstream out, err;
  Context context{.out = &out, .err = &err};
  line = ParseCommandLine({"get", "svc", "--node", "node-a"});
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(RunCommand(*line, context).message(), "get does not take --node");
  line = ParseCommandLine({"bpf", "ct", "--netns", "lab"});
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(RunCommand(*line, context).message(), "bpf does not take --netns");
  line = ParseCommandLine({"trace", "a", "b", "--from-pod", "--to-pod"});
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(RunCommand(*line, context).message(),
            "give --from-pod or --to-pod, not both");
  line = ParseCommandLine({"bpf", "maps", "--bpffs-root", "/nonexistent"});
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(RunCommand(*line, context).message(),
            "no node has maps pinned under /nonexistent (has yard-agent run "
            "on this machine? --bpffs-root sets the folder)");
}

}  // namespace
}  // namespace switchyard::ctl
