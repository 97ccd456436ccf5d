// SPDX-License-Identifier: Apache-2.0
// Maglev selection in the real tc program (yard_from_pod), run through
// BPF_PROG_TEST_RUN: the table the agent builds decides every new flow,
// the same tuple always lands on the same endpoint (also after its
// tracking entry is gone), different tuples spread over every endpoint,
// and a new table under traffic keeps established flows where they are
// and moves about 1/N of the choices when one endpoint of N leaves. Every
// test runs with tables rewritten in place (feature maglev_mmap) and with
// tables swapped whole (its fallback); new flows meet only live backends
// while tables are rewritten under them.
#include <arpa/inet.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
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

// The parameter: whether tables are rewritten in place (maglev_mmap on).
class MaglevDatapathTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    kernel::DatapathConfig config;  // nothing pinned
    if (!GetParam()) config.features_off = {kernel::Feature::kMaglevMmap};
    config.max_frontends = 64;
    config.max_slots = 256;
    config.max_backends = 64;
    config.max_ct_entries = 16384;
    config.max_maglev_tables = 4;
    absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
    ASSERT_TRUE(dp.ok()) << dp.status();
    dp_ = std::move(*dp);
    if (GetParam() && !dp_->features().on(kernel::Feature::kMaglevMmap)) {
      GTEST_SKIP() << "maglev_mmap is off on this kernel: "
                   << dp_->features().why(kernel::Feature::kMaglevMmap);
    }
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
    for (size_t i = 0; i < ids.size(); ++i) {
      ASSERT_OK(dp_->maps().PutSlot({kSet, static_cast<uint32_t>(i + 1)},
                                    {static_cast<uint32_t>(ids[i])}));
    }
    ASSERT_OK(dp_->maps().PutMaglevTable(kSet, Table(ids, size)));
    PutFrontend(YARD_POLICY_MAGLEV, static_cast<uint16_t>(ids.size()));
  }

  static std::vector<uint32_t> Table(const std::vector<int>& ids,
                                     uint32_t size = kTableSize) {
    std::vector<translate::MaglevBackend> backends;
    for (int id : ids) {
      backends.push_back(
          {uint64_t{ntohl(IpBe(BackendIp(id)))} << 16 | 8080, 1});
    }
    std::vector<uint32_t> picks = translate::BuildMaglevTable(backends, size);
    std::vector<uint32_t> table = {size};
    for (uint32_t pick : picks) table.push_back(ids[pick]);
    return table;
  }

  std::optional<uint32_t> TableMapId() {
    absl::StatusOr<std::optional<uint32_t>> id =
        dp_->maps().MaglevTableMapId(kSet);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : std::nullopt;
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

TEST_P(MaglevDatapathTest, SameTupleSameEndpointEvenAsANewFlow) {
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

TEST_P(MaglevDatapathTest, DifferentTuplesSpreadOverEveryEndpoint) {
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

TEST_P(MaglevDatapathTest, TableSwapKeepsFlowsAndMovesAboutATenth) {
  constexpr int kFlows = 2000;
  std::map<uint16_t, std::string> before;
  for (int i = 0; i < kFlows; ++i) {
    uint16_t sport = static_cast<uint16_t>(10000 + i);
    before[sport] = Send(sport);
  }
  // Endpoint 10 leaves: the new table is written (in place, or whole and
  // swapped in), then the count shrinks (the programmer's order).
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

TEST_P(MaglevDatapathTest, SmallTableOfItsOwnSize) {
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

TEST_P(MaglevDatapathTest, WithoutATableNewFlowsChooseAtRandom) {
  ASSERT_OK(dp_->maps().DeleteMaglevTable(kSet));
  std::map<std::string, int> hits;
  for (uint16_t sport = 6000; sport < 6200; ++sport) ++hits[Send(sport)];
  EXPECT_GE(hits.size(), 8u);  // over the slots
  bpf_test::ExpectReasons(dp_->maps(), {});
}

TEST_P(MaglevDatapathTest, SameSizeTableIsRewrittenInPlaceOnlyWhenMapped) {
  const std::optional<uint32_t> before = TableMapId();
  ASSERT_TRUE(before.has_value());
  const std::vector<uint32_t> nine = Table({1, 2, 3, 4, 5, 6, 7, 8, 9});
  ASSERT_OK(dp_->maps().PutMaglevTable(kSet, nine));
  const std::optional<uint32_t> after = TableMapId();
  if (GetParam()) {
    EXPECT_EQ(after, before) << "rewritten in place";
  } else {
    EXPECT_NE(after, before) << "a new table swapped in";
  }
  absl::StatusOr<std::vector<uint32_t>> read =
      dp_->maps().ReadMaglevTable(kSet);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, nine);
  // Another size is always a new table.
  const std::vector<uint32_t> small = Table({1, 2}, 7);
  ASSERT_OK(dp_->maps().PutMaglevTable(kSet, small));
  EXPECT_NE(TableMapId(), after);
  read = dp_->maps().ReadMaglevTable(kSet);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, small);
}

TEST_P(MaglevDatapathTest, NewFlowsDuringRewritesGoWhereTheOldOrNewTableSays) {
  // One thread alternates the table between all ten endpoints and nine
  // while this one sends new flows: each must land where one of the two
  // tables sends it (a torn entry would send it elsewhere or leave it
  // untranslated; a zeroed one to a random slot). Rounds of 1,000 flows, their
  // tracking cleared between rounds, until three rounds and four rewrites are
  // done (a swap waits for a grace period, a rewrite in place does not);
  // bounded by 30 rounds and 20,000 rewrites.
  const std::vector<uint32_t> ten = Table({1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  const std::vector<uint32_t> nine = Table({1, 2, 3, 4, 5, 6, 7, 8, 9});
  constexpr int kSports = 1000;
  std::map<uint16_t, std::set<std::string>> either;
  for (const std::vector<uint32_t>* table : {&nine, &ten}) {
    ASSERT_OK(dp_->maps().PutMaglevTable(kSet, *table));
    ASSERT_OK(dp_->maps().ClearCt());
    for (int i = 0; i < kSports; ++i) {
      const uint16_t sport = static_cast<uint16_t>(20000 + i);
      either[sport].insert(Send(sport));
    }
  }
  std::atomic<bool> stop = false;
  std::atomic<int> rewrites = 0;
  absl::Status writer_status;
  std::thread writer([&] {
    for (int i = 0; i < 20000 && !stop.load(); ++i) {
      absl::Status s = dp_->maps().PutMaglevTable(kSet, i % 2 ? ten : nine);
      if (!s.ok()) {
        writer_status = s;
        return;
      }
      rewrites.fetch_add(1);
    }
  });
  std::map<std::string, int> hits;
  int bad = 0, flows = 0;
  for (int round = 0; round < 30 && bad < 10; ++round) {
    if (round >= 3 && rewrites.load() >= 4) break;
    if (absl::Status s = dp_->maps().ClearCt(); !s.ok()) {
      ADD_FAILURE() << s;
      break;
    }
    for (int i = 0; i < kSports && bad < 10; ++i, ++flows) {
      const uint16_t sport = static_cast<uint16_t>(20000 + i);
      const std::string endpoint = Send(sport);
      if (!either[sport].contains(endpoint)) {
        ++bad;
        ADD_FAILURE() << "sport " << sport << " went to " << endpoint;
      }
      ++hits[endpoint];
    }
  }
  stop = true;
  writer.join();
  ASSERT_TRUE(writer_status.ok()) << writer_status;
  std::printf("%d table writes under %d new flows\n", rewrites.load(), flows);
  EXPECT_EQ(bad, 0);
  EXPECT_GE(rewrites.load(), 2);
  EXPECT_EQ(hits.size(), static_cast<size_t>(kBackends));
  bpf_test::ExpectReasons(dp_->maps(), {});
}

INSTANTIATE_TEST_SUITE_P(InPlaceAndSwapped, MaglevDatapathTest,
                         ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "InPlace" : "Swapped";
                         });

}  // namespace
}  // namespace switchyard
