// SPDX-License-Identifier: Apache-2.0
// Maglev selection in the real tc program (yard_from_pod), run through
// BPF_PROG_TEST_RUN: the table the agent builds decides every new flow,
// the same tuple always lands on the same endpoint (also after its
// tracking entry is gone), different tuples spread over every endpoint,
// and a table swapped in under traffic keeps established flows where they
// are and moves about 1/N of the choices when one endpoint of N leaves.
#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "control/kernel/datapath.h"
#include "control/packet/packet_builder.h"
#include "control/packet/packet_decoder.h"
#include "control/translate/maglev_table.h"
#include "gtest/gtest.h"
#include "tests/bpf/datapath_fixture.h"
#include "tests/packet/prog_run.h"

namespace switchyard {
namespace {

using kernel::Datapath;
using packet::Bytes;
using packet::IpBe;
using packet::PacketBuilder;
using packet::PortBe;

constexpr int kActOk = 0;  // TC_ACT_OK
constexpr absl::string_view kClient = "10.244.0.5";
constexpr packet::Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x05};
constexpr packet::Mac kHostMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr absl::string_view kServiceIp = "10.96.0.60";
constexpr uint32_t kSet = 1;  // svc_id and rev_nat_id
constexpr uint32_t kTableSize = 16381;
constexpr int kBackends = 10;

std::string BackendIp(int id) { return absl::StrCat("10.244.9.", id); }

class MaglevDatapathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kernel::DatapathConfig config;  // nothing pinned
    config.max_frontends = 64;
    config.max_slots = 256;
    config.max_backends = 64;
    config.max_ct_entries = 16384;
    config.max_maglev_tables = 4;
    absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
    ASSERT_TRUE(dp.ok()) << dp.status();
    dp_ = std::move(*dp);
    std::vector<int> all;
    for (int id = 1; id <= kBackends; ++id) {
      yard_backend4 be = {};
      be.addr = IpBe(BackendIp(id));
      be.port = PortBe(8080);
      be.state = YARD_BACKEND_ACTIVE;
      ASSERT_OK(dp_->maps().PutBackend(id, be));
      all.push_back(id);
    }
    yard_rnat4 rnat = {};
    rnat.addr = IpBe(kServiceIp);
    rnat.port = PortBe(80);
    ASSERT_OK(dp_->maps().PutRevNat(kSet, rnat));
    ASSERT_NO_FATAL_FAILURE(Serve(all));
  }

  // The agent's order: slots and the table, then the frontend.
  void Serve(const std::vector<int>& ids, uint32_t size = kTableSize) {
    std::vector<translate::MaglevBackend> backends;
    for (size_t i = 0; i < ids.size(); ++i) {
      ASSERT_OK(dp_->maps().PutSlot({kSet, static_cast<uint32_t>(i + 1)},
                                    {static_cast<uint32_t>(ids[i])}));
      backends.push_back(
          {uint64_t{ntohl(IpBe(BackendIp(ids[i])))} << 16 | 8080, 1});
    }
    std::vector<uint32_t> picks = translate::BuildMaglevTable(backends, size);
    std::vector<uint32_t> table = {size};
    for (uint32_t pick : picks) table.push_back(ids[pick]);
    ASSERT_OK(dp_->maps().PutMaglevTable(kSet, table));
    PutFrontend(YARD_POLICY_MAGLEV, static_cast<uint16_t>(ids.size()));
  }

  void PutFrontend(uint8_t policy, uint16_t count) {
    yard_svc_value value = {};
    value.svc_id = kSet;
    value.rev_nat_id = kSet;
    value.count = count;
    value.policy = policy;
    ASSERT_OK(dp_->maps().PutFrontend(
        kernel::ServiceKey(IpBe(kServiceIp), PortBe(80), packet::kProtoTcp),
        value));
  }

  // The endpoint a TCP segment from the client's `sport` is sent to, ""
  // when it was not translated.
  std::string Send(uint16_t sport, uint8_t flags = packet::kTcpSyn,
                   absl::string_view client = kClient) {
    Bytes frame = PacketBuilder()
                      .EthSrc(kClientMac)
                      .EthDst(kHostMac)
                      .Ipv4(client, kServiceIp)
                      .Tcp(sport, 80)
                      .Flags(flags)
                      .Build();
    absl::StatusOr<packet::ProgRun> run =
        packet::RunProg(dp_->from_pod_fd(), frame);
    if (!run.ok() || run->verdict != kActOk) {
      ADD_FAILURE() << "sport " << sport << ": "
                    << (run.ok() ? absl::StrCat("verdict ", run->verdict)
                                 : run.status().ToString());
      return "";
    }
    const packet::DecodedFrame d = packet::Decode(run->output);
    return d.ip.has_value() ? packet::FormatIp(d.ip->daddr) : "";
  }

  std::unique_ptr<Datapath> dp_;
};

TEST_F(MaglevDatapathTest, SameTupleSameEndpointEvenAsANewFlow) {
  std::map<uint16_t, std::string> first;
  for (uint16_t sport = 30000; sport < 30100; ++sport) {
    first[sport] = Send(sport);
    ASSERT_FALSE(first[sport].empty());
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(Send(sport, packet::kTcpAck), first[sport]) << sport;
    }
  }
  // Without tracking entries each SYN chooses again: the table gives the
  // same answer, as it would on another node.
  ASSERT_OK(dp_->maps().ClearCt());
  for (const auto& [sport, endpoint] : first) {
    EXPECT_EQ(Send(sport), endpoint) << sport;
  }
  bpf_test::ExpectReasons(dp_->maps(), {});
}

TEST_F(MaglevDatapathTest, DifferentTuplesSpreadOverEveryEndpoint) {
  constexpr int kFlows = 3000;
  std::map<std::string, int> hits;
  for (int i = 0; i < kFlows; ++i) {
    // Different clients and ports: the hash covers the 5-tuple.
    std::string client = absl::StrCat("10.244.", 20 + i % 7, ".", 1 + i % 200);
    ++hits[Send(static_cast<uint16_t>(20000 + i), packet::kTcpSyn, client)];
  }
  ASSERT_EQ(hits.size(), static_cast<size_t>(kBackends));
  // A fair share is 300 (each entry of the table is one backend's, equal
  // shares to within one entry; the hash spreads tuples over entries
  // like a binomial, sd ~16): [220, 380] is five deviations each way.
  for (const auto& [endpoint, n] : hits) {
    EXPECT_GE(n, 220) << endpoint;
    EXPECT_LE(n, 380) << endpoint;
  }
}

TEST_F(MaglevDatapathTest, TableSwapKeepsFlowsAndMovesAboutATenth) {
  constexpr int kFlows = 2000;
  std::map<uint16_t, std::string> before;
  for (int i = 0; i < kFlows; ++i) {
    uint16_t sport = static_cast<uint16_t>(10000 + i);
    before[sport] = Send(sport);
  }
  // Endpoint 10 leaves: the new table is written whole and swapped in,
  // then the count shrinks (the programmer's order).
  std::vector<int> nine;
  for (int id = 1; id < kBackends; ++id) nine.push_back(id);
  ASSERT_NO_FATAL_FAILURE(Serve(nine));

  // Established flows keep their endpoint, the leaver's included (its
  // backend entry stays until the agent retires it).
  for (const auto& [sport, endpoint] : before) {
    ASSERT_EQ(Send(sport, packet::kTcpAck), endpoint) << sport;
  }
  // New flows on the same tuples: only about a tenth choose differently.
  ASSERT_OK(dp_->maps().ClearCt());
  int moved = 0, moved_from_survivors = 0, on_leaver = 0;
  const std::string leaver = BackendIp(kBackends);
  for (const auto& [sport, endpoint] : before) {
    const std::string now = Send(sport);
    ASSERT_NE(now, leaver);
    on_leaver += endpoint == leaver;
    if (now != endpoint) {
      ++moved;
      moved_from_survivors += endpoint != leaver;
    }
  }
  std::printf(
      "1 of 10 endpoints left: %d of %d new flows moved (%.1f%%; the "
      "leaver had %d), %d between survivors\n",
      moved, kFlows, 100.0 * moved / kFlows, on_leaver, moved_from_survivors);
  EXPECT_EQ(moved - moved_from_survivors, on_leaver);
  EXPECT_LE(moved, kFlows * 0.15);
  EXPECT_LE(moved_from_survivors, kFlows * 0.03);
  bpf_test::ExpectReasons(dp_->maps(), {});
}

TEST_F(MaglevDatapathTest, SmallTableOfItsOwnSize) {
  // Sizes differ per table (BPF_F_INNER_MAP); the size read is the
  // table's own.
  ASSERT_NO_FATAL_FAILURE(Serve({3, 4}, 7));
  std::map<std::string, int> hits;
  for (uint16_t sport = 5000; sport < 5200; ++sport) ++hits[Send(sport)];
  EXPECT_EQ(hits.size(), 2u);
  EXPECT_TRUE(hits.contains(BackendIp(3)) && hits.contains(BackendIp(4)));
  absl::StatusOr<std::vector<uint32_t>> table =
      dp_->maps().ReadMaglevTable(kSet);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 8u);
  EXPECT_EQ((*table)[0], 7u);
}

TEST_F(MaglevDatapathTest, WithoutATableNewFlowsChooseAtRandom) {
  ASSERT_OK(dp_->maps().DeleteMaglevTable(kSet));
  std::map<std::string, int> hits;
  for (uint16_t sport = 6000; sport < 6200; ++sport) ++hits[Send(sport)];
  EXPECT_GE(hits.size(), 8u);  // over the slots
  bpf_test::ExpectReasons(dp_->maps(), {});
}

}  // namespace
}  // namespace switchyard
