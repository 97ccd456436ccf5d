// SPDX-License-Identifier: Apache-2.0
// The tc datapath (yard_from_pod, yard_to_pod) run through BPF_PROG_TEST_RUN
// on the real programs, loaded by Datapath::Load without pinning.
//
// First a packet table: one row per behaviour, with the map state of a
// small cluster, the input frame, the program, the expected verdict, the
// expected output frame (built from scratch by the packet library,
// checksums included) and the reason counters the packet must move. Then
// the behaviours that take several packets: connection tracking, replies,
// stickiness, the spread of new flows, endpoint churn, re-selection after
// FIN/RST, hairpin in both directions.
//
// Every test loads its own datapath (about 40 ms), so no state leaks from
// one test into the next.
#include "control/kernel/datapath.h"

#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "control/common/scoped_fd.h"
#include "control/kernel/bpf_map.h"
#include "control/kernel/datapath_maps.h"
#include "control/packet/icmp_quote.h"
#include "control/packet/packet_builder.h"
#include "control/packet/packet_decoder.h"
#include "gtest/gtest.h"
#include "tests/bpf/datapath_fixture.h"
#include "tests/packet/map_keys.h"
#include "tests/packet/prog_run.h"
#include "tests/packet/service_port.h"

namespace switchyard {
namespace {

using kernel::Datapath;
using kernel::DatapathConfig;
using kernel::DatapathMaps;
using packet::Bytes;
using packet::CtKey;
using packet::Decode;
using packet::DiffFrames;
using packet::IpBe;
using packet::Mac;
using packet::PacketBuilder;
using packet::PortBe;
using packet::ProgRun;

constexpr int kActOk = 0;        // TC_ACT_OK
constexpr int kActShot = 2;      // TC_ACT_SHOT
constexpr int kActRedirect = 7;  // TC_ACT_REDIRECT

// ---------------------------------------------------------------------------
// The cluster every test starts from. Ids: backend ids index yard_be4;
// each service port uses the same number as its svc_id and rev_nat_id.

// The client pod, and the host side of its veth.
constexpr absl::string_view kClient = "10.244.0.5";
constexpr Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x05};
constexpr Mac kHostMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr absl::string_view kHairpin = "169.254.42.1";

// "web": TCP/80 -> one backend; UDP/53 -> one backend; nothing else.
constexpr absl::string_view kWebIp = "10.96.0.10";
// "empty": TCP/443 and UDP/53 without endpoints.
constexpr absl::string_view kEmptyIp = "10.96.0.20";
// "self": the client pod is the only endpoint (hairpin).
constexpr absl::string_view kSelfIp = "10.96.0.30";
// "pair": TCP/80 -> two backends.
constexpr absl::string_view kPairIp = "10.96.0.40";
// "broken": count 1 but slot 1 never written.
constexpr absl::string_view kBrokenIp = "10.96.0.50";

// A pod address that is no service.
constexpr absl::string_view kOtherPod = "10.244.7.7";

struct BackendSpec {
  uint32_t id;
  absl::string_view addr;
  uint16_t port;
};
constexpr BackendSpec kBeWeb = {1, "10.244.1.2", 8080};
constexpr BackendSpec kBeDns = {2, "10.244.1.3", 5353};
constexpr BackendSpec kBeSelfTcp = {3, kClient, 8080};
constexpr BackendSpec kBeSelfUdp = {4, kClient, 5353};
constexpr BackendSpec kBePairA = {5, "10.244.3.4", 80};
constexpr BackendSpec kBePairB = {6, "10.244.4.5", 80};
// Not in any slot at start: endpoints that churn tests add.
constexpr BackendSpec kBeSpareTcp = {7, "10.244.5.6", 8080};
constexpr BackendSpec kBeSpareUdp = {8, "10.244.6.7", 5353};

constexpr uint32_t kWebTcp80 = 1;
constexpr uint32_t kWebUdp53 = 2;
constexpr uint32_t kEmptyTcp443 = 3;
constexpr uint32_t kEmptyUdp53 = 4;
constexpr uint32_t kSelfTcp80 = 5;
constexpr uint32_t kSelfUdp53 = 6;
constexpr uint32_t kPairTcp80 = 7;
constexpr uint32_t kBrokenTcp80 = 8;
constexpr uint32_t kLastFrontend = 8;

// A TCP MSS option, so SYNs look like SYNs.
const Bytes kMss = {0x02, 0x04, 0x05, 0xb4};

// Frames the pod sends (seen by yard_from_pod) and frames towards the pod
// (seen by yard_to_pod, or answers the datapath turns around).
PacketBuilder FromPod() {
  return PacketBuilder().EthSrc(kClientMac).EthDst(kHostMac);
}
PacketBuilder ToPod() {
  return PacketBuilder().EthSrc(kHostMac).EthDst(kClientMac);
}

// The RST the datapath must answer with: a fresh IPv4 header (TTL 64, id
// 0, DF), no TCP options, window 0, from the address the client tried.
Bytes ExpectedRst(absl::string_view from, uint16_t from_port,
                  uint16_t client_port, uint8_t flags, uint32_t seq,
                  uint32_t ack_seq) {
  return ToPod()
      .Ipv4(from, kClient)
      .Tos(0)
      .Id(0)
      .Ttl(64)
      .DontFragment()
      .Tcp(from_port, client_port)
      .Flags(flags)
      .Seq(seq)
      .AckSeq(ack_seq)
      .Window(0)
      .Build();
}

// ICMP port unreachable quoting the request's IPv4 header (options
// included) and the first 8 bytes after it.
Bytes ExpectedPortUnreachable(absl::string_view from, const Bytes& request) {
  return ToPod()
      .Ipv4(from, kClient)
      .Tos(0)
      .Id(0)
      .Ttl(64)
      .Icmp(packet::kIcmpDestUnreach, packet::kIcmpPortUnreach, 0)
      .Payload(packet::Quote(request))
      .Build();
}

using bpf_test::ReasonCounts;

enum class Hook { kFromPod, kToPod };

// ---------------------------------------------------------------------------

class DatapathTest : public ::testing::Test {
 protected:
  static DatapathConfig SmallConfig() {
    DatapathConfig config;  // empty pin_dir: nothing pinned
    config.max_frontends = 64;
    config.max_slots = 256;
    config.max_backends = 64;
    config.max_ct_entries = 4096;
    return config;
  }

  void SetUp() override { ASSERT_NO_FATAL_FAILURE(Load(SmallConfig())); }

  void Load(const DatapathConfig& config) {
    dp_.reset();
    absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
    ASSERT_TRUE(dp.ok()) << dp.status();
    dp_ = std::move(*dp);
    ASSERT_NO_FATAL_FAILURE(InstallCluster());
  }

  DatapathMaps& maps() { return dp_->maps(); }

  void PutBackend(const BackendSpec& be, uint8_t state = YARD_BACKEND_ACTIVE) {
    yard_backend4 value = {};
    value.addr = IpBe(be.addr);
    value.port = PortBe(be.port);
    value.state = state;
    ASSERT_OK(maps().PutBackend(be.id, value));
  }

  // Writes in the datapath's add order: slots, reverse NAT, then the
  // frontend that makes them reachable.
  void PutServicePort(absl::string_view addr, uint16_t port, uint8_t proto,
                      uint32_t id, const std::vector<uint32_t>& backends,
                      std::optional<uint16_t> count = std::nullopt) {
    ASSERT_OK(packet::WriteServicePort(maps(), {.addr = std::string(addr),
                                                .port = port,
                                                .proto = proto,
                                                .id = id,
                                                .backends = backends,
                                                .count = count}));
  }

  absl::Status SetCount(absl::string_view addr, uint16_t port, uint8_t proto,
                        uint32_t id, uint16_t count) {
    yard_svc_value value = {};
    value.svc_id = id;
    value.rev_nat_id = id;
    value.count = count;
    value.policy = YARD_POLICY_RANDOM;
    return maps().PutFrontend(
        kernel::ServiceKey(IpBe(addr), PortBe(port), proto), value);
  }

  void PutWildcard(absl::string_view addr) {
    yard_svc_value value = {};
    value.flags = YARD_SVC_F_WILDCARD;
    ASSERT_OK(maps().PutFrontend(kernel::WildcardKey(IpBe(addr)), value));
  }

  void InstallCluster() {
    for (const BackendSpec& be :
         {kBeWeb, kBeDns, kBeSelfTcp, kBeSelfUdp, kBePairA, kBePairB}) {
      ASSERT_NO_FATAL_FAILURE(PutBackend(be));
    }
    using packet::kProtoTcp;
    using packet::kProtoUdp;
    PutServicePort(kWebIp, 80, kProtoTcp, kWebTcp80, {kBeWeb.id});
    PutServicePort(kWebIp, 53, kProtoUdp, kWebUdp53, {kBeDns.id});
    PutServicePort(kEmptyIp, 443, kProtoTcp, kEmptyTcp443, {});
    PutServicePort(kEmptyIp, 53, kProtoUdp, kEmptyUdp53, {});
    PutServicePort(kSelfIp, 80, kProtoTcp, kSelfTcp80, {kBeSelfTcp.id});
    PutServicePort(kSelfIp, 53, kProtoUdp, kSelfUdp53, {kBeSelfUdp.id});
    PutServicePort(kPairIp, 80, kProtoTcp, kPairTcp80,
                   {kBePairA.id, kBePairB.id});
    PutServicePort(kBrokenIp, 80, kProtoTcp, kBrokenTcp80, {}, 1);
    for (absl::string_view addr :
         {kWebIp, kEmptyIp, kSelfIp, kPairIp, kBrokenIp}) {
      ASSERT_NO_FATAL_FAILURE(PutWildcard(addr));
    }
  }

  // Runs one frame; a failed test run is a test failure, reported as
  // verdict -1 so the caller's expectations fail too.
  ProgRun Run(Hook hook, const Bytes& frame) {
    const int fd =
        hook == Hook::kFromPod ? dp_->from_pod_fd() : dp_->to_pod_fd();
    absl::StatusOr<ProgRun> run = packet::RunProg(fd, frame);
    if (!run.ok()) {
      ADD_FAILURE() << run.status();
      return ProgRun{-1, {}, 0};
    }
    return *std::move(run);
  }

  // Runs a frame that must be translated (verdict), checks the output
  // against `want` and the output's checksums from scratch.
  void ExpectRun(Hook hook, const Bytes& in, int verdict, const Bytes& want) {
    const ProgRun run = Run(hook, in);
    EXPECT_EQ(run.verdict, verdict);
    ExpectFrame(want, run.output);
  }

  static void ExpectFrame(const Bytes& want, const Bytes& got) {
    bpf_test::ExpectFrame(want, got);
  }

  // Every reason counter equals `want` (absent: 0): each packet the
  // datapath does not simply translate or pass is counted exactly once.
  void ExpectReasons(const ReasonCounts& want) {
    bpf_test::ExpectReasons(maps(), want);
  }

  yard_svc_stats Stats(uint32_t rev_nat_id) {
    absl::StatusOr<yard_svc_stats> s = maps().ServiceStats(rev_nat_id);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : yard_svc_stats{};
  }

  std::optional<yard_ct4_value> Ct(const yard_ct4_key& key) {
    absl::StatusOr<std::optional<yard_ct4_value>> v = maps().LookupCt(key);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : std::nullopt;
  }

  size_t CtEntries() {
    auto all = maps().DumpCt();
    EXPECT_TRUE(all.ok()) << all.status();
    return all.ok() ? all->size() : 0;
  }

  // Points the single slot of a one-backend service port at another
  // backend, as the agent does when the endpoint is replaced.
  void ReplaceOnlyBackend(uint32_t service_id, const BackendSpec& be) {
    ASSERT_NO_FATAL_FAILURE(PutBackend(be));
    ASSERT_OK(maps().PutSlot({service_id, 1}, {be.id}));
  }

  std::unique_ptr<Datapath> dp_;
};

std::string DaddrOf(const Bytes& frame) {
  const packet::DecodedFrame d = Decode(frame);
  return d.ip.has_value() ? packet::FormatIp(d.ip->daddr) : "(not ipv4)";
}

// ---------------------------------------------------------------------------
// The packet table.

using Table = bpf_test::FrameTable<Hook, kActOk, kActShot, kActRedirect>;
using PacketCase = Table::Row;
constexpr auto* Dropped = &Table::Dropped;
constexpr auto* Rejected = &Table::Rejected;
constexpr auto* Translated = &Table::Translated;

PacketCase Unchanged(std::string name, Bytes input, ReasonCounts reasons = {},
                     Hook hook = Hook::kFromPod) {
  return Table::Unchanged(std::move(name), std::move(input), std::move(reasons),
                          hook);
}

std::vector<PacketCase> TranslationCases() {
  using namespace packet;  // NOLINT: flags and protocol constants
  std::vector<PacketCase> cases;
  cases.push_back(Translated("TcpSynToClusterIpIsDnated",
                             FromPod()
                                 .Ipv4(kClient, kWebIp)
                                 .Id(4321)
                                 .Ttl(63)
                                 .Tos(0x10)
                                 .DontFragment()
                                 .Tcp(40000, 80)
                                 .Flags(kTcpSyn)
                                 .Seq(1000)
                                 .TcpOptions(kMss)
                                 .Build(),
                             FromPod()
                                 .Ipv4(kClient, kBeWeb.addr)
                                 .Id(4321)
                                 .Ttl(63)
                                 .Tos(0x10)
                                 .DontFragment()
                                 .Tcp(40000, kBeWeb.port)
                                 .Flags(kTcpSyn)
                                 .Seq(1000)
                                 .TcpOptions(kMss)
                                 .Build(),
                             kWebTcp80));
  cases.push_back(Translated("TcpDataWithoutSynStartsAFlow",
                             FromPod()
                                 .Ipv4(kClient, kWebIp)
                                 .Tcp(40001, 80)
                                 .Flags(kTcpAck | kTcpPsh)
                                 .Seq(77)
                                 .AckSeq(88)
                                 .Payload("GET / HTTP/1.1\r\nHost: web\r\n\r\n")
                                 .Build(),
                             FromPod()
                                 .Ipv4(kClient, kBeWeb.addr)
                                 .Tcp(40001, kBeWeb.port)
                                 .Flags(kTcpAck | kTcpPsh)
                                 .Seq(77)
                                 .AckSeq(88)
                                 .Payload("GET / HTTP/1.1\r\nHost: web\r\n\r\n")
                                 .Build(),
                             kWebTcp80));
  cases.push_back(Translated("UdpToClusterIpIsDnated",
                             FromPod()
                                 .Ipv4(kClient, kWebIp)
                                 .Id(9)
                                 .Udp(5000, 53)
                                 .Payload("query")
                                 .Build(),
                             FromPod()
                                 .Ipv4(kClient, kBeDns.addr)
                                 .Id(9)
                                 .Udp(5000, kBeDns.port)
                                 .Payload("query")
                                 .Build(),
                             kWebUdp53));
  cases.push_back(Translated("UdpZeroChecksumStaysZero",
                             FromPod()
                                 .Ipv4(kClient, kWebIp)
                                 .Udp(5001, 53)
                                 .NoUdpChecksum()
                                 .Payload("query")
                                 .Build(),
                             FromPod()
                                 .Ipv4(kClient, kBeDns.addr)
                                 .Udp(5001, kBeDns.port)
                                 .NoUdpChecksum()
                                 .Payload("query")
                                 .Build(),
                             kWebUdp53));
  // Router alert plus padding: IHL 7, so TCP starts 28 bytes in.
  const Bytes options = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};
  cases.push_back(Translated("IpOptionsTcpIsDnatedAfterTheOptions",
                             FromPod()
                                 .Ipv4(kClient, kWebIp)
                                 .IpOptions(options)
                                 .Tcp(40002, 80)
                                 .Flags(kTcpSyn)
                                 .Seq(5)
                                 .TcpOptions(kMss)
                                 .Build(),
                             FromPod()
                                 .Ipv4(kClient, kBeWeb.addr)
                                 .IpOptions(options)
                                 .Tcp(40002, kBeWeb.port)
                                 .Flags(kTcpSyn)
                                 .Seq(5)
                                 .TcpOptions(kMss)
                                 .Build(),
                             kWebTcp80));
  // The longest header there is: IHL 15, 40 bytes of options.
  const Bytes max_options(40, 0x01);
  cases.push_back(Translated("MaxIpOptionsUdpIsDnated",
                             FromPod()
                                 .Ipv4(kClient, kWebIp)
                                 .IpOptions(max_options)
                                 .Udp(5002, 53)
                                 .Payload("q")
                                 .Build(),
                             FromPod()
                                 .Ipv4(kClient, kBeDns.addr)
                                 .IpOptions(max_options)
                                 .Udp(5002, kBeDns.port)
                                 .Payload("q")
                                 .Build(),
                             kWebUdp53));
  cases.push_back(Translated("EthernetPaddingIsKept",
                             FromPod()
                                 .Ipv4(kClient, kWebIp)
                                 .Udp(5003, 53)
                                 .Payload("x")
                                 .Trailer(Bytes(60 - 43, 0))
                                 .Build(),
                             FromPod()
                                 .Ipv4(kClient, kBeDns.addr)
                                 .Udp(5003, kBeDns.port)
                                 .Payload("x")
                                 .Trailer(Bytes(60 - 43, 0))
                                 .Build(),
                             kWebUdp53));
  // The client is its own endpoint: the source becomes the hairpin
  // address and the frame goes straight back to the pod.
  cases.push_back(PacketCase{"HairpinSynGetsHairpinSourceAndGoesBack",
                             Hook::kFromPod,
                             FromPod()
                                 .Ipv4(kClient, kSelfIp)
                                 .Tcp(40003, 80)
                                 .Flags(kTcpSyn)
                                 .Seq(9)
                                 .Build(),
                             kActRedirect,
                             ToPod()
                                 .Ipv4(kHairpin, kClient)
                                 .Tcp(40003, kBeSelfTcp.port)
                                 .Flags(kTcpSyn)
                                 .Seq(9)
                                 .Build(),
                             {},
                             kSelfTcp80});
  return cases;
}

std::vector<PacketCase> RejectCases() {
  using namespace packet;  // NOLINT
  std::vector<PacketCase> cases;
  // The request's own TOS, id and TTL must not leak into the answer.
  cases.push_back(
      Rejected("TcpSynWithoutEndpointsGetsRstAck",
               FromPod()
                   .Ipv4(kClient, kEmptyIp)
                   .Tos(0x10)
                   .Id(999)
                   .Ttl(61)
                   .DontFragment()
                   .Tcp(40010, 443)
                   .Flags(kTcpSyn)
                   .Seq(1000)
                   .TcpOptions(kMss)
                   .Build(),
               ExpectedRst(kEmptyIp, 443, 40010, kTcpRst | kTcpAck, 0, 1001),
               YARD_REASON_REJECT_NO_ENDPOINT));
  cases.push_back(
      Rejected("TcpAckWithoutEndpointsGetsRstWithItsAckAsSeq",
               FromPod()
                   .Ipv4(kClient, kEmptyIp)
                   .Tcp(40011, 443)
                   .Flags(kTcpAck | kTcpPsh)
                   .Seq(5000)
                   .AckSeq(777777)
                   .Payload(Bytes(100, 'a'))
                   .Build(),
               ExpectedRst(kEmptyIp, 443, 40011, kTcpRst, 777777, 0),
               YARD_REASON_REJECT_NO_ENDPOINT));
  cases.push_back(
      Rejected("TcpFinWithoutAckAcksPayloadAndFin",
               FromPod()
                   .Ipv4(kClient, kEmptyIp)
                   .Tcp(40012, 443)
                   .Flags(kTcpFin)
                   .Seq(100)
                   .Payload("0123456789")
                   .Build(),
               ExpectedRst(kEmptyIp, 443, 40012, kTcpRst | kTcpAck, 0, 111),
               YARD_REASON_REJECT_NO_ENDPOINT));
  cases.push_back(
      Rejected("TcpDataWithoutAckAcksPayload",
               FromPod()
                   .Ipv4(kClient, kEmptyIp)
                   .Tcp(40013, 443)
                   .Flags(kTcpPsh)
                   .Seq(0xfffffffe)  // the acknowledgment wraps around
                   .Payload("hello")
                   .Build(),
               ExpectedRst(kEmptyIp, 443, 40013, kTcpRst | kTcpAck, 0, 3),
               YARD_REASON_REJECT_NO_ENDPOINT));
  cases.push_back(
      Rejected("TcpOptionsDoNotCountAsSegmentLength",
               FromPod()
                   .Ipv4(kClient, kEmptyIp)
                   .Tcp(40014, 443)
                   .Flags(kTcpSyn)
                   .Seq(41)
                   .TcpOptions({0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x01, 0x01,
                                0x01, 0x03, 0x03, 0x07})
                   .Build(),
               ExpectedRst(kEmptyIp, 443, 40014, kTcpRst | kTcpAck, 0, 42),
               YARD_REASON_REJECT_NO_ENDPOINT));
  cases.push_back(
      Rejected("TcpWithIpOptionsGetsFreshHeader",
               FromPod()
                   .Ipv4(kClient, kEmptyIp)
                   .IpOptions({0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00})
                   .Tcp(40015, 443)
                   .Flags(kTcpSyn)
                   .Seq(7)
                   .Build(),
               ExpectedRst(kEmptyIp, 443, 40015, kTcpRst | kTcpAck, 0, 8),
               YARD_REASON_REJECT_NO_ENDPOINT));

  const Bytes udp = FromPod()
                        .Ipv4(kClient, kEmptyIp)
                        .Id(31)
                        .Ttl(60)
                        .Udp(5353, 53)
                        .Payload("a dns query")
                        .Build();
  cases.push_back(Rejected("UdpWithoutEndpointsGetsPortUnreachable", udp,
                           ExpectedPortUnreachable(kEmptyIp, udp),
                           YARD_REASON_REJECT_NO_ENDPOINT));
  const Bytes udp_options =
      FromPod()
          .Ipv4(kClient, kEmptyIp)
          .IpOptions({0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00})
          .Udp(5354, 53)
          .Payload("query")
          .Build();
  cases.push_back(Rejected("UdpPortUnreachableQuotesIpOptions", udp_options,
                           ExpectedPortUnreachable(kEmptyIp, udp_options),
                           YARD_REASON_REJECT_NO_ENDPOINT));
  const Bytes udp_empty =
      FromPod().Ipv4(kClient, kEmptyIp).Udp(5355, 53).NoUdpChecksum().Build();
  cases.push_back(Rejected("UdpWithoutPayloadQuotesWholeDatagram", udp_empty,
                           ExpectedPortUnreachable(kEmptyIp, udp_empty),
                           YARD_REASON_REJECT_NO_ENDPOINT));

  // Service addresses, but (port, protocol) is none of theirs.
  cases.push_back(
      Rejected("TcpToUndefinedPortGetsRst",
               FromPod()
                   .Ipv4(kClient, kWebIp)
                   .Tcp(40016, 8443)
                   .Flags(kTcpSyn)
                   .Seq(500)
                   .Build(),
               ExpectedRst(kWebIp, 8443, 40016, kTcpRst | kTcpAck, 0, 501),
               YARD_REASON_REJECT_NO_PORT));
  cases.push_back(
      Rejected("Tcp53IsNotUdp53",
               FromPod()
                   .Ipv4(kClient, kWebIp)
                   .Tcp(40017, 53)
                   .Flags(kTcpSyn)
                   .Seq(600)
                   .Build(),
               ExpectedRst(kWebIp, 53, 40017, kTcpRst | kTcpAck, 0, 601),
               YARD_REASON_REJECT_NO_PORT));
  const Bytes udp80 =
      FromPod().Ipv4(kClient, kWebIp).Udp(5356, 80).Payload("x").Build();
  cases.push_back(Rejected("Udp80IsNotTcp80", udp80,
                           ExpectedPortUnreachable(kWebIp, udp80),
                           YARD_REASON_REJECT_NO_PORT));

  // A RST is never answered (RFC 9293): dropped, counted under the reject
  // reason it met, never as a failure to build a reply.
  PacketCase rst = Dropped("TcpRstIsNeverAnswered",
                           FromPod()
                               .Ipv4(kClient, kEmptyIp)
                               .Tcp(40018, 443)
                               .Flags(kTcpRst)
                               .Seq(1)
                               .Build(),
                           YARD_REASON_REJECT_NO_ENDPOINT);
  cases.push_back(rst);
  PacketCase rst_ack = Dropped("TcpRstAckToUndefinedPortIsNeverAnswered",
                               FromPod()
                                   .Ipv4(kClient, kWebIp)
                                   .Tcp(40019, 9999)
                                   .Flags(kTcpRst | kTcpAck)
                                   .Seq(1)
                                   .AckSeq(2)
                                   .Build(),
                               YARD_REASON_REJECT_NO_PORT);
  cases.push_back(rst_ack);
  return cases;
}

std::vector<PacketCase> PassAndDropCases() {
  using namespace packet;  // NOLINT
  std::vector<PacketCase> cases;

  // Not for a service.
  cases.push_back(
      Unchanged("TcpToPodIpPassesUnchanged", FromPod()
                                                 .Ipv4(kClient, kBeWeb.addr)
                                                 .Tcp(40021, 8080)
                                                 .Flags(kTcpSyn)
                                                 .Build()));
  cases.push_back(
      Unchanged("UdpToExternalPassesUnchanged", FromPod()
                                                    .Ipv4(kClient, "192.0.2.53")
                                                    .Udp(5000, 53)
                                                    .Payload("q")
                                                    .Build()));
  cases.push_back(Unchanged("IcmpEchoToPodPassesUnchanged",
                            FromPod()
                                .Ipv4(kClient, kOtherPod)
                                .Icmp(kIcmpEcho, 0, 0x00010001)
                                .Payload("ping")
                                .Build()));
  cases.push_back(Unchanged("HairpinAddressWithoutFlowPassesUnchanged",
                            FromPod()
                                .Ipv4(kClient, kHairpin)
                                .Tcp(8080, 40022)
                                .Flags(kTcpSyn | kTcpAck)
                                .Build()));
  cases.push_back(Dropped("IcmpEchoToClusterIpIsDropped",
                          FromPod()
                              .Ipv4(kClient, kWebIp)
                              .Icmp(kIcmpEcho, 0, 0x00010001)
                              .Payload("ping")
                              .Build(),
                          YARD_REASON_UNSUPPORTED_L4));
  cases.push_back(Dropped("GreToClusterIpIsDropped",
                          FromPod()
                              .Ipv4(kClient, kWebIp)
                              .Protocol(47)
                              .Payload(Bytes(24, 0))
                              .Build(),
                          YARD_REASON_UNSUPPORTED_L4));
  cases.push_back(Dropped(
      "SlotMissingIsDropped",
      FromPod().Ipv4(kClient, kBrokenIp).Tcp(40023, 80).Flags(kTcpSyn).Build(),
      YARD_REASON_SLOT_MISSING));

  // Fragments.
  // A first fragment carries the ports: translated like any packet (its
  // datagram's later fragments follow it; see FragmentedDatagram*).
  cases.push_back(Translated("FirstFragmentToServiceIsTranslated",
                             FromPod()
                                 .Ipv4(kClient, kWebIp)
                                 .MoreFragments()
                                 .Tcp(40024, 80)
                                 .Flags(kTcpAck)
                                 .Payload(Bytes(64, 'x'))
                                 .Build(),
                             FromPod()
                                 .Ipv4(kClient, kBeWeb.addr)
                                 .MoreFragments()
                                 .Tcp(40024, kBeWeb.port)
                                 .Flags(kTcpAck)
                                 .Payload(Bytes(64, 'x'))
                                 .Build(),
                             kWebTcp80));
  // A later fragment whose first was never seen cannot be placed.
  cases.push_back(Dropped("LaterFragmentToServiceIsDropped",
                          FromPod()
                              .Ipv4(kClient, kWebIp)
                              .FragmentOffset(185)
                              .Protocol(kProtoUdp)
                              .Payload(Bytes(40, 'y'))
                              .Build(),
                          YARD_REASON_FRAGMENT));
  cases.push_back(Dropped("LastFragmentOfWildcardPortIsDropped",
                          FromPod()
                              .Ipv4(kClient, kEmptyIp)
                              .FragmentOffset(10)
                              .Protocol(kProtoTcp)
                              .Payload(Bytes(16, 'z'))
                              .Build(),
                          YARD_REASON_FRAGMENT));
  cases.push_back(Unchanged("FirstFragmentToPodPassesUnchanged",
                            FromPod()
                                .Ipv4(kClient, kOtherPod)
                                .MoreFragments()
                                .Udp(5000, 53)
                                .Payload(Bytes(64, 'x'))
                                .Build()));
  cases.push_back(Unchanged("LaterFragmentToPodPassesUnchanged",
                            FromPod()
                                .Ipv4(kClient, kOtherPod)
                                .MoreFragments()
                                .FragmentOffset(9)
                                .Protocol(kProtoUdp)
                                .Payload(Bytes(72, 'y'))
                                .Build()));

  // Not IPv4, or tagged.
  cases.push_back(
      Unchanged("ArpPassesCounted",
                FromPod().EtherType(kEthArp).Payload(Bytes(28, 0x11)).Build(),
                {{YARD_REASON_NOT_IPV4, 1}}));
  cases.push_back(
      Unchanged("Ipv6PassesCounted",
                FromPod().EtherType(kEthIpv6).Payload(Bytes(60, 0x60)).Build(),
                {{YARD_REASON_NOT_IPV4, 1}}));
  cases.push_back(
      Unchanged("ShortNonIpFramePassesCounted",
                FromPod().EtherType(kEthArp).Payload(Bytes(4, 0x11)).Build(),
                {{YARD_REASON_NOT_IPV4, 1}}));
  cases.push_back(Unchanged("VlanTaggedServicePacketPassesCounted",
                            FromPod()
                                .Vlan(100)
                                .Ipv4(kClient, kWebIp)
                                .Tcp(40025, 80)
                                .Flags(kTcpSyn)
                                .Build(),
                            {{YARD_REASON_VLAN, 1}}));
  cases.push_back(Unchanged("QinQTaggedFramePassesCounted",
                            FromPod()
                                .Vlan(200, kEth8021AD)
                                .Ipv4(kClient, kWebIp)
                                .Udp(5000, 53)
                                .Build(),
                            {{YARD_REASON_VLAN, 1}}));
  cases.push_back(Unchanged(
      "ShortVlanFramePassesCounted",
      FromPod().Vlan(100).EtherType(kEthIpv4).Payload(Bytes(2, 0x45)).Build(),
      {{YARD_REASON_VLAN, 1}}));

  // Broken IPv4 headers.
  cases.push_back(
      Dropped("Ihl4IsDropped",
              FromPod().Ipv4(kClient, kWebIp).Ihl(4).Tcp(40026, 80).Build(),
              YARD_REASON_BAD_IP_HEADER));
  cases.push_back(
      Dropped("Ihl0ToPodIsDropped",
              FromPod().Ipv4(kClient, kOtherPod).Ihl(0).Udp(5000, 53).Build(),
              YARD_REASON_BAD_IP_HEADER));
  cases.push_back(Dropped(
      "Version6InIpv4FrameIsDropped",
      FromPod().Ipv4(kClient, kWebIp).IpVersion(6).Tcp(40027, 80).Build(),
      YARD_REASON_BAD_IP_HEADER));
  cases.push_back(Dropped(
      "TotalLengthBelowHeaderIsDropped",
      FromPod().Ipv4(kClient, kWebIp).TotalLength(19).Tcp(40028, 80).Build(),
      YARD_REASON_BAD_IP_HEADER));

  // Frames that end early, at each header boundary and inside each
  // header. tot_len is what the full packet would have had, unless noted.
  // (Frames that end before a whole IPv4 header: see
  // ShortIpv4FramesAreDroppedOrRefused.)
  PacketBuilder full_syn = FromPod()
                               .Ipv4(kClient, kWebIp)
                               .IpOptions({0x01, 0x01, 0x01, 0x00})
                               .Tcp(40029, 80)
                               .Flags(kTcpSyn)
                               .Payload("abc");
  const size_t eth = kEthHeaderLen;
  for (const auto& [name, length] : std::vector<std::pair<std::string, size_t>>{
           {"CutAfterFixedIpHeaderIsTruncated", eth + 20},
           {"CutInsideIpOptionsIsTruncated", eth + 22},
           {"CutAfterIpOptionsIsTruncated", eth + 24},
           {"CutInsideTcpHeaderIsTruncated", eth + 24 + 13},
           {"CutAfterTcpHeaderIsTruncated", eth + 24 + 20},
           {"CutInsidePayloadIsTruncated", eth + 24 + 22},
       }) {
    cases.push_back(Dropped(name,
                            PacketBuilder(full_syn).TruncateTo(length).Build(),
                            YARD_REASON_TRUNCATED));
  }
  cases.push_back(Dropped("CutFrameToPodIsTruncated",
                          FromPod()
                              .Ipv4(kClient, kOtherPod)
                              .Udp(5000, 53)
                              .Payload("query")
                              .TruncateTo(eth + 20 + 4)
                              .Build(),
                          YARD_REASON_TRUNCATED));
  // Datagrams whose own tot_len ends inside the L4 header.
  cases.push_back(Dropped("NoL4BytesToServiceIsTruncated",
                          FromPod()
                              .Ipv4(kClient, kWebIp)
                              .TotalLength(20)
                              .Tcp(40030, 80)
                              .TruncateTo(eth + 20)
                              .Build(),
                          YARD_REASON_TRUNCATED));
  cases.push_back(Dropped("ShortTcpHeaderToServiceIsTruncated",
                          FromPod()
                              .Ipv4(kClient, kWebIp)
                              .TotalLength(20 + 19)
                              .Tcp(40031, 80)
                              .TruncateTo(eth + 20 + 19)
                              .Build(),
                          YARD_REASON_TRUNCATED));
  cases.push_back(Dropped("ShortUdpHeaderToServiceIsTruncated",
                          FromPod()
                              .Ipv4(kClient, kWebIp)
                              .TotalLength(20 + 7)
                              .Udp(5000, 53)
                              .TruncateTo(eth + 20 + 7)
                              .Build(),
                          YARD_REASON_TRUNCATED));
  cases.push_back(Unchanged("ShortTcpHeaderToPodPassesUnchanged",
                            FromPod()
                                .Ipv4(kClient, kOtherPod)
                                .TotalLength(20 + 10)
                                .Tcp(40032, 80)
                                .TruncateTo(eth + 20 + 10)
                                .Build()));

  // yard_to_pod: only replies of tracked flows are touched, and nothing is
  // counted there (the frames entered, and were counted, elsewhere).
  cases.push_back(Unchanged("ToPodUntrackedReplyPassesUnchanged",
                            ToPod()
                                .Ipv4(kBeWeb.addr, kClient)
                                .Tcp(8080, 40033)
                                .Flags(kTcpSyn | kTcpAck)
                                .Build(),
                            {}, Hook::kToPod));
  cases.push_back(
      Unchanged("ToPodArpPassesUncounted",
                ToPod().EtherType(kEthArp).Payload(Bytes(28, 0x22)).Build(), {},
                Hook::kToPod));
  cases.push_back(Unchanged("ToPodTruncatedPassesUncounted",
                            ToPod()
                                .Ipv4(kBeWeb.addr, kClient)
                                .Tcp(8080, 40034)
                                .TruncateTo(eth + 30)
                                .Build(),
                            {}, Hook::kToPod));
  cases.push_back(Unchanged(
      "ToPodVlanPassesUncounted",
      ToPod().Vlan(7).Ipv4(kBeWeb.addr, kClient).Udp(53, 5000).Build(), {},
      Hook::kToPod));
  return cases;
}

std::vector<PacketCase> AllCases() {
  std::vector<PacketCase> all;
  for (auto* part : {&TranslationCases, &RejectCases, &PassAndDropCases}) {
    for (PacketCase& c : (*part)()) all.push_back(std::move(c));
  }
  return all;
}

class PacketTableTest : public DatapathTest,
                        public ::testing::WithParamInterface<PacketCase> {};

TEST_P(PacketTableTest, Run) {
  const PacketCase& c = GetParam();
  SCOPED_TRACE(absl::StrCat("input:\n", packet::Describe(c.input)));
  const ProgRun run = Run(c.hook, c.input);
  EXPECT_EQ(run.verdict, c.verdict);
  if (c.output.has_value()) ExpectFrame(*c.output, run.output);
  ExpectReasons(c.reasons);
  for (uint32_t id = 1; id <= kLastFrontend; ++id) {
    const yard_svc_stats s = Stats(id);
    EXPECT_EQ(s.forward.packets, id == c.translated ? 1u : 0u)
        << "frontend " << id;
    EXPECT_EQ(s.forward.bytes, id == c.translated ? c.input.size() : 0u)
        << "frontend " << id;
    EXPECT_EQ(s.reply.packets, 0u) << "frontend " << id;
  }
  // Only translated packets leave connection tracking state behind.
  EXPECT_EQ(CtEntries(), c.translated != 0 ? 2u : 0u);
}

INSTANTIATE_TEST_SUITE_P(Table, PacketTableTest,
                         ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<PacketCase>& info) {
                           return info.param.name;
                         });

// ---------------------------------------------------------------------------
// Behaviours over several packets.

TEST_F(DatapathTest, ShorterThanEthernetIsRefusedByTheKernel) {
  // BPF_PROG_TEST_RUN will not run a tc program on less than an Ethernet
  // header, so this is the only assertion such a frame allows.
  const Bytes tiny(13, 0xff);
  for (int fd : {dp_->from_pod_fd(), dp_->to_pod_fd()}) {
    absl::StatusOr<ProgRun> run = packet::RunProg(fd, tiny);
    EXPECT_EQ(run.status().code(), absl::StatusCode::kInvalidArgument)
        << run.status();
  }
}

TEST_F(DatapathTest, ShortIpv4FramesAreDroppedOrRefused) {
  // An IPv4 frame that ends inside the fixed IPv4 header. Kernels with the
  // 2026 test_run fix refuse such input (EINVAL) before the program runs;
  // older ones run it, and the datapath must drop it as truncated. Either
  // way nothing may pass.
  const Bytes full = FromPod()
                         .Ipv4(kClient, kWebIp)
                         .Tcp(40200, 80)
                         .Flags(packet::kTcpSyn)
                         .Build();
  uint64_t ran = 0;
  for (size_t length = packet::kEthHeaderLen;
       length < packet::kEthHeaderLen + 20; ++length) {
    SCOPED_TRACE(absl::StrCat("frame of ", length, " bytes"));
    const Bytes cut(full.begin(), full.begin() + length);
    absl::StatusOr<ProgRun> run = packet::RunProg(dp_->from_pod_fd(), cut);
    if (!run.ok()) {
      EXPECT_EQ(run.status().code(), absl::StatusCode::kInvalidArgument)
          << run.status();
      continue;
    }
    EXPECT_EQ(run->verdict, kActShot);
    ++ran;
  }
  ExpectReasons({{YARD_REASON_TRUNCATED, ran}});
}

TEST_F(DatapathTest, TcpFlowIsTrackedAndRepliesComeFromTheClusterIp) {
  using namespace packet;  // NOLINT
  const Bytes syn = FromPod()
                        .Ipv4(kClient, kWebIp)
                        .Id(1)
                        .DontFragment()
                        .Tcp(40100, 80)
                        .Flags(kTcpSyn)
                        .Seq(1000)
                        .TcpOptions(kMss)
                        .Build();
  ExpectRun(Hook::kFromPod, syn, kActOk,
            FromPod()
                .Ipv4(kClient, kBeWeb.addr)
                .Id(1)
                .DontFragment()
                .Tcp(40100, kBeWeb.port)
                .Flags(kTcpSyn)
                .Seq(1000)
                .TcpOptions(kMss)
                .Build());

  const yard_ct4_key fwd_key =
      CtKey(kClient, 40100, kWebIp, 80, kProtoTcp, YARD_CT_FORWARD);
  const yard_ct4_key rep_key =
      CtKey(kBeWeb.addr, kBeWeb.port, kClient, 40100, kProtoTcp, YARD_CT_REPLY);
  std::optional<yard_ct4_value> fwd = Ct(fwd_key);
  std::optional<yard_ct4_value> rep = Ct(rep_key);
  ASSERT_TRUE(fwd.has_value());
  ASSERT_TRUE(rep.has_value());
  EXPECT_EQ(fwd->backend_id, kBeWeb.id);
  EXPECT_EQ(fwd->rev_nat_id, kWebTcp80);
  EXPECT_EQ(fwd->addr, IpBe(kBeWeb.addr));
  EXPECT_EQ(fwd->port, PortBe(kBeWeb.port));
  EXPECT_EQ(fwd->flags, 0);
  EXPECT_EQ(fwd->packets, 1u);
  EXPECT_EQ(fwd->bytes, syn.size());
  EXPECT_NE(fwd->created_ns, 0u);
  EXPECT_EQ(fwd->last_seen_ns, fwd->created_ns);
  EXPECT_EQ(rep->backend_id, kBeWeb.id);
  EXPECT_EQ(rep->rev_nat_id, kWebTcp80);
  EXPECT_EQ(rep->addr, IpBe(kClient));
  EXPECT_EQ(rep->port, PortBe(40100));
  // The frontend replies come from, held in the entry.
  EXPECT_EQ(rep->nat_addr, IpBe(kWebIp));
  EXPECT_EQ(rep->nat_port, PortBe(80));
  EXPECT_EQ(rep->flags, 0);
  EXPECT_EQ(rep->packets, 0u);
  EXPECT_EQ(CtEntries(), 2u);

  // The endpoint answers; the pod must see the ClusterIP answer.
  const Bytes syn_ack = ToPod()
                            .Ipv4(kBeWeb.addr, kClient)
                            .Id(55)
                            .DontFragment()
                            .Tcp(kBeWeb.port, 40100)
                            .Flags(kTcpSyn | kTcpAck)
                            .Seq(5000)
                            .AckSeq(1001)
                            .TcpOptions(kMss)
                            .Build();
  ExpectRun(Hook::kToPod, syn_ack, kActOk,
            ToPod()
                .Ipv4(kWebIp, kClient)
                .Id(55)
                .DontFragment()
                .Tcp(80, 40100)
                .Flags(kTcpSyn | kTcpAck)
                .Seq(5000)
                .AckSeq(1001)
                .TcpOptions(kMss)
                .Build());
  rep = Ct(rep_key);
  ASSERT_TRUE(rep.has_value());
  EXPECT_EQ(rep->flags, YARD_CT_F_SEEN_REPLY);
  EXPECT_EQ(rep->packets, 1u);
  EXPECT_EQ(rep->bytes, syn_ack.size());

  const Bytes ack = FromPod()
                        .Ipv4(kClient, kWebIp)
                        .Id(2)
                        .Tcp(40100, 80)
                        .Flags(kTcpAck | kTcpPsh)
                        .Seq(1001)
                        .AckSeq(5001)
                        .Payload("GET /")
                        .Build();
  ExpectRun(Hook::kFromPod, ack, kActOk,
            FromPod()
                .Ipv4(kClient, kBeWeb.addr)
                .Id(2)
                .Tcp(40100, kBeWeb.port)
                .Flags(kTcpAck | kTcpPsh)
                .Seq(1001)
                .AckSeq(5001)
                .Payload("GET /")
                .Build());
  fwd = Ct(fwd_key);
  ASSERT_TRUE(fwd.has_value());
  EXPECT_EQ(fwd->packets, 2u);
  EXPECT_EQ(fwd->bytes, syn.size() + ack.size());
  EXPECT_GE(fwd->last_seen_ns, fwd->created_ns);

  // A reply carrying IP options is reverse-translated after them.
  const Bytes options = {0x01, 0x01, 0x01, 0x00};
  ExpectRun(Hook::kToPod,
            ToPod()
                .Ipv4(kBeWeb.addr, kClient)
                .IpOptions(options)
                .Tcp(kBeWeb.port, 40100)
                .Flags(kTcpAck)
                .Seq(5001)
                .AckSeq(1006)
                .Payload("200 OK")
                .Build(),
            kActOk,
            ToPod()
                .Ipv4(kWebIp, kClient)
                .IpOptions(options)
                .Tcp(80, 40100)
                .Flags(kTcpAck)
                .Seq(5001)
                .AckSeq(1006)
                .Payload("200 OK")
                .Build());

  const yard_svc_stats stats = Stats(kWebTcp80);
  EXPECT_EQ(stats.forward.packets, 2u);
  EXPECT_EQ(stats.forward.bytes, syn.size() + ack.size());
  EXPECT_EQ(stats.reply.packets, 2u);
  ExpectReasons({});
}

TEST_F(DatapathTest, UdpRepliesKeepAZeroChecksumZero) {
  using namespace packet;  // NOLINT
  ExpectRun(Hook::kFromPod,
            FromPod()
                .Ipv4(kClient, kWebIp)
                .Udp(5100, 53)
                .NoUdpChecksum()
                .Payload("query")
                .Build(),
            kActOk,
            FromPod()
                .Ipv4(kClient, kBeDns.addr)
                .Udp(5100, kBeDns.port)
                .NoUdpChecksum()
                .Payload("query")
                .Build());
  ExpectRun(Hook::kToPod,
            ToPod()
                .Ipv4(kBeDns.addr, kClient)
                .Udp(kBeDns.port, 5100)
                .NoUdpChecksum()
                .Payload("answer")
                .Build(),
            kActOk,
            ToPod()
                .Ipv4(kWebIp, kClient)
                .Udp(53, 5100)
                .NoUdpChecksum()
                .Payload("answer")
                .Build());
  // The same flow with checksums: they are updated, not zeroed.
  ExpectRun(
      Hook::kToPod,
      ToPod()
          .Ipv4(kBeDns.addr, kClient)
          .Udp(kBeDns.port, 5100)
          .Payload("answer 2")
          .Build(),
      kActOk,
      ToPod().Ipv4(kWebIp, kClient).Udp(53, 5100).Payload("answer 2").Build());
  const yard_svc_stats stats = Stats(kWebUdp53);
  EXPECT_EQ(stats.forward.packets, 1u);
  EXPECT_EQ(stats.reply.packets, 2u);
  ExpectReasons({});
}

// A datagram larger than the MTU leaves in fragments; only the first has
// ports. Every fragment must reach the same endpoint, in both directions,
// and a later fragment keeps everything but its addresses.
TEST_F(DatapathTest, FragmentedDatagramIsTranslatedWhole) {
  using namespace packet;  // NOLINT
  ExpectRun(Hook::kFromPod,
            FromPod()
                .Ipv4(kClient, kWebIp)
                .Id(77)
                .MoreFragments()
                .Udp(5200, 53)
                .Payload(Bytes(48, 'a'))
                .Build(),
            kActOk,
            FromPod()
                .Ipv4(kClient, kBeDns.addr)
                .Id(77)
                .MoreFragments()
                .Udp(5200, kBeDns.port)
                .Payload(Bytes(48, 'a'))
                .Build());
  ExpectRun(Hook::kFromPod,
            FromPod()
                .Ipv4(kClient, kWebIp)
                .Id(77)
                .FragmentOffset(7)
                .Protocol(kProtoUdp)
                .Payload(Bytes(40, 'b'))
                .Build(),
            kActOk,
            FromPod()
                .Ipv4(kClient, kBeDns.addr)
                .Id(77)
                .FragmentOffset(7)
                .Protocol(kProtoUdp)
                .Payload(Bytes(40, 'b'))
                .Build());
  // Another datagram's later fragment (another id) is not placed.
  EXPECT_EQ(Run(Hook::kFromPod, FromPod()
                                    .Ipv4(kClient, kWebIp)
                                    .Id(78)
                                    .FragmentOffset(7)
                                    .Protocol(kProtoUdp)
                                    .Payload(Bytes(40, 'c'))
                                    .Build())
                .verdict,
            kActShot);
  // The answer, fragmented too, comes back from the service address.
  ExpectRun(Hook::kToPod,
            ToPod()
                .Ipv4(kBeDns.addr, kClient)
                .Id(900)
                .MoreFragments()
                .Udp(kBeDns.port, 5200)
                .Payload(Bytes(48, 'd'))
                .Build(),
            kActOk,
            ToPod()
                .Ipv4(kWebIp, kClient)
                .Id(900)
                .MoreFragments()
                .Udp(53, 5200)
                .Payload(Bytes(48, 'd'))
                .Build());
  ExpectRun(Hook::kToPod,
            ToPod()
                .Ipv4(kBeDns.addr, kClient)
                .Id(900)
                .FragmentOffset(7)
                .Protocol(kProtoUdp)
                .Payload(Bytes(40, 'e'))
                .Build(),
            kActOk,
            ToPod()
                .Ipv4(kWebIp, kClient)
                .Id(900)
                .FragmentOffset(7)
                .Protocol(kProtoUdp)
                .Payload(Bytes(40, 'e'))
                .Build());
  ExpectReasons({{YARD_REASON_FRAGMENT, 1}});
}

TEST_F(DatapathTest, FlowsStickToTheirBackend) {
  using namespace packet;  // NOLINT
  const std::set<std::string> backends = {std::string(kBePairA.addr),
                                          std::string(kBePairB.addr)};
  for (uint16_t sport = 41000; sport < 41030; ++sport) {
    SCOPED_TRACE(absl::StrCat("sport ", sport));
    const ProgRun first = Run(Hook::kFromPod, FromPod()
                                                  .Ipv4(kClient, kPairIp)
                                                  .Tcp(sport, 80)
                                                  .Flags(kTcpSyn)
                                                  .Seq(1)
                                                  .Build());
    ASSERT_EQ(first.verdict, kActOk);
    const std::string chosen = DaddrOf(first.output);
    ASSERT_TRUE(backends.contains(chosen)) << chosen;
    for (uint32_t i = 0; i < 10; ++i) {
      const std::string data = absl::StrCat("segment ", i);
      ExpectRun(Hook::kFromPod,
                FromPod()
                    .Ipv4(kClient, kPairIp)
                    .Tcp(sport, 80)
                    .Flags(kTcpAck | kTcpPsh)
                    .Seq(2 + i * 16)
                    .AckSeq(1)
                    .Payload(data)
                    .Build(),
                kActOk,
                FromPod()
                    .Ipv4(kClient, chosen)
                    .Tcp(sport, 80)
                    .Flags(kTcpAck | kTcpPsh)
                    .Seq(2 + i * 16)
                    .AckSeq(1)
                    .Payload(data)
                    .Build());
    }
    std::optional<yard_ct4_value> fwd =
        Ct(CtKey(kClient, sport, kPairIp, 80, kProtoTcp, YARD_CT_FORWARD));
    ASSERT_TRUE(fwd.has_value());
    EXPECT_EQ(fwd->packets, 11u);
    EXPECT_EQ(fwd->addr, IpBe(chosen));
  }
  EXPECT_EQ(Stats(kPairTcp80).forward.packets, 30u * 11u);
  ExpectReasons({});
}

TEST_F(DatapathTest, NewFlowsSpreadOverBothBackends) {
  using namespace packet;  // NOLINT
  constexpr int kFlows = 400;
  std::map<std::string, int> hits;
  for (int i = 0; i < kFlows; ++i) {
    const uint16_t sport = static_cast<uint16_t>(20000 + i);
    const ProgRun run = Run(Hook::kFromPod, FromPod()
                                                .Ipv4(kClient, kPairIp)
                                                .Tcp(sport, 80)
                                                .Flags(kTcpSyn)
                                                .Seq(static_cast<uint32_t>(i))
                                                .Build());
    ASSERT_EQ(run.verdict, kActOk);
    const packet::DecodedFrame d = Decode(run.output);
    ASSERT_TRUE(d.tcp.has_value());
    EXPECT_EQ(d.tcp->dport, 80);
    EXPECT_EQ(d.tcp->sport, sport);
    absl::Status checksums = VerifyChecksums(run.output);
    EXPECT_TRUE(checksums.ok()) << checksums;
    ++hits[DaddrOf(run.output)];
  }
  // Uniform choice: each backend's share is Binomial(400, 1/2), mean 200,
  // standard deviation 10. [140, 260] is six deviations wide each way.
  EXPECT_EQ(hits.size(), 2u);
  for (const BackendSpec& be : {kBePairA, kBePairB}) {
    const int n = hits[std::string(be.addr)];
    EXPECT_GE(n, 140) << be.addr;
    EXPECT_LE(n, 260) << be.addr;
  }
  EXPECT_EQ(CtEntries(), 2u * kFlows);
  EXPECT_EQ(Stats(kPairTcp80).forward.packets, static_cast<uint64_t>(kFlows));
  ExpectReasons({});
}

TEST_F(DatapathTest, EstablishedFlowsKeepTheirBackendThroughChurn) {
  using namespace packet;  // NOLINT
  // Enough flows that both backends have some (a miss has odds 2^-39).
  std::map<uint16_t, std::string> flows;
  for (uint16_t sport = 42000; sport < 42040; ++sport) {
    const ProgRun run = Run(
        Hook::kFromPod,
        FromPod().Ipv4(kClient, kPairIp).Tcp(sport, 80).Flags(kTcpSyn).Build());
    ASSERT_EQ(run.verdict, kActOk);
    flows[sport] = DaddrOf(run.output);
  }
  auto on = [&](absl::string_view addr) {
    int n = 0;
    for (const auto& [sport, be] : flows) n += be == addr;
    return n;
  };
  ASSERT_GT(on(kBePairA.addr), 0);
  ASSERT_GT(on(kBePairB.addr), 0);
  auto all_flows_stay = [&](absl::string_view when) {
    SCOPED_TRACE(when);
    for (const auto& [sport, be] : flows) {
      SCOPED_TRACE(absl::StrCat("sport ", sport, " on ", be));
      ExpectRun(Hook::kFromPod,
                FromPod()
                    .Ipv4(kClient, kPairIp)
                    .Tcp(sport, 80)
                    .Flags(kTcpAck)
                    .Seq(1)
                    .Build(),
                kActOk,
                FromPod()
                    .Ipv4(kClient, be)
                    .Tcp(sport, 80)
                    .Flags(kTcpAck)
                    .Seq(1)
                    .Build());
    }
  };

  // Add a third endpoint (backend, slot, then count).
  const BackendSpec spare = {kBeSpareTcp.id, kBeSpareTcp.addr, 80};
  ASSERT_NO_FATAL_FAILURE(PutBackend(spare));
  ASSERT_OK(maps().PutSlot({kPairTcp80, 3}, {spare.id}));
  ASSERT_OK(SetCount(kPairIp, 80, kProtoTcp, kPairTcp80, 3));
  all_flows_stay("after adding a backend");

  // Remove endpoint A from the slots (count, slots, then the backend
  // itself stays until its flows are done): only A's flows could move,
  // and even they stay while A's entry is there.
  ASSERT_OK(maps().PutSlot({kPairTcp80, 1}, {spare.id}));
  ASSERT_OK(SetCount(kPairIp, 80, kProtoTcp, kPairTcp80, 2));
  ASSERT_OK(maps().DeleteSlot({kPairTcp80, 3}));
  all_flows_stay("after removing a backend from the slots");

  // New flows only reach the endpoints still in slots.
  for (uint16_t sport = 43000; sport < 43020; ++sport) {
    const ProgRun run = Run(
        Hook::kFromPod,
        FromPod().Ipv4(kClient, kPairIp).Tcp(sport, 80).Flags(kTcpSyn).Build());
    ASSERT_EQ(run.verdict, kActOk);
    EXPECT_NE(DaddrOf(run.output), kBePairA.addr);
  }
  ExpectReasons({});

  // Clearing A ends A's flows (other than new SYNs) and no one else's.
  ASSERT_OK(maps().ClearBackend(kBePairA.id));
  uint64_t gone = 0;
  for (const auto& [sport, be] : flows) {
    const ProgRun run = Run(Hook::kFromPod, FromPod()
                                                .Ipv4(kClient, kPairIp)
                                                .Tcp(sport, 80)
                                                .Flags(kTcpAck)
                                                .Seq(1)
                                                .Build());
    if (be == kBePairA.addr) {
      EXPECT_EQ(run.verdict, kActShot) << sport;
      ++gone;
    } else {
      EXPECT_EQ(run.verdict, kActOk) << sport;
      EXPECT_EQ(DaddrOf(run.output), be) << sport;
    }
  }
  ExpectReasons({{YARD_REASON_BACKEND_GONE, gone}});
}

TEST_F(DatapathTest, ClearedBackendDropsItsFlowUntilANewSyn) {
  using namespace packet;  // NOLINT
  auto to_web = [](uint8_t flags) {
    return FromPod()
        .Ipv4(kClient, kWebIp)
        .Tcp(44000, 80)
        .Flags(flags)
        .Seq(1)
        .AckSeq(1);
  };
  ExpectRun(Hook::kFromPod, to_web(kTcpSyn).Build(), kActOk,
            FromPod()
                .Ipv4(kClient, kBeWeb.addr)
                .Tcp(44000, kBeWeb.port)
                .Flags(kTcpSyn)
                .Seq(1)
                .AckSeq(1)
                .Build());

  // The endpoint is replaced: new backend in the slot, old one cleared.
  ASSERT_NO_FATAL_FAILURE(ReplaceOnlyBackend(kWebTcp80, kBeSpareTcp));
  ASSERT_OK(maps().ClearBackend(kBeWeb.id));

  EXPECT_EQ(Run(Hook::kFromPod, to_web(kTcpAck).Build()).verdict, kActShot);
  EXPECT_EQ(
      Run(Hook::kFromPod, to_web(kTcpAck | kTcpPsh).Payload("more").Build())
          .verdict,
      kActShot);
  EXPECT_EQ(Run(Hook::kFromPod, to_web(kTcpFin | kTcpAck).Build()).verdict,
            kActShot);
  // SYN|ACK is not a new connection either.
  EXPECT_EQ(Run(Hook::kFromPod, to_web(kTcpSyn | kTcpAck).Build()).verdict,
            kActShot);
  ExpectReasons({{YARD_REASON_BACKEND_GONE, 4}});

  // A new connection on the same tuple chooses again, and stays there.
  ExpectRun(Hook::kFromPod, to_web(kTcpSyn).Build(), kActOk,
            FromPod()
                .Ipv4(kClient, kBeSpareTcp.addr)
                .Tcp(44000, kBeSpareTcp.port)
                .Flags(kTcpSyn)
                .Seq(1)
                .AckSeq(1)
                .Build());
  ExpectRun(Hook::kFromPod, to_web(kTcpAck).Build(), kActOk,
            FromPod()
                .Ipv4(kClient, kBeSpareTcp.addr)
                .Tcp(44000, kBeSpareTcp.port)
                .Flags(kTcpAck)
                .Seq(1)
                .AckSeq(1)
                .Build());
  std::optional<yard_ct4_value> fwd =
      Ct(CtKey(kClient, 44000, kWebIp, 80, kProtoTcp, YARD_CT_FORWARD));
  ASSERT_TRUE(fwd.has_value());
  EXPECT_EQ(fwd->backend_id, kBeSpareTcp.id);
  EXPECT_EQ(fwd->addr, IpBe(kBeSpareTcp.addr));
  EXPECT_TRUE(Ct(CtKey(kBeSpareTcp.addr, kBeSpareTcp.port, kClient, 44000,
                       kProtoTcp, YARD_CT_REPLY))
                  .has_value());
  ExpectReasons({{YARD_REASON_BACKEND_GONE, 4}});
}

TEST_F(DatapathTest, BackendIdReusedForAnotherEndpointDropsOldFlows) {
  using namespace packet;  // NOLINT
  auto to_web = [](uint16_t sport, uint8_t flags) {
    return FromPod().Ipv4(kClient, kWebIp).Tcp(sport, 80).Flags(flags).Build();
  };
  ASSERT_EQ(Run(Hook::kFromPod, to_web(44100, kTcpSyn)).verdict, kActOk);
  ASSERT_EQ(Run(Hook::kFromPod, to_web(44101, kTcpSyn)).verdict, kActOk);

  // Same id, another address: both flows' endpoint is gone. A new SYN
  // on 44100 reaches whatever the id names now.
  ASSERT_NO_FATAL_FAILURE(PutBackend({kBeWeb.id, "10.244.9.9", 8080}));
  EXPECT_EQ(Run(Hook::kFromPod, to_web(44100, kTcpAck)).verdict, kActShot);
  ExpectRun(Hook::kFromPod, to_web(44100, kTcpSyn), kActOk,
            FromPod()
                .Ipv4(kClient, "10.244.9.9")
                .Tcp(44100, 8080)
                .Flags(kTcpSyn)
                .Build());

  // Same id and address, another port: 44100's new endpoint is gone too.
  ASSERT_NO_FATAL_FAILURE(PutBackend({kBeWeb.id, "10.244.9.9", 9090}));
  EXPECT_EQ(Run(Hook::kFromPod, to_web(44100, kTcpAck)).verdict, kActShot);
  EXPECT_EQ(Run(Hook::kFromPod, to_web(44101, kTcpAck)).verdict, kActShot);
  ExpectRun(Hook::kFromPod, to_web(44101, kTcpSyn), kActOk,
            FromPod()
                .Ipv4(kClient, "10.244.9.9")
                .Tcp(44101, 9090)
                .Flags(kTcpSyn)
                .Build());
  ExpectReasons({{YARD_REASON_BACKEND_GONE, 3}});
}

TEST_F(DatapathTest, UdpFlowWhoseBackendIsGoneChoosesAgain) {
  using namespace packet;  // NOLINT
  auto query = [] {
    return FromPod().Ipv4(kClient, kWebIp).Udp(5200, 53).Payload("q");
  };
  ExpectRun(Hook::kFromPod, query().Build(), kActOk,
            FromPod()
                .Ipv4(kClient, kBeDns.addr)
                .Udp(5200, kBeDns.port)
                .Payload("q")
                .Build());
  ASSERT_NO_FATAL_FAILURE(ReplaceOnlyBackend(kWebUdp53, kBeSpareUdp));
  ASSERT_OK(maps().ClearBackend(kBeDns.id));
  // UDP has no handshake: the next datagram simply goes to the new one.
  ExpectRun(Hook::kFromPod, query().Build(), kActOk,
            FromPod()
                .Ipv4(kClient, kBeSpareUdp.addr)
                .Udp(5200, kBeSpareUdp.port)
                .Payload("q")
                .Build());
  ExpectReasons({});
}

// An endpoint no longer listed is retired by the agent, not cleared: its
// TCP connections go on (it may be back in a moment, as after a relist),
// while a new connection on the same tuple and its UDP flows choose an
// endpoint that is listed.
TEST_F(DatapathTest, RetiredBackendKeepsItsTcpFlowsOnly) {
  using namespace packet;  // NOLINT
  auto to_web = [](uint8_t flags) {
    return FromPod()
        .Ipv4(kClient, kWebIp)
        .Tcp(44200, 80)
        .Flags(flags)
        .Seq(1)
        .AckSeq(1);
  };
  auto at = [](const BackendSpec& be, uint8_t flags) {
    return FromPod()
        .Ipv4(kClient, be.addr)
        .Tcp(44200, be.port)
        .Flags(flags)
        .Seq(1)
        .AckSeq(1)
        .Build();
  };
  auto query = [] {
    return FromPod().Ipv4(kClient, kWebIp).Udp(5210, 53).Payload("q");
  };
  ExpectRun(Hook::kFromPod, to_web(kTcpSyn).Build(), kActOk,
            at(kBeWeb, kTcpSyn));
  ASSERT_EQ(Run(Hook::kFromPod, query().Build()).verdict, kActOk);

  // Both endpoints leave the lists: others take their slots, they retire.
  ASSERT_NO_FATAL_FAILURE(ReplaceOnlyBackend(kWebTcp80, kBeSpareTcp));
  ASSERT_NO_FATAL_FAILURE(ReplaceOnlyBackend(kWebUdp53, kBeSpareUdp));
  ASSERT_NO_FATAL_FAILURE(PutBackend(kBeWeb, YARD_BACKEND_RETIRED));
  ASSERT_NO_FATAL_FAILURE(PutBackend(kBeDns, YARD_BACKEND_RETIRED));

  // The connection keeps its endpoint, FIN included.
  ExpectRun(Hook::kFromPod, to_web(kTcpAck).Build(), kActOk,
            at(kBeWeb, kTcpAck));
  ExpectRun(Hook::kFromPod, to_web(kTcpAck | kTcpPsh).Build(), kActOk,
            at(kBeWeb, kTcpAck | kTcpPsh));
  // The datagram flow chooses a listed endpoint.
  ExpectRun(Hook::kFromPod, query().Build(), kActOk,
            FromPod()
                .Ipv4(kClient, kBeSpareUdp.addr)
                .Udp(5210, kBeSpareUdp.port)
                .Payload("q")
                .Build());
  // A new connection on the tuple goes to a listed endpoint too.
  ExpectRun(Hook::kFromPod, to_web(kTcpSyn).Build(), kActOk,
            at(kBeSpareTcp, kTcpSyn));
  ExpectReasons({});

  // The endpoint comes back under its id: flows to it are as they were.
  ASSERT_NO_FATAL_FAILURE(PutBackend(kBeWeb));
  ASSERT_NO_FATAL_FAILURE(ReplaceOnlyBackend(kWebTcp80, kBeWeb));
  ExpectRun(Hook::kFromPod, to_web(kTcpAck).Build(), kActOk,
            at(kBeSpareTcp, kTcpAck));
  ExpectReasons({});
}

TEST_F(DatapathTest, UdpFlowIdleLongerThanTheTimeoutChoosesAgain) {
  using namespace packet;  // NOLINT
  timespec now = {};
  clock_gettime(CLOCK_MONOTONIC, &now);  // the datapath's clock, coarsened
  constexpr uint64_t kIdleNs = 200ull * 1000000000ull;  // > 120 s default
  const uint64_t now_ns = now.tv_sec * 1000000000ull + now.tv_nsec;
  if (now_ns < kIdleNs + 1000000000ull) {
    GTEST_SKIP() << "machine booted less than 200 s ago";
  }
  auto query = [] {
    return FromPod().Ipv4(kClient, kWebIp).Udp(5300, 53).Payload("q");
  };
  ASSERT_EQ(Run(Hook::kFromPod, query().Build()).verdict, kActOk);
  // Another endpoint in the slot; the old one stays valid.
  ASSERT_NO_FATAL_FAILURE(ReplaceOnlyBackend(kWebUdp53, kBeSpareUdp));
  ExpectRun(Hook::kFromPod, query().Build(), kActOk,
            FromPod()
                .Ipv4(kClient, kBeDns.addr)
                .Udp(5300, kBeDns.port)
                .Payload("q")
                .Build());
  // Age the flow past the timeout.
  const yard_ct4_key key =
      CtKey(kClient, 5300, kWebIp, 53, kProtoUdp, YARD_CT_FORWARD);
  std::optional<yard_ct4_value> fwd = Ct(key);
  ASSERT_TRUE(fwd.has_value());
  fwd->last_seen_ns = now_ns - kIdleNs;
  ASSERT_OK(maps().PutCt(key, *fwd));
  ExpectRun(Hook::kFromPod, query().Build(), kActOk,
            FromPod()
                .Ipv4(kClient, kBeSpareUdp.addr)
                .Udp(5300, kBeSpareUdp.port)
                .Payload("q")
                .Build());

  // A TCP segment keeps its backend, however idle (its tuple is another
  // matter: TupleReuseTest).
  const Bytes syn =
      FromPod().Ipv4(kClient, kWebIp).Tcp(44200, 80).Flags(kTcpSyn).Build();
  ASSERT_EQ(Run(Hook::kFromPod, syn).verdict, kActOk);
  ASSERT_NO_FATAL_FAILURE(ReplaceOnlyBackend(kWebTcp80, kBeSpareTcp));
  const yard_ct4_key tcp_key =
      CtKey(kClient, 44200, kWebIp, 80, kProtoTcp, YARD_CT_FORWARD);
  fwd = Ct(tcp_key);
  ASSERT_TRUE(fwd.has_value());
  fwd->last_seen_ns = now_ns - kIdleNs;
  ASSERT_OK(maps().PutCt(tcp_key, *fwd));
  ExpectRun(
      Hook::kFromPod,
      FromPod().Ipv4(kClient, kWebIp).Tcp(44200, 80).Flags(kTcpAck).Build(),
      kActOk,
      FromPod()
          .Ipv4(kClient, kBeWeb.addr)
          .Tcp(44200, kBeWeb.port)
          .Flags(kTcpAck)
          .Build());
  ExpectReasons({});
}

// After the connection on a tuple ends, a SYN on the same tuple is a new
// connection and chooses again; before that, a SYN is a retransmission.
class SynAfterCloseTest : public DatapathTest {
 protected:
  static constexpr uint16_t kSport = 45000;

  PacketBuilder ToWeb(uint8_t flags) {
    return FromPod().Ipv4(kClient, kWebIp).Tcp(kSport, 80).Flags(flags);
  }
  Bytes At(const BackendSpec& be, uint8_t flags) {
    return FromPod()
        .Ipv4(kClient, be.addr)
        .Tcp(kSport, be.port)
        .Flags(flags)
        .Build();
  }
  uint16_t ForwardFlags() {
    std::optional<yard_ct4_value> fwd = Ct(
        CtKey(kClient, kSport, kWebIp, 80, packet::kProtoTcp, YARD_CT_FORWARD));
    EXPECT_TRUE(fwd.has_value());
    return fwd.has_value() ? fwd->flags : 0;
  }

  // A flow to kBeWeb, then kBeSpareTcp takes its slot while kBeWeb stays
  // valid: only a re-selection reaches the spare.
  void Establish() {
    using packet::kTcpSyn;
    ExpectRun(Hook::kFromPod, ToWeb(kTcpSyn).Build(), kActOk,
              At(kBeWeb, kTcpSyn));
    ASSERT_NO_FATAL_FAILURE(ReplaceOnlyBackend(kWebTcp80, kBeSpareTcp));
    // A retransmitted SYN is the same connection.
    ExpectRun(Hook::kFromPod, ToWeb(kTcpSyn).Build(), kActOk,
              At(kBeWeb, kTcpSyn));
    EXPECT_EQ(ForwardFlags() & YARD_CT_F_CLOSING, 0);
  }
};

TEST_F(SynAfterCloseTest, ClientFin) {
  using namespace packet;  // NOLINT
  ASSERT_NO_FATAL_FAILURE(Establish());
  ExpectRun(Hook::kFromPod, ToWeb(kTcpFin | kTcpAck).Build(), kActOk,
            At(kBeWeb, kTcpFin | kTcpAck));
  EXPECT_NE(ForwardFlags() & YARD_CT_F_CLOSING, 0);
  // The last ACK of the close still reaches the old endpoint.
  ExpectRun(Hook::kFromPod, ToWeb(kTcpAck).Build(), kActOk,
            At(kBeWeb, kTcpAck));
  ExpectRun(Hook::kFromPod, ToWeb(kTcpSyn).Build(), kActOk,
            At(kBeSpareTcp, kTcpSyn));
  EXPECT_EQ(ForwardFlags() & YARD_CT_F_CLOSING, 0);
  ExpectReasons({});
}

TEST_F(SynAfterCloseTest, ClientRst) {
  using namespace packet;  // NOLINT
  ASSERT_NO_FATAL_FAILURE(Establish());
  ExpectRun(Hook::kFromPod, ToWeb(kTcpRst).Build(), kActOk,
            At(kBeWeb, kTcpRst));
  EXPECT_NE(ForwardFlags() & YARD_CT_F_CLOSING, 0);
  ExpectRun(Hook::kFromPod, ToWeb(kTcpSyn).Build(), kActOk,
            At(kBeSpareTcp, kTcpSyn));
  ExpectReasons({});
}

TEST_F(SynAfterCloseTest, BackendRst) {
  using namespace packet;  // NOLINT
  ASSERT_NO_FATAL_FAILURE(Establish());
  ExpectRun(Hook::kToPod,
            ToPod()
                .Ipv4(kBeWeb.addr, kClient)
                .Tcp(kBeWeb.port, kSport)
                .Flags(kTcpRst | kTcpAck)
                .Build(),
            kActOk,
            ToPod()
                .Ipv4(kWebIp, kClient)
                .Tcp(80, kSport)
                .Flags(kTcpRst | kTcpAck)
                .Build());
  EXPECT_NE(ForwardFlags() & YARD_CT_F_CLOSING, 0);
  ExpectRun(Hook::kFromPod, ToWeb(kTcpSyn).Build(), kActOk,
            At(kBeSpareTcp, kTcpSyn));
  ExpectReasons({});
}

TEST_F(SynAfterCloseTest, BackendFin) {
  using namespace packet;  // NOLINT
  ASSERT_NO_FATAL_FAILURE(Establish());
  ExpectRun(Hook::kToPod,
            ToPod()
                .Ipv4(kBeWeb.addr, kClient)
                .Tcp(kBeWeb.port, kSport)
                .Flags(kTcpFin | kTcpAck)
                .Build(),
            kActOk,
            ToPod()
                .Ipv4(kWebIp, kClient)
                .Tcp(80, kSport)
                .Flags(kTcpFin | kTcpAck)
                .Build());
  EXPECT_NE(ForwardFlags() & YARD_CT_F_CLOSING, 0);
  ExpectRun(Hook::kFromPod, ToWeb(kTcpSyn).Build(), kActOk,
            At(kBeSpareTcp, kTcpSyn));
  ExpectReasons({});
}

// A pod that reached an endpoint through its service, then connects to the
// endpoint directly from the same source port: the direct connection's
// tuple is the service flow's real tuple. It must never inherit the
// service flow's translation (its answers given the service's address).
class TupleReuseTest : public SynAfterCloseTest {
 protected:
  Bytes FromWeb(uint8_t flags) {
    return ToPod()
        .Ipv4(kBeWeb.addr, kClient)
        .Tcp(kBeWeb.port, kSport)
        .Flags(flags)
        .Build();
  }
  // UDP from the pod's port kSport: to the service (web:53), and to its
  // endpoint kBeDns directly (which is also the query as translated), and
  // the endpoint's answer as it leaves it.
  static Bytes QueryToService() {
    return FromPod().Ipv4(kClient, kWebIp).Udp(kSport, 53).Payload("q").Build();
  }
  static Bytes ToDns(absl::string_view payload) {
    return FromPod()
        .Ipv4(kClient, kBeDns.addr)
        .Udp(kSport, kBeDns.port)
        .Payload(payload)
        .Build();
  }
  static Bytes DnsAnswer() {
    return ToPod()
        .Ipv4(kBeDns.addr, kClient)
        .Udp(kBeDns.port, kSport)
        .Payload("a")
        .Build();
  }
  yard_ct4_key ForwardKey(uint8_t proto = packet::kProtoTcp,
                          uint16_t port = 80) {
    return CtKey(kClient, kSport, kWebIp, port, proto, YARD_CT_FORWARD);
  }
  yard_ct4_key ReplyKey(const BackendSpec& be,
                        uint8_t proto = packet::kProtoTcp) {
    return CtKey(be.addr, be.port, kClient, kSport, proto, YARD_CT_REPLY);
  }
  // The service flow, closed as a client reading to the end closes it:
  // its FIN, the backend's FIN, the last ACK.
  void EstablishAndClose() {
    using namespace packet;  // NOLINT
    ExpectRun(Hook::kFromPod, ToWeb(kTcpSyn).Build(), kActOk,
              At(kBeWeb, kTcpSyn));
    ExpectRun(Hook::kFromPod, ToWeb(kTcpFin | kTcpAck).Build(), kActOk,
              At(kBeWeb, kTcpFin | kTcpAck));
    ASSERT_EQ(Run(Hook::kToPod, FromWeb(kTcpFin | kTcpAck)).verdict, kActOk);
    ExpectRun(Hook::kFromPod, ToWeb(kTcpAck).Build(), kActOk,
              At(kBeWeb, kTcpAck));
    std::optional<yard_ct4_value> rep = Ct(ReplyKey(kBeWeb));
    ASSERT_TRUE(rep.has_value());
    EXPECT_EQ(rep->flags & (YARD_CT_F_FIN_CLIENT | YARD_CT_F_FIN_BACKEND),
              YARD_CT_F_FIN_CLIENT | YARD_CT_F_FIN_BACKEND);
  }
};

TEST_F(TupleReuseTest, DirectSynAfterAClosedServiceFlowFreesTheTuple) {
  using namespace packet;  // NOLINT
  ASSERT_NO_FATAL_FAILURE(EstablishAndClose());
  // The direct SYN goes out as it is, and the closed flow lets go.
  const Bytes syn = At(kBeWeb, kTcpSyn);
  ExpectRun(Hook::kFromPod, syn, kActOk, syn);
  EXPECT_FALSE(Ct(ReplyKey(kBeWeb)).has_value());
  EXPECT_FALSE(Ct(ForwardKey()).has_value());
  // The endpoint's SYN-ACK reaches the client from the endpoint.
  const Bytes syn_ack = FromWeb(kTcpSyn | kTcpAck);
  ExpectRun(Hook::kToPod, syn_ack, kActOk, syn_ack);
  ExpectReasons({});
}

// The same when the direct SYN took another way (not through this pod's
// hook): a SYN-ACK is never the answer of a flow that has closed.
TEST_F(TupleReuseTest, SynAckOnAClosedFlowsTupleIsNotTranslated) {
  using namespace packet;  // NOLINT
  ASSERT_NO_FATAL_FAILURE(EstablishAndClose());
  const Bytes syn_ack = FromWeb(kTcpSyn | kTcpAck);
  ExpectRun(Hook::kToPod, syn_ack, kActOk, syn_ack);
  EXPECT_FALSE(Ct(ReplyKey(kBeWeb)).has_value());
  ExpectReasons({});
}

// A service flow still open (here half-closed: only the client's FIN) keeps
// its tuple: a direct SYN on it is refused, and the service flow goes on.
TEST_F(TupleReuseTest, DirectSynOnALiveServiceFlowsTupleIsAClash) {
  using namespace packet;  // NOLINT
  ExpectRun(Hook::kFromPod, ToWeb(kTcpSyn).Build(), kActOk,
            At(kBeWeb, kTcpSyn));
  ExpectRun(Hook::kFromPod, ToWeb(kTcpFin | kTcpAck).Build(), kActOk,
            At(kBeWeb, kTcpFin | kTcpAck));
  EXPECT_EQ(Run(Hook::kFromPod, At(kBeWeb, kTcpSyn)).verdict, kActShot);
  ExpectReasons({{YARD_REASON_TUPLE_CLASH, 1}});
  ASSERT_TRUE(Ct(ReplyKey(kBeWeb)).has_value());
  // The backend's data still reaches the client from the service.
  ExpectRun(Hook::kToPod, FromWeb(kTcpAck | kTcpPsh), kActOk,
            ToPod()
                .Ipv4(kWebIp, kClient)
                .Tcp(80, kSport)
                .Flags(kTcpAck | kTcpPsh)
                .Build());
}

// A RST ends a flow at once.
TEST_F(TupleReuseTest, DirectSynAfterAResetFlowFreesTheTuple) {
  using namespace packet;  // NOLINT
  ExpectRun(Hook::kFromPod, ToWeb(kTcpSyn).Build(), kActOk,
            At(kBeWeb, kTcpSyn));
  ASSERT_EQ(Run(Hook::kToPod, FromWeb(kTcpRst | kTcpAck)).verdict, kActOk);
  const Bytes syn = At(kBeWeb, kTcpSyn);
  ExpectRun(Hook::kFromPod, syn, kActOk, syn);
  EXPECT_FALSE(Ct(ReplyKey(kBeWeb)).has_value());
  ExpectReasons({});
}

// An ended flow's entries translate late retransmissions for the close
// timeout, then free the tuple even without a new connection.
TEST_F(TupleReuseTest, EndedFlowExpiresAfterTheCloseTimeout) {
  using namespace packet;  // NOLINT
  DatapathConfig config = SmallConfig();
  config.tcp_close_timeout_s = 0;
  ASSERT_NO_FATAL_FAILURE(Load(config));
  ASSERT_NO_FATAL_FAILURE(EstablishAndClose());
  const Bytes late = FromWeb(kTcpAck);
  ExpectRun(Hook::kToPod, late, kActOk, late);
  EXPECT_FALSE(Ct(ReplyKey(kBeWeb)).has_value());
  ExpectReasons({});
}

// UDP has no end to see: a direct flow from the service flow's port takes
// the tuple; the endpoint's answers then reach it untranslated, and a new
// service flow that would land on the same tuple is refused while the
// direct one lasts.
TEST_F(TupleReuseTest, DirectUdpTakesTheTupleOfAServiceFlow) {
  using namespace packet;  // NOLINT
  ExpectRun(Hook::kFromPod, QueryToService(), kActOk, ToDns("q"));
  const Bytes direct = ToDns("d");
  ExpectRun(Hook::kFromPod, direct, kActOk, direct);
  EXPECT_FALSE(Ct(ForwardKey(kProtoUdp, 53)).has_value());
  std::optional<yard_ct4_value> mark = Ct(ReplyKey(kBeDns, kProtoUdp));
  ASSERT_TRUE(mark.has_value());
  EXPECT_EQ(mark->flags, YARD_CT_F_DIRECT);
  const Bytes answer = DnsAnswer();
  ExpectRun(Hook::kToPod, answer, kActOk, answer);
  // The service again from the same port: its only endpoint's tuple is
  // the direct flow's.
  EXPECT_EQ(Run(Hook::kFromPod, QueryToService()).verdict, kActShot);
  ExpectReasons({{YARD_REASON_TUPLE_CLASH, 1}});
  ExpectRun(Hook::kToPod, answer, kActOk, answer);
}

// Once the direct flow has gone quiet past the UDP timeout, the service
// may have the tuple back.
TEST_F(TupleReuseTest, ServiceFlowGetsTheTupleBackAfterTheDirectOneExpires) {
  using namespace packet;  // NOLINT
  timespec now = {};
  clock_gettime(CLOCK_MONOTONIC, &now);  // the datapath's clock
  const uint64_t now_ns = now.tv_sec * 1000000000ull + now.tv_nsec;
  constexpr uint64_t kIdleNs = (YARD_DEFAULT_UDP_TIMEOUT_S + 5) * 1000000000ull;
  if (now_ns < kIdleNs + 1000000000ull) {
    GTEST_SKIP() << "machine booted less than the UDP timeout ago";
  }
  ExpectRun(Hook::kFromPod, QueryToService(), kActOk, ToDns("q"));
  const Bytes direct = ToDns("d");
  ExpectRun(Hook::kFromPod, direct, kActOk, direct);
  // The direct flow goes quiet past the UDP timeout.
  const yard_ct4_key mark_key = ReplyKey(kBeDns, kProtoUdp);
  std::optional<yard_ct4_value> mark = Ct(mark_key);
  ASSERT_TRUE(mark.has_value());
  mark->last_seen_ns = now_ns - kIdleNs;
  ASSERT_OK(maps().PutCt(mark_key, *mark));
  ExpectRun(Hook::kFromPod, QueryToService(), kActOk, ToDns("q"));
  ExpectRun(Hook::kToPod, DnsAnswer(), kActOk,
            ToPod().Ipv4(kWebIp, kClient).Udp(53, kSport).Payload("a").Build());
  ExpectReasons({});
}

// Expiry is decided at lookup: an open TCP flow idle past its timeout
// gives its tuple to a new SYN, but a segment of the paused connection
// keeps its backend.
TEST_F(TupleReuseTest, IdleTcpFlowPastItsTimeoutKeepsItsBackendButNotItsTuple) {
  using namespace packet;  // NOLINT
  DatapathConfig config = SmallConfig();
  config.tcp_idle_timeout_s = 0;
  ASSERT_NO_FATAL_FAILURE(Load(config));
  ExpectRun(Hook::kFromPod, ToWeb(kTcpSyn).Build(), kActOk,
            At(kBeWeb, kTcpSyn));
  ASSERT_NO_FATAL_FAILURE(ReplaceOnlyBackend(kWebTcp80, kBeSpareTcp));
  ExpectRun(Hook::kFromPod, ToWeb(kTcpAck).Build(), kActOk,
            At(kBeWeb, kTcpAck));
  ExpectRun(Hook::kFromPod, ToWeb(kTcpSyn).Build(), kActOk,
            At(kBeSpareTcp, kTcpSyn));
  ExpectReasons({});
}

// ICMP errors about east-west flows, both ways: they quote the packet as
// it was on the wire (translated), and must read as the pod or the
// endpoint sent it to mean anything there.
class EastWestIcmpTest : public DatapathTest {
 protected:
  static constexpr uint16_t kSport = 5300;
  // A UDP flow client:5300 -> web:53, which goes to kBeDns.
  void Query() {
    using namespace packet;  // NOLINT
    ExpectRun(
        Hook::kFromPod,
        FromPod().Ipv4(kClient, kWebIp).Udp(kSport, 53).Payload("q").Build(),
        kActOk,
        FromPod()
            .Ipv4(kClient, kBeDns.addr)
            .Udp(kSport, kBeDns.port)
            .Payload("q")
            .Build());
  }
};

TEST_F(EastWestIcmpTest, EndpointsPortUnreachableReachesThePodFromTheService) {
  using namespace packet;  // NOLINT
  ASSERT_NO_FATAL_FAILURE(Query());
  const Bytes sent = FromPod()
                         .Ipv4(kClient, kBeDns.addr)
                         .Udp(kSport, kBeDns.port)
                         .Payload("q")
                         .Build();
  const Bytes error = ToPod()
                          .Ipv4(kBeDns.addr, kClient)
                          .Icmp(kIcmpDestUnreach, kIcmpPortUnreach, 0)
                          .Payload(Quote(sent))
                          .Build();
  const Bytes want =
      ToPod()
          .Ipv4(kWebIp, kClient)
          .Icmp(kIcmpDestUnreach, kIcmpPortUnreach, 0)
          .Payload(EditQuote(Quote(sent), {.daddr = kWebIp, .dport = 53}))
          .Build();
  ExpectRun(Hook::kToPod, error, kActOk, want);
  EXPECT_TRUE(QuoteHeaderChecksumRight(want));
  ExpectReasons({});
}

// A router's "fragmentation needed" about a TCP segment to the endpoint:
// the quote becomes the segment to the service (so the pod's socket lowers
// its path MTU); the error keeps the router's address.
TEST_F(EastWestIcmpTest, FragmentationNeededFromARouterNamesTheService) {
  using namespace packet;  // NOLINT
  ExpectRun(
      Hook::kFromPod,
      FromPod().Ipv4(kClient, kWebIp).Tcp(44300, 80).Flags(kTcpSyn).Build(),
      kActOk,
      FromPod()
          .Ipv4(kClient, kBeWeb.addr)
          .Tcp(44300, kBeWeb.port)
          .Flags(kTcpSyn)
          .Build());
  const Bytes segment = FromPod()
                            .Ipv4(kClient, kBeWeb.addr)
                            .DontFragment()
                            .Tcp(44300, kBeWeb.port)
                            .Flags(kTcpAck)
                            .Payload(Bytes(1400, 'x'))
                            .Build();
  const Bytes error = ToPod()
                          .Ipv4("10.244.0.1", kClient)
                          .Icmp(kIcmpDestUnreach, kIcmpFragNeeded, 1280)
                          .Payload(Quote(segment))
                          .Build();
  const Bytes want =
      ToPod()
          .Ipv4("10.244.0.1", kClient)
          .Icmp(kIcmpDestUnreach, kIcmpFragNeeded, 1280)
          .Payload(EditQuote(Quote(segment), {.daddr = kWebIp, .dport = 80}))
          .Build();
  ExpectRun(Hook::kToPod, error, kActOk, want);
  ExpectReasons({});
}

// A router's "time exceeded" (a traceroute through the service, or a
// routing loop) about a UDP datagram to the endpoint: the quote names the
// service, the error keeps the router's address.
TEST_F(EastWestIcmpTest, TimeExceededFromARouterNamesTheService) {
  using namespace packet;  // NOLINT
  ASSERT_NO_FATAL_FAILURE(Query());
  const Bytes sent = FromPod()
                         .Ipv4(kClient, kBeDns.addr)
                         .Ttl(1)
                         .Udp(kSport, kBeDns.port)
                         .Payload("q")
                         .Build();
  const Bytes error = ToPod()
                          .Ipv4("10.244.0.1", kClient)
                          .Icmp(kIcmpTimeExceeded, 0, 0)
                          .Payload(Quote(sent))
                          .Build();
  const Bytes want =
      ToPod()
          .Ipv4("10.244.0.1", kClient)
          .Icmp(kIcmpTimeExceeded, 0, 0)
          .Payload(EditQuote(Quote(sent), {.daddr = kWebIp, .dport = 53}))
          .Build();
  ExpectRun(Hook::kToPod, error, kActOk, want);
  EXPECT_TRUE(QuoteHeaderChecksumRight(want));
  ExpectReasons({});
}

// The endpoint's "parameter problem": its pointer counts bytes into the
// quote, which the rewrite does not move, so it is kept as it is.
TEST_F(EastWestIcmpTest, EndpointsParameterProblemReachesThePodFromTheService) {
  using namespace packet;  // NOLINT
  ASSERT_NO_FATAL_FAILURE(Query());
  const Bytes sent = FromPod()
                         .Ipv4(kClient, kBeDns.addr)
                         .Udp(kSport, kBeDns.port)
                         .Payload("q")
                         .Build();
  const uint32_t pointer = 20u << 24;  // the quoted UDP header
  const Bytes error = ToPod()
                          .Ipv4(kBeDns.addr, kClient)
                          .Icmp(kIcmpParameterProblem, 0, pointer)
                          .Payload(Quote(sent))
                          .Build();
  const Bytes want =
      ToPod()
          .Ipv4(kWebIp, kClient)
          .Icmp(kIcmpParameterProblem, 0, pointer)
          .Payload(EditQuote(Quote(sent), {.daddr = kWebIp, .dport = 53}))
          .Build();
  ExpectRun(Hook::kToPod, error, kActOk, want);
  ExpectReasons({});
}

// A quote cut short of its 8 L4 bytes (the ports, then nothing), in a
// frame with bytes after the datagram that would make up the rest. The
// receiving kernel drops an error whose quote is short of 8 L4 bytes, and
// a rewrite reaching past the datagram would change bytes the ICMP
// checksum does not cover: it passes as it came.
TEST_F(EastWestIcmpTest, TruncatedQuotePassesUnchanged) {
  using namespace packet;  // NOLINT
  ASSERT_NO_FATAL_FAILURE(Query());
  const Bytes sent = FromPod()
                         .Ipv4(kClient, kBeDns.addr)
                         .Udp(kSport, kBeDns.port)
                         .Payload("q")
                         .Build();
  Bytes error = ToPod()
                    .Ipv4(kBeDns.addr, kClient)
                    .Icmp(kIcmpDestUnreach, kIcmpPortUnreach, 0)
                    .Payload(Quote(sent, 4))
                    .Build();
  error.insert(error.end(), 4, 0);  // a trailer past the datagram
  ExpectRun(Hook::kToPod, error, kActOk, error);
  ExpectReasons({});
}

// A quote of a later fragment: its 8 bytes are payload that happens to
// read as the flow's ports. Not a flow's header: passed as it came.
TEST_F(EastWestIcmpTest, QuoteOfALaterFragmentPassesUnchanged) {
  using namespace packet;  // NOLINT
  ASSERT_NO_FATAL_FAILURE(Query());
  const Bytes sent = FromPod()
                         .Ipv4(kClient, kBeDns.addr)
                         .FragmentOffset(185)
                         .Udp(kSport, kBeDns.port)
                         .Payload("q")
                         .Build();
  const Bytes error = ToPod()
                          .Ipv4("10.244.0.1", kClient)
                          .Icmp(kIcmpTimeExceeded, 1, 0)
                          .Payload(Quote(sent))
                          .Build();
  ExpectRun(Hook::kToPod, error, kActOk, error);
  ExpectReasons({});
}

TEST_F(EastWestIcmpTest, ErrorAboutNoServiceFlowReachesThePodUntouched) {
  using namespace packet;  // NOLINT
  const Bytes sent =
      FromPod().Ipv4(kClient, kOtherPod).Udp(kSport, 9).Payload("q").Build();
  const Bytes error = ToPod()
                          .Ipv4(kOtherPod, kClient)
                          .Icmp(kIcmpDestUnreach, kIcmpPortUnreach, 0)
                          .Payload(Quote(sent))
                          .Build();
  ExpectRun(Hook::kToPod, error, kActOk, error);
  ExpectReasons({});
}

// The pod's own port unreachable about a service's answer (its socket
// closed) goes to the endpoint, quoting the answer as the endpoint sent it.
TEST_F(EastWestIcmpTest, PodsPortUnreachableAboutAnAnswerGoesToTheEndpoint) {
  using namespace packet;  // NOLINT
  ASSERT_NO_FATAL_FAILURE(Query());
  const Bytes answer =
      ToPod().Ipv4(kWebIp, kClient).Udp(53, kSport).Payload("a").Build();
  const Bytes error = FromPod()
                          .Ipv4(kClient, kWebIp)
                          .Icmp(kIcmpDestUnreach, kIcmpPortUnreach, 0)
                          .Payload(Quote(answer))
                          .Build();
  const Bytes want =
      FromPod()
          .Ipv4(kClient, kBeDns.addr)
          .Icmp(kIcmpDestUnreach, kIcmpPortUnreach, 0)
          .Payload(EditQuote(Quote(answer),
                             {.saddr = kBeDns.addr, .sport = kBeDns.port}))
          .Build();
  ExpectRun(Hook::kFromPod, error, kActOk, want);
  ExpectReasons({});
}

TEST_F(EastWestIcmpTest, ErrorToAServiceAboutNoFlowIsDropped) {
  using namespace packet;  // NOLINT
  const Bytes answer =
      ToPod().Ipv4(kWebIp, kClient).Udp(53, 6000).Payload("a").Build();
  const Bytes error = FromPod()
                          .Ipv4(kClient, kWebIp)
                          .Icmp(kIcmpDestUnreach, kIcmpPortUnreach, 0)
                          .Payload(Quote(answer))
                          .Build();
  EXPECT_EQ(Run(Hook::kFromPod, error).verdict, kActShot);
  ExpectReasons({{YARD_REASON_UNSUPPORTED_L4, 1}});
}

// A pod reaching a port of its own service it does not listen on
// (hairpin): its port unreachable, sent to the hairpin address it got the
// datagram from, is turned around into the pod, from the service, quoting
// the datagram as the pod sent it.
TEST_F(EastWestIcmpTest, HairpinPortUnreachableComesBackFromTheService) {
  using namespace packet;  // NOLINT
  const Bytes hairpinned = ToPod()
                               .Ipv4(kHairpin, kClient)
                               .Udp(kSport, kBeSelfUdp.port)
                               .Payload("q")
                               .Build();
  ExpectRun(
      Hook::kFromPod,
      FromPod().Ipv4(kClient, kSelfIp).Udp(kSport, 53).Payload("q").Build(),
      kActRedirect, hairpinned);
  const Bytes error = FromPod()
                          .Ipv4(kClient, kHairpin)
                          .Icmp(kIcmpDestUnreach, kIcmpPortUnreach, 0)
                          .Payload(Quote(hairpinned))
                          .Build();
  const Bytes want =
      ToPod()
          .Ipv4(kSelfIp, kClient)
          .Icmp(kIcmpDestUnreach, kIcmpPortUnreach, 0)
          .Payload(EditQuote(Quote(hairpinned),
                             {.saddr = kClient, .daddr = kSelfIp, .dport = 53}))
          .Build();
  ExpectRun(Hook::kFromPod, error, kActRedirect, want);
  EXPECT_TRUE(QuoteHeaderChecksumRight(want));
  ExpectReasons({});
}

// An error to the hairpin address about no hairpin flow is left to the
// stack as it is.
TEST_F(EastWestIcmpTest, ErrorToTheHairpinAddressAboutNoFlowPassesUnchanged) {
  using namespace packet;  // NOLINT
  const Bytes sent = ToPod()
                         .Ipv4(kHairpin, kClient)
                         .Udp(kSport + 1, kBeSelfUdp.port)
                         .Payload("q")
                         .Build();
  const Bytes error = FromPod()
                          .Ipv4(kClient, kHairpin)
                          .Icmp(kIcmpDestUnreach, kIcmpPortUnreach, 0)
                          .Payload(Quote(sent))
                          .Build();
  ExpectRun(Hook::kFromPod, error, kActOk, error);
  ExpectReasons({});
}

TEST_F(DatapathTest, HairpinBothDirections) {
  using namespace packet;  // NOLINT
  // The pod reaches itself through its service: it must see the hairpin
  // address as the source, on its own interface.
  ExpectRun(Hook::kFromPod,
            FromPod()
                .Ipv4(kClient, kSelfIp)
                .Id(3)
                .Tcp(46000, 80)
                .Flags(kTcpSyn)
                .Seq(10)
                .TcpOptions(kMss)
                .Build(),
            kActRedirect,
            ToPod()
                .Ipv4(kHairpin, kClient)
                .Id(3)
                .Tcp(46000, kBeSelfTcp.port)
                .Flags(kTcpSyn)
                .Seq(10)
                .TcpOptions(kMss)
                .Build());
  std::optional<yard_ct4_value> fwd =
      Ct(CtKey(kClient, 46000, kSelfIp, 80, kProtoTcp, YARD_CT_FORWARD));
  ASSERT_TRUE(fwd.has_value());
  EXPECT_EQ(fwd->flags, YARD_CT_F_HAIRPIN);
  EXPECT_EQ(fwd->addr, IpBe(kClient));
  EXPECT_EQ(fwd->port, PortBe(kBeSelfTcp.port));
  const yard_ct4_key rep_key = CtKey(kClient, kBeSelfTcp.port, kHairpin, 46000,
                                     kProtoTcp, YARD_CT_REPLY);
  std::optional<yard_ct4_value> rep = Ct(rep_key);
  ASSERT_TRUE(rep.has_value());
  EXPECT_EQ(rep->flags, YARD_CT_F_HAIRPIN);
  EXPECT_EQ(rep->addr, IpBe(kClient));
  EXPECT_EQ(rep->port, PortBe(46000));

  // Its answer, to the hairpin address, comes back through yard_from_pod
  // and must look like the service answering the client.
  ExpectRun(Hook::kFromPod,
            FromPod()
                .Ipv4(kClient, kHairpin)
                .Id(4)
                .Tcp(kBeSelfTcp.port, 46000)
                .Flags(kTcpSyn | kTcpAck)
                .Seq(900)
                .AckSeq(11)
                .TcpOptions(kMss)
                .Build(),
            kActRedirect,
            ToPod()
                .Ipv4(kSelfIp, kClient)
                .Id(4)
                .Tcp(80, 46000)
                .Flags(kTcpSyn | kTcpAck)
                .Seq(900)
                .AckSeq(11)
                .TcpOptions(kMss)
                .Build());
  rep = Ct(rep_key);
  ASSERT_TRUE(rep.has_value());
  EXPECT_EQ(rep->flags, YARD_CT_F_HAIRPIN | YARD_CT_F_SEEN_REPLY);

  // Established: the next client packet takes the tracked hairpin path.
  ExpectRun(Hook::kFromPod,
            FromPod()
                .Ipv4(kClient, kSelfIp)
                .Tcp(46000, 80)
                .Flags(kTcpAck)
                .Seq(11)
                .AckSeq(901)
                .Build(),
            kActRedirect,
            ToPod()
                .Ipv4(kHairpin, kClient)
                .Tcp(46000, kBeSelfTcp.port)
                .Flags(kTcpAck)
                .Seq(11)
                .AckSeq(901)
                .Build());

  // UDP hairpins the same way.
  ExpectRun(Hook::kFromPod,
            FromPod().Ipv4(kClient, kSelfIp).Udp(5400, 53).Payload("q").Build(),
            kActRedirect,
            ToPod()
                .Ipv4(kHairpin, kClient)
                .Udp(5400, kBeSelfUdp.port)
                .Payload("q")
                .Build());
  ExpectRun(Hook::kFromPod,
            FromPod()
                .Ipv4(kClient, kHairpin)
                .Udp(kBeSelfUdp.port, 5400)
                .Payload("a")
                .Build(),
            kActRedirect,
            ToPod().Ipv4(kSelfIp, kClient).Udp(53, 5400).Payload("a").Build());

  EXPECT_EQ(Stats(kSelfTcp80).forward.packets, 2u);
  EXPECT_EQ(Stats(kSelfTcp80).reply.packets, 1u);
  EXPECT_EQ(Stats(kSelfUdp53).forward.packets, 1u);
  EXPECT_EQ(Stats(kSelfUdp53).reply.packets, 1u);
  ExpectReasons({});
}

TEST_F(DatapathTest, HairpinAddressComesFromTheConfig) {
  using namespace packet;  // NOLINT
  DatapathConfig config = SmallConfig();
  config.hairpin_addr_be = IpBe("169.254.7.7");
  ASSERT_NO_FATAL_FAILURE(Load(config));
  ExpectRun(
      Hook::kFromPod,
      FromPod().Ipv4(kClient, kSelfIp).Tcp(46100, 80).Flags(kTcpSyn).Build(),
      kActRedirect,
      ToPod()
          .Ipv4("169.254.7.7", kClient)
          .Tcp(46100, kBeSelfTcp.port)
          .Flags(kTcpSyn)
          .Build());
  ExpectRun(Hook::kFromPod,
            FromPod()
                .Ipv4(kClient, "169.254.7.7")
                .Tcp(kBeSelfTcp.port, 46100)
                .Flags(kTcpSyn | kTcpAck)
                .Build(),
            kActRedirect,
            ToPod()
                .Ipv4(kSelfIp, kClient)
                .Tcp(80, 46100)
                .Flags(kTcpSyn | kTcpAck)
                .Build());
  // The default address is nothing special to this datapath.
  const Bytes to_default = FromPod()
                               .Ipv4(kClient, kHairpin)
                               .Tcp(kBeSelfTcp.port, 46100)
                               .Flags(kTcpAck)
                               .Build();
  ExpectRun(Hook::kFromPod, to_default, kActOk, to_default);
  ExpectReasons({});
}

// Replies take their frontend from the flow's reply entry: a frontend id
// that is cleared, or given to another frontend, changes nothing for a
// flow already open.
TEST_F(DatapathTest, ReplyKeepsItsFrontendWhenTheIdChanges) {
  using namespace packet;  // NOLINT
  ASSERT_EQ(
      Run(Hook::kFromPod,
          FromPod().Ipv4(kClient, kWebIp).Tcp(47000, 80).Flags(kTcpSyn).Build())
          .verdict,
      kActOk);
  yard_rnat4 other = {};
  other.addr = IpBe("10.96.99.99");
  other.port = PortBe(8443);
  ASSERT_OK(maps().PutRevNat(kWebTcp80, other));
  ExpectRun(Hook::kToPod,
            ToPod()
                .Ipv4(kBeWeb.addr, kClient)
                .Tcp(kBeWeb.port, 47000)
                .Flags(kTcpSyn | kTcpAck)
                .Build(),
            kActOk,
            ToPod()
                .Ipv4(kWebIp, kClient)
                .Tcp(80, 47000)
                .Flags(kTcpSyn | kTcpAck)
                .Build());
  ASSERT_OK(maps().ClearRevNat(kWebTcp80));
  ExpectRun(
      Hook::kToPod,
      ToPod()
          .Ipv4(kBeWeb.addr, kClient)
          .Tcp(kBeWeb.port, 47000)
          .Flags(kTcpAck)
          .Build(),
      kActOk,
      ToPod().Ipv4(kWebIp, kClient).Tcp(80, 47000).Flags(kTcpAck).Build());
  ExpectReasons({});
}

// A reply entry that names no frontend (not one the datapath writes) is
// not translated from nowhere: dropped and counted.
TEST_F(DatapathTest, ReplyEntryWithoutFrontendIsDropped) {
  using namespace packet;  // NOLINT
  ASSERT_EQ(
      Run(Hook::kFromPod,
          FromPod().Ipv4(kClient, kWebIp).Tcp(47000, 80).Flags(kTcpSyn).Build())
          .verdict,
      kActOk);
  const yard_ct4_key rep_key =
      CtKey(kBeWeb.addr, kBeWeb.port, kClient, 47000, kProtoTcp, YARD_CT_REPLY);
  std::optional<yard_ct4_value> rep = Ct(rep_key);
  ASSERT_TRUE(rep.has_value());
  rep->nat_addr = 0;
  rep->nat_port = 0;
  ASSERT_OK(maps().PutCt(rep_key, *rep));
  EXPECT_EQ(Run(Hook::kToPod, ToPod()
                                  .Ipv4(kBeWeb.addr, kClient)
                                  .Tcp(kBeWeb.port, 47000)
                                  .Flags(kTcpSyn | kTcpAck)
                                  .Build())
                .verdict,
            kActShot);
  ExpectReasons({{YARD_REASON_REVNAT_MISSING, 1}});
}

// ---------------------------------------------------------------------------
// yard_svc_addrs: a pod's packet to an address with no frontend skips the
// services lookups; one to a frontend's address never does.

class ServiceAddressesTest : public DatapathTest {
 protected:
  // A TCP segment from the client with these flags (SYN: a new
  // connection; ACK: one going on).
  packet::Bytes Segment(uint8_t flags, uint16_t sport, absl::string_view to,
                        uint16_t dport) {
    return FromPod()
        .Ipv4(kClient, to)
        .Id(7)
        .Tcp(sport, dport)
        .Flags(flags)
        .Seq(2000)
        .Build();
  }
  packet::Bytes Ack(uint16_t sport, absl::string_view to, uint16_t dport) {
    return Segment(packet::kTcpAck, sport, to, dport);
  }
  packet::Bytes Syn(uint16_t sport, absl::string_view to, uint16_t dport) {
    return Segment(packet::kTcpSyn, sport, to, dport);
  }
  bool Maybe(absl::string_view addr) {
    absl::StatusOr<bool> maybe = maps().MayBeServiceAddress(IpBe(addr));
    EXPECT_TRUE(maybe.ok()) << maybe.status();
    return maybe.ok() && *maybe;
  }
};

TEST_F(ServiceAddressesTest, EveryFrontendAddressHasItsBitAndPodsDoNot) {
  for (absl::string_view addr :
       {kWebIp, kEmptyIp, kSelfIp, kPairIp, kBrokenIp}) {
    EXPECT_TRUE(Maybe(addr)) << addr;
  }
  EXPECT_FALSE(Maybe(kClient));
  EXPECT_FALSE(Maybe(kBeWeb.addr));
}

TEST_F(ServiceAddressesTest, FlowKeepsItsBackendAfterItsPortIsDeleted) {
  using namespace packet;  // NOLINT
  EXPECT_EQ(DaddrOf(Run(Hook::kFromPod, Syn(40200, kWebIp, 80)).output),
            kBeWeb.addr);
  // The port goes; the address still has others (53/udp, its wildcard):
  // the tracked flow goes on to its backend, as kube-proxy's conntrack
  // entry would, and a new connection is refused as to any closed port.
  ASSERT_OK(maps().DeleteFrontend(
      kernel::ServiceKey(IpBe(kWebIp), PortBe(80), kProtoTcp)));
  EXPECT_TRUE(Maybe(kWebIp));
  const ProgRun ack = Run(Hook::kFromPod, Ack(40200, kWebIp, 80));
  EXPECT_EQ(ack.verdict, kActOk);
  EXPECT_EQ(DaddrOf(ack.output), kBeWeb.addr);
  EXPECT_NE(Run(Hook::kFromPod, Syn(40201, kWebIp, 80)).verdict, kActOk);
  ExpectReasons({{YARD_REASON_REJECT_NO_PORT, 1}});
}

TEST_F(ServiceAddressesTest, AddressWithNoFrontendLeftIsNoServiceAtAll) {
  using namespace packet;  // NOLINT
  EXPECT_EQ(DaddrOf(Run(Hook::kFromPod, Syn(40300, kWebIp, 80)).output),
            kBeWeb.addr);
  for (const yard_svc4_key& key :
       {kernel::ServiceKey(IpBe(kWebIp), PortBe(80), kProtoTcp),
        kernel::ServiceKey(IpBe(kWebIp), PortBe(53), kProtoUdp),
        kernel::WildcardKey(IpBe(kWebIp))}) {
    ASSERT_OK(maps().DeleteFrontend(key));
  }
  EXPECT_FALSE(Maybe(kWebIp));
  // Its tracked flow's packets pass as they are, as before any flow
  // table: the address is nobody's.
  const Bytes ack = Ack(40300, kWebIp, 80);
  const ProgRun run = Run(Hook::kFromPod, ack);
  EXPECT_EQ(run.verdict, kActOk);
  ExpectFrame(ack, run.output);
  ExpectReasons({});
  // Written again (one batch, as the agent writes): translated again.
  const yard_svc4_key keys[] = {
      kernel::ServiceKey(IpBe(kWebIp), PortBe(80), kProtoTcp),
      kernel::WildcardKey(IpBe(kWebIp))};
  yard_svc_value values[2] = {};
  values[0].svc_id = kWebTcp80;
  values[0].rev_nat_id = kWebTcp80;
  values[0].count = 1;
  values[0].policy = YARD_POLICY_RANDOM;
  values[1].flags = YARD_SVC_F_WILDCARD;
  uint32_t done = 0;
  absl::Status s = maps().UpdateBatch(DatapathMaps::ServiceMap::kFrontends,
                                      keys, values, 2, done);
  if (absl::IsUnimplemented(s)) {
    for (int i = 0; i < 2; ++i)
      ASSERT_OK(maps().PutFrontend(keys[i], values[i]));
  } else {
    ASSERT_OK(s);
  }
  EXPECT_TRUE(Maybe(kWebIp));
  EXPECT_EQ(DaddrOf(Run(Hook::kFromPod, Syn(40301, kWebIp, 80)).output),
            kBeWeb.addr);
}

TEST_F(ServiceAddressesTest, SyncRebuildsBitsFromTheFrontendsTheMapHolds) {
  // What pins of an agent without the table look like to a new one: the
  // frontends there, every bit clear. Sync (as Load does) sets them.
  absl::StatusOr<std::vector<std::pair<yard_svc4_key, yard_svc_value>>> all =
      maps().DumpFrontends();
  ASSERT_TRUE(all.ok()) << all.status();
  for (const auto& [key, value] : *all) ASSERT_OK(maps().DeleteFrontend(key));
  EXPECT_FALSE(Maybe(kPairIp));
  // Put back behind the bookkeeping's back, as another process would.
  kernel::BpfMap raw(ScopedFd(dup(maps().svc4_fd())), "yard_svc4");
  for (const auto& [key, value] : *all) ASSERT_OK(raw.Update(key, value));
  EXPECT_FALSE(Maybe(kPairIp));
  ASSERT_OK(maps().SyncServiceAddresses());
  EXPECT_TRUE(Maybe(kPairIp));
  EXPECT_TRUE(Maybe(kWebIp));
  EXPECT_FALSE(Maybe(kClient));
  EXPECT_EQ(DaddrOf(Run(Hook::kFromPod, Syn(40400, kWebIp, 80)).output),
            kBeWeb.addr);
}

}  // namespace
}  // namespace switchyard
