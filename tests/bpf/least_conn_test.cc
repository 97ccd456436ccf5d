// SPDX-License-Identifier: Apache-2.0
// Least-connection selection (bpf/lib/least_conn.h) on the real pod
// programs through BPF_PROG_TEST_RUN, and the agent's recount
// (control/agent/lc_recount.h) on the same maps: new flows go to the
// least-loaded endpoint; counts rise once per flow and fall once, on a FIN
// from each side or a RST (retransmissions change nothing), when a new
// flow takes the tuple, and (through the recount) when flows expire or
// their entries vanish; an established flow keeps its endpoint whatever
// the counts.
#include <time.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "control/agent/ct_sweeper.h"
#include "control/agent/lc_recount.h"
#include "control/kernel/datapath.h"
#include "control/kernel/datapath_maps.h"
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
using packet::IpBe;
using packet::Mac;
using packet::PacketBuilder;
using packet::PortBe;
using packet::ProgRun;

constexpr int kActOk = 0;  // TC_ACT_OK

constexpr absl::string_view kClient = "10.244.0.5";
constexpr Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x05};
constexpr Mac kHostMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

// "lc": TCP/80 and UDP/53, least-connection, over backends 1..4.
constexpr absl::string_view kLcIp = "10.96.0.60";
constexpr uint32_t kLcTcp80 = 1;
constexpr uint32_t kLcUdp53 = 2;
// "rnd": TCP/80, random, over the same backends.
constexpr absl::string_view kRandomIp = "10.96.0.61";
constexpr uint32_t kRandomTcp80 = 3;
// "big": TCP/80, least-connection, over kBigCount backends: more than
// the datapath scans, so it samples two.
constexpr absl::string_view kBigIp = "10.96.0.62";
constexpr uint32_t kBigTcp80 = 4;
constexpr uint32_t kBigFirstId = 101;
constexpr uint32_t kBigCount = 100;

constexpr uint32_t kBackends = 4;  // ids 1..4
constexpr uint32_t kTcpIdleS = 300;
constexpr uint16_t kTargetPort = 8080;

std::string BackendAddr(uint32_t id) {
  return absl::StrCat("10.244.", id / 200 + 1, ".", id % 200 + 1);
}

PacketBuilder FromPod() {
  return PacketBuilder().EthSrc(kClientMac).EthDst(kHostMac);
}
PacketBuilder ToPod() {
  return PacketBuilder().EthSrc(kHostMac).EthDst(kClientMac);
}

uint64_t MonotonicNs() {
  timespec ts = {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + ts.tv_nsec;
}

class LeastConnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DatapathConfig config;  // empty pin_dir: nothing pinned
    config.max_frontends = 64;
    config.max_slots = 512;
    config.max_backends = 256;
    config.max_ct_entries = 4096;
    // Short enough that a test can age a flow past it on a machine up for
    // more than a few minutes.
    config.tcp_idle_timeout_s = kTcpIdleS;
    absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
    ASSERT_TRUE(dp.ok()) << dp.status();
    dp_ = std::move(*dp);
    timeouts_ = kernel::CtTimeouts::Of(
        yard_config{.udp_timeout_s = config.udp_timeout_s,
                    .tcp_idle_timeout_s = config.tcp_idle_timeout_s,
                    .tcp_close_timeout_s = config.tcp_close_timeout_s});

    std::vector<uint32_t> small, big;
    for (uint32_t id = 1; id <= kBackends; ++id) small.push_back(id);
    for (uint32_t i = 0; i < kBigCount; ++i) big.push_back(kBigFirstId + i);
    for (uint32_t id : small) ASSERT_NO_FATAL_FAILURE(PutBackend(id));
    for (uint32_t id : big) ASSERT_NO_FATAL_FAILURE(PutBackend(id));
    ASSERT_NO_FATAL_FAILURE(PutServicePort(
        kLcIp, 80, packet::kProtoTcp, kLcTcp80, small, YARD_POLICY_LEAST_CONN));
    ASSERT_NO_FATAL_FAILURE(PutServicePort(
        kLcIp, 53, packet::kProtoUdp, kLcUdp53, small, YARD_POLICY_LEAST_CONN));
    ASSERT_NO_FATAL_FAILURE(PutServicePort(kRandomIp, 80, packet::kProtoTcp,
                                           kRandomTcp80, small,
                                           YARD_POLICY_RANDOM));
    ASSERT_NO_FATAL_FAILURE(PutServicePort(
        kBigIp, 80, packet::kProtoTcp, kBigTcp80, big, YARD_POLICY_LEAST_CONN));
  }

  DatapathMaps& maps() { return dp_->maps(); }

  void PutBackend(uint32_t id) {
    yard_backend4 value = {};
    value.addr = IpBe(BackendAddr(id));
    value.port = PortBe(kTargetPort);
    value.state = YARD_BACKEND_ACTIVE;
    ASSERT_OK(maps().PutBackend(id, value));
  }

  // The service value's policy byte, as the programmer writes it from the
  // desired state's Frontend::policy.
  void PutServicePort(absl::string_view addr, uint16_t port, uint8_t proto,
                      uint32_t id, const std::vector<uint32_t>& backends,
                      uint8_t policy) {
    ASSERT_OK(packet::WriteServicePort(maps(), {.addr = std::string(addr),
                                                .port = port,
                                                .proto = proto,
                                                .id = id,
                                                .backends = backends,
                                                .policy = policy}));
  }

  ProgRun Run(int fd, const Bytes& frame) {
    absl::StatusOr<ProgRun> run = packet::RunProg(fd, frame);
    if (!run.ok()) {
      ADD_FAILURE() << run.status();
      return ProgRun{-1, {}, 0};
    }
    return *std::move(run);
  }

  // A client's TCP segment to svc_ip:80; returns the backend id it went
  // to (0: not translated to one of ours).
  uint32_t Send(absl::string_view svc_ip, uint16_t sport, uint8_t flags) {
    const ProgRun run = Run(
        dp_->from_pod_fd(),
        FromPod().Ipv4(kClient, svc_ip).Tcp(sport, 80).Flags(flags).Build());
    EXPECT_EQ(run.verdict, kActOk);
    return BackendOf(run.output);
  }

  // The backend's answer on the flow of sport (to the client, from the
  // endpoint), which the datapath turns back into the service's.
  void Answer(uint32_t backend_id, uint16_t sport, uint8_t flags) {
    const ProgRun run =
        Run(dp_->to_pod_fd(), ToPod()
                                  .Ipv4(BackendAddr(backend_id), kClient)
                                  .Tcp(kTargetPort, sport)
                                  .Flags(flags)
                                  .Build());
    EXPECT_EQ(run.verdict, kActOk);
    const packet::DecodedFrame d = packet::Decode(run.output);
    ASSERT_TRUE(d.ip.has_value());
    EXPECT_EQ(packet::FormatIp(d.ip->saddr), kLcIp) << "not translated back";
  }

  static uint32_t BackendOf(const Bytes& frame) {
    const packet::DecodedFrame d = packet::Decode(frame);
    if (!d.ip.has_value()) return 0;
    const std::string daddr = packet::FormatIp(d.ip->daddr);
    for (uint32_t id = 1; id < kBigFirstId + kBigCount; ++id) {
      if (BackendAddr(id) == daddr) return id;
    }
    return 0;
  }

  int32_t Active(uint32_t id) {
    absl::StatusOr<yard_lc_count> c = maps().LeastConnCount(id);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? agent::LcActive(c->word) : -999;
  }
  std::vector<int32_t> Actives() {
    std::vector<int32_t> out;
    for (uint32_t id = 1; id <= kBackends; ++id) out.push_back(Active(id));
    return out;
  }
  void SetActive(uint32_t id, int32_t n) {
    ASSERT_OK(maps().PutLeastConnCount(
        id, yard_lc_count{.word = static_cast<uint32_t>(n)}));
  }

  std::optional<yard_ct4_value> Forward(absl::string_view svc_ip,
                                        uint16_t sport,
                                        uint8_t proto = packet::kProtoTcp) {
    absl::StatusOr<std::optional<yard_ct4_value>> v = maps().LookupCt(
        CtKey(kClient, sport, svc_ip, proto == packet::kProtoTcp ? 80 : 53,
              proto, YARD_CT_FORWARD));
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : std::nullopt;
  }

  std::unique_ptr<Datapath> dp_;
  kernel::CtTimeouts timeouts_;
};

TEST_F(LeastConnTest, NewFlowsEvenOutTheCounts) {
  using packet::kTcpSyn;
  // Endpoints that start with 0, 0, 10 and 20 flows, then 40 new ones.
  // Each goes to the least loaded, so the counts fill up from the bottom
  // like water: the first three end with 50 between them (16, 17, 17) and
  // the one with 20 gets none, having been the busiest all along. Ten
  // more bring all four to 20.
  ASSERT_NO_FATAL_FAILURE(SetActive(3, 10));
  ASSERT_NO_FATAL_FAILURE(SetActive(4, 20));
  std::map<uint32_t, int> chosen;
  auto open = [&](uint16_t from, uint16_t to) {
    for (uint16_t sport = from; sport < to; ++sport) {
      const uint32_t id = Send(kLcIp, sport, kTcpSyn);
      ASSERT_GE(id, 1u) << "sport " << sport;
      ASSERT_LE(id, kBackends) << "sport " << sport;
      ++chosen[id];
      std::optional<yard_ct4_value> fwd = Forward(kLcIp, sport);
      ASSERT_TRUE(fwd.has_value());
      EXPECT_EQ(fwd->lc, static_cast<uint32_t>(YARD_LC_COUNTED));
      EXPECT_EQ(fwd->backend_id, id);
    }
  };
  ASSERT_NO_FATAL_FAILURE(open(40000, 40040));
  std::vector<int32_t> actives = Actives();
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_GE(actives[i], 16) << "backend " << i + 1;
    EXPECT_LE(actives[i], 17) << "backend " << i + 1;
  }
  EXPECT_EQ(actives[3], 20);
  EXPECT_EQ(chosen[4], 0);
  EXPECT_EQ(chosen[1] + chosen[2] + chosen[3], 40);

  ASSERT_NO_FATAL_FAILURE(open(40040, 40050));
  EXPECT_EQ(Actives(), (std::vector<int32_t>{20, 20, 20, 20}));
  bpf_test::ExpectReasons(maps(), {});
}

TEST_F(LeastConnTest, EqualCountsAreChosenAtRandom) {
  using packet::kTcpSyn;
  // All at 100: each new flow raises one, so the choice rotates; what
  // this checks is that the first choice is not always the first slot.
  std::map<uint32_t, int> first;
  for (int round = 0; round < 40; ++round) {
    for (uint32_t id = 1; id <= kBackends; ++id) {
      ASSERT_NO_FATAL_FAILURE(SetActive(id, 100));
    }
    ++first[Send(kLcIp, static_cast<uint16_t>(41000 + round), kTcpSyn)];
  }
  // Uniform over 4: each appears 10 times on average; a missing one has
  // odds 4 * (3/4)^40, about 4e-5.
  EXPECT_EQ(first.size(), kBackends);
}

TEST_F(LeastConnTest, EstablishedFlowKeepsItsBackendWhateverTheCounts) {
  using namespace packet;  // NOLINT
  const uint32_t id = Send(kLcIp, 42000, kTcpSyn);
  ASSERT_NE(id, 0u);
  EXPECT_EQ(Active(id), 1);
  // Its endpoint becomes by far the busiest.
  ASSERT_NO_FATAL_FAILURE(SetActive(id, 1000));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Send(kLcIp, 42000, kTcpAck | kTcpPsh), id);
  }
  // A retransmitted SYN is the same connection too.
  EXPECT_EQ(Send(kLcIp, 42000, kTcpSyn), id);
  EXPECT_EQ(Active(id), 1000) << "packets of a flow never count";
  // A new flow avoids it.
  EXPECT_NE(Send(kLcIp, 42001, kTcpSyn), id);
}

TEST_F(LeastConnTest, FinFromBothSidesReleasesOnce) {
  using namespace packet;  // NOLINT
  const uint32_t id = Send(kLcIp, 43000, kTcpSyn);
  ASSERT_NE(id, 0u);
  Answer(id, 43000, kTcpSyn | kTcpAck);
  EXPECT_EQ(Active(id), 1);
  // Half closed: still a connection.
  EXPECT_EQ(Send(kLcIp, 43000, kTcpFin | kTcpAck), id);
  EXPECT_EQ(Active(id), 1);
  EXPECT_EQ(Send(kLcIp, 43000, kTcpFin | kTcpAck), id) << "retransmitted";
  EXPECT_EQ(Active(id), 1);
  Answer(id, 43000, kTcpFin | kTcpAck);
  EXPECT_EQ(Active(id), 0);
  // Retransmissions of either FIN, and the last ACK: never below zero.
  Answer(id, 43000, kTcpFin | kTcpAck);
  EXPECT_EQ(Send(kLcIp, 43000, kTcpFin | kTcpAck), id);
  EXPECT_EQ(Send(kLcIp, 43000, kTcpAck), id);
  EXPECT_EQ(Active(id), 0);
  std::optional<yard_ct4_value> fwd = Forward(kLcIp, 43000);
  ASSERT_TRUE(fwd.has_value());
  EXPECT_EQ(fwd->lc, static_cast<uint32_t>(YARD_LC_COUNTED | YARD_LC_RELEASED));
}

TEST_F(LeastConnTest, BackendFinFirstThenClientFin) {
  using namespace packet;  // NOLINT
  const uint32_t id = Send(kLcIp, 43100, kTcpSyn);
  ASSERT_NE(id, 0u);
  Answer(id, 43100, kTcpFin | kTcpAck);
  EXPECT_EQ(Active(id), 1);
  EXPECT_EQ(Send(kLcIp, 43100, kTcpFin | kTcpAck), id);
  EXPECT_EQ(Active(id), 0);
}

TEST_F(LeastConnTest, ClientRstReleasesOnce) {
  using namespace packet;  // NOLINT
  const uint32_t id = Send(kLcIp, 44000, kTcpSyn);
  ASSERT_NE(id, 0u);
  EXPECT_EQ(Send(kLcIp, 44000, kTcpRst), id);
  EXPECT_EQ(Active(id), 0);
  EXPECT_EQ(Send(kLcIp, 44000, kTcpRst), id) << "retransmitted";
  Answer(id, 44000, kTcpRst);
  Answer(id, 44000, kTcpFin | kTcpAck);
  EXPECT_EQ(Active(id), 0);
}

TEST_F(LeastConnTest, BackendRstReleasesOnce) {
  using namespace packet;  // NOLINT
  const uint32_t id = Send(kLcIp, 44100, kTcpSyn);
  ASSERT_NE(id, 0u);
  Answer(id, 44100, kTcpRst | kTcpAck);
  EXPECT_EQ(Active(id), 0);
  Answer(id, 44100, kTcpRst | kTcpAck);
  EXPECT_EQ(Send(kLcIp, 44100, kTcpRst), id);
  EXPECT_EQ(Active(id), 0);
}

TEST_F(LeastConnTest, ANewFlowOnTheTupleReleasesTheOldOneOnce) {
  using namespace packet;  // NOLINT
  const uint32_t first = Send(kLcIp, 45000, kTcpSyn);
  ASSERT_NE(first, 0u);
  EXPECT_EQ(Send(kLcIp, 45000, kTcpRst), first);
  // The same tuple, a new connection: counted once, wherever it goes.
  const uint32_t second = Send(kLcIp, 45000, kTcpSyn);
  ASSERT_NE(second, 0u);
  int32_t total = 0;
  for (int32_t n : Actives()) total += n;
  EXPECT_EQ(total, 1);
  EXPECT_EQ(Active(second), 1);

  // An idle UDP flow that chooses again gives its count back first.
  const Bytes query =
      FromPod().Ipv4(kClient, kLcIp).Udp(5300, 53).Payload("q").Build();
  ASSERT_EQ(Run(dp_->from_pod_fd(), query).verdict, kActOk);
  std::optional<yard_ct4_value> fwd = Forward(kLcIp, 5300, packet::kProtoUdp);
  ASSERT_TRUE(fwd.has_value());
  const uint32_t udp_backend = fwd->backend_id;
  EXPECT_EQ(Active(udp_backend), udp_backend == second ? 2 : 1);
  const uint64_t now = MonotonicNs();
  const uint64_t idle = (YARD_DEFAULT_UDP_TIMEOUT_S + 10) * 1'000'000'000ull;
  if (now < idle + 1'000'000'000ull) {
    GTEST_SKIP() << "machine booted less than the UDP timeout ago";
  }
  fwd->last_seen_ns = now - idle;
  ASSERT_OK(maps().PutCt(
      CtKey(kClient, 5300, kLcIp, 53, kProtoUdp, YARD_CT_FORWARD), *fwd));
  ASSERT_EQ(Run(dp_->from_pod_fd(), query).verdict, kActOk);
  total = 0;
  for (int32_t n : Actives()) total += n;
  EXPECT_EQ(total, 2) << "the TCP flow and the new UDP one";
}

TEST_F(LeastConnTest, RandomServicesCountNothing) {
  using namespace packet;  // NOLINT
  for (uint16_t sport = 46000; sport < 46020; ++sport) {
    ASSERT_NE(Send(kRandomIp, sport, kTcpSyn), 0u);
    std::optional<yard_ct4_value> fwd = Forward(kRandomIp, sport);
    ASSERT_TRUE(fwd.has_value());
    EXPECT_EQ(fwd->lc, 0u);
    EXPECT_EQ(Send(kRandomIp, sport, kTcpRst), fwd->backend_id);
  }
  EXPECT_EQ(Actives(), (std::vector<int32_t>{0, 0, 0, 0}));
}

TEST_F(LeastConnTest, AboveTheScanLimitTwoRandomChoices) {
  using packet::kTcpSyn;
  // Half the endpoints carry 1000 flows. Two slots drawn at random are
  // both loaded one time in four: about 25 of 100 new flows go there
  // (binomial, sd 4.3); a choice blind to the counts would send 50.
  for (uint32_t i = 0; i < kBigCount / 2; ++i) {
    ASSERT_NO_FATAL_FAILURE(SetActive(kBigFirstId + i, 1000));
  }
  int to_loaded = 0;
  for (uint16_t sport = 47000; sport < 47100; ++sport) {
    const uint32_t id = Send(kBigIp, sport, kTcpSyn);
    ASSERT_GE(id, kBigFirstId);
    ASSERT_LT(id, kBigFirstId + kBigCount);
    if (id < kBigFirstId + kBigCount / 2) ++to_loaded;
  }
  EXPECT_LT(to_loaded, 45);
  int32_t total = 0;
  for (uint32_t i = 0; i < kBigCount; ++i) total += Active(kBigFirstId + i);
  EXPECT_EQ(total, 50 * 1000 + 100);
}

TEST_F(LeastConnTest, NegativeCountsReadAsZero) {
  using packet::kTcpSyn;
  // A correction racing the datapath can leave -1; it must not attract
  // every new flow as "less than nothing".
  ASSERT_NO_FATAL_FAILURE(SetActive(1, -1));
  ASSERT_NO_FATAL_FAILURE(SetActive(2, 0));
  ASSERT_NO_FATAL_FAILURE(SetActive(3, 5));
  ASSERT_NO_FATAL_FAILURE(SetActive(4, 5));
  std::map<uint32_t, int> chosen;
  for (uint16_t sport = 48000; sport < 48040; ++sport) {
    ++chosen[Send(kLcIp, sport, kTcpSyn)];
    // Put both back: each choice is between two equal (zero) counts.
    ASSERT_NO_FATAL_FAILURE(SetActive(1, -1));
    ASSERT_NO_FATAL_FAILURE(SetActive(2, 0));
  }
  EXPECT_GT(chosen[2], 0) << "-1 was preferred to 0";
  EXPECT_GT(chosen[1], 0);
}

// Flows that end without a FIN or RST (expiry, eviction) are put right by
// the agent's recount, after its sweep.
TEST_F(LeastConnTest, ExpiredAndVanishedFlowsAreRecounted) {
  using namespace packet;  // NOLINT
  std::map<uint16_t, uint32_t> flows;
  for (uint16_t sport = 49000; sport < 49008; ++sport) {
    flows[sport] = Send(kLcIp, sport, kTcpSyn);
  }
  EXPECT_EQ(Actives(), (std::vector<int32_t>{2, 2, 2, 2}));
  const uint64_t now = MonotonicNs();
  const uint64_t idle = (uint64_t{kTcpIdleS} + 10) * 1'000'000'000ull;
  if (now < idle + 1'000'000'000ull) {
    GTEST_SKIP() << "machine booted less than the TCP idle timeout ago";
  }
  // Two flows go quiet for longer than the idle timeout (the sweep
  // deletes them); one forward entry vanishes (as the LRU table evicts).
  for (uint16_t sport : {49000, 49001}) {
    const yard_ct4_key key =
        CtKey(kClient, sport, kLcIp, 80, kProtoTcp, YARD_CT_FORWARD);
    std::optional<yard_ct4_value> fwd = Forward(kLcIp, sport);
    ASSERT_TRUE(fwd.has_value());
    fwd->last_seen_ns = now - idle;
    ASSERT_OK(maps().PutCt(key, *fwd));
  }
  ASSERT_OK(maps().DeleteCt(
      CtKey(kClient, 49002, kLcIp, 80, kProtoTcp, YARD_CT_FORWARD)));
  std::vector<int32_t> want = {2, 2, 2, 2};
  for (uint16_t sport : {49000, 49001, 49002}) --want[flows[sport] - 1];

  // The counts know nothing of this yet.
  EXPECT_EQ(Actives(), (std::vector<int32_t>{2, 2, 2, 2}));
  absl::StatusOr<uint64_t> swept =
      agent::SweepExpiredFlows(maps(), timeouts_, MonotonicNs());
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_GE(*swept, 2u);
  agent::LeastConnRecount recount;
  absl::StatusOr<std::vector<agent::LcCorrection>> corrected =
      agent::RecountLeastConn(maps(), recount, timeouts_, MonotonicNs());
  ASSERT_TRUE(corrected.ok()) << corrected.status();
  EXPECT_EQ(Actives(), want);
  // Nothing left to correct; the datapath goes on from the new words.
  corrected =
      agent::RecountLeastConn(maps(), recount, timeouts_, MonotonicNs());
  ASSERT_TRUE(corrected.ok()) << corrected.status();
  EXPECT_TRUE(corrected->empty());
  const uint32_t id = flows[49003];
  const int32_t before = Active(id);
  EXPECT_EQ(Send(kLcIp, 49003, kTcpRst), id);
  EXPECT_EQ(Active(id), before - 1);
}

}  // namespace
}  // namespace switchyard
