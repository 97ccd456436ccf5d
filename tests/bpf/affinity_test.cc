// SPDX-License-Identifier: Apache-2.0
// Session affinity (sessionAffinity: ClientIP) in the tc datapath, run
// through BPF_PROG_TEST_RUN on the real yard_from_pod: a client's new
// connections stay on one endpoint, other clients choose for themselves,
// the choice lapses after the timeout without a new connection, an
// endpoint that leaves takes its clients' affinity with it, and the flag
// turns on and off live. The north-south hook shares lib/lb.h's selection
// and yard_affinity4 (external_test.cc covers its path).
//
// Every test loads its own datapath, so no affinity entry leaks.
#include <arpa/inet.h>
#include <time.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "control/kernel/datapath.h"
#include "control/kernel/datapath_maps.h"
#include "control/packet/packet_builder.h"
#include "control/packet/packet_decoder.h"
#include "gtest/gtest.h"
#include "tests/bpf/datapath_fixture.h"
#include "tests/packet/prog_run.h"

namespace switchyard {
namespace {

using kernel::Datapath;
using kernel::DatapathConfig;
using packet::Bytes;
using packet::IpBe;
using packet::PacketBuilder;
using packet::PortBe;

constexpr int kActOk = 0;  // TC_ACT_OK

constexpr absl::string_view kServiceIp = "10.96.1.10";
constexpr uint16_t kServicePort = 80;
// A second frontend of the same service port (as a NodePort is): same
// backend set, so the same affinity.
constexpr absl::string_view kNodeIp = "192.168.50.2";
constexpr uint16_t kNodePort = 30080;

constexpr uint32_t kSvcId = 1;
constexpr uint32_t kRevNatService = 1;
constexpr uint32_t kRevNatNodePort = 2;
constexpr uint32_t kTimeoutS = 60;

struct Backend {
  uint32_t id;
  absl::string_view addr;
};
constexpr Backend kBackends[] = {
    {1, "10.244.1.10"}, {2, "10.244.2.10"}, {3, "10.244.3.10"}};
constexpr uint16_t kTargetPort = 8080;

// The endpoint address an affinity entry remembers, as Connect names it.
std::string AddrOf(const yard_aff4_value& entry) {
  return packet::FormatIp(ntohl(entry.addr));
}

class AffinityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DatapathConfig config;  // empty pin_dir: nothing pinned
    config.max_frontends = 16;
    config.max_slots = 64;
    config.max_backends = 16;
    config.max_ct_entries = 8192;
    absl::StatusOr<std::unique_ptr<Datapath>> dp = Datapath::Load(config);
    ASSERT_TRUE(dp.ok()) << dp.status();
    dp_ = std::move(*dp);
    for (const Backend& be : kBackends) {
      yard_backend4 value = {};
      value.addr = IpBe(be.addr);
      value.port = PortBe(kTargetPort);
      value.state = YARD_BACKEND_ACTIVE;
      ASSERT_OK(maps().PutBackend(be.id, value));
    }
    for (uint32_t slot = 1; slot <= 3; ++slot) {
      ASSERT_OK(maps().PutSlot({kSvcId, slot}, {kBackends[slot - 1].id}));
    }
    for (auto [addr, port, rev_nat] :
         {std::tuple{kServiceIp, kServicePort, kRevNatService},
          {kNodeIp, kNodePort, kRevNatNodePort}}) {
      yard_rnat4 rnat = {};
      rnat.addr = IpBe(addr);
      rnat.port = PortBe(port);
      ASSERT_OK(maps().PutRevNat(rev_nat, rnat));
    }
    ASSERT_OK(SetFrontends(3, kTimeoutS));
  }

  kernel::DatapathMaps& maps() { return dp_->maps(); }

  // Both frontends of the service port: `count` slots, affinity with
  // `timeout_s` (0: none).
  absl::Status SetFrontends(uint16_t count, uint32_t timeout_s) {
    for (auto [addr, port, rev_nat] :
         {std::tuple{kServiceIp, kServicePort, kRevNatService},
          {kNodeIp, kNodePort, kRevNatNodePort}}) {
      yard_svc_value value = {};
      value.svc_id = kSvcId;
      value.rev_nat_id = rev_nat;
      value.count = count;
      value.policy = YARD_POLICY_RANDOM;
      if (timeout_s != 0) {
        value.flags = YARD_SVC_F_AFFINITY;
        value.aff_timeout_s = timeout_s;
      }
      absl::Status s = maps().PutFrontend(
          kernel::ServiceKey(IpBe(addr), PortBe(port), packet::kProtoTcp),
          value);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // A new connection (a SYN from a fresh source port) from `client` to
  // addr:port: the endpoint address it was sent to, "" when it was not
  // translated.
  std::string Connect(absl::string_view client,
                      absl::string_view addr = kServiceIp,
                      uint16_t port = kServicePort) {
    const Bytes syn = PacketBuilder()
                          .Ipv4(client, addr)
                          .Tcp(next_port_++, port)
                          .Flags(packet::kTcpSyn)
                          .Build();
    absl::StatusOr<packet::ProgRun> run =
        packet::RunProg(dp_->from_pod_fd(), syn);
    if (!run.ok()) {
      ADD_FAILURE() << run.status();
      return "";
    }
    EXPECT_EQ(run->verdict, kActOk);
    const packet::DecodedFrame d = packet::Decode(run->output);
    if (!d.ip.has_value() || !d.tcp.has_value()) return "";
    EXPECT_EQ(d.tcp->dport, kTargetPort);
    return packet::FormatIp(d.ip->daddr);
  }

  // The endpoints `n` new connections of one client reached.
  std::set<std::string> ConnectMany(absl::string_view client, int n) {
    std::set<std::string> seen;
    for (int i = 0; i < n; ++i) seen.insert(Connect(client));
    return seen;
  }

  std::optional<yard_aff4_value> Entry(absl::string_view client) {
    yard_aff4_key key = {kSvcId, IpBe(client)};
    absl::StatusOr<std::optional<yard_aff4_value>> v =
        maps().LookupAffinity(key);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : std::nullopt;
  }

  // Makes the client's entry as old as if its latest new connection were
  // `seconds` ago, as the clock of the datapath counts.
  void Age(absl::string_view client, uint64_t seconds) {
    std::optional<yard_aff4_value> entry = Entry(client);
    ASSERT_TRUE(entry.has_value()) << client;
    timespec now = {};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const uint64_t now_ns =
        static_cast<uint64_t>(now.tv_sec) * 1000000000ull + now.tv_nsec;
    ASSERT_GT(now_ns, seconds * 1000000000ull);
    entry->last_ns = now_ns - seconds * 1000000000ull;
    ASSERT_OK(maps().PutAffinity({kSvcId, IpBe(client)}, *entry));
  }

  std::unique_ptr<Datapath> dp_;
  uint16_t next_port_ = 20000;
};

TEST_F(AffinityTest, OneClientsNewConnectionsAllReachOneEndpoint) {
  const std::set<std::string> seen = ConnectMany("10.244.0.5", 40);
  ASSERT_EQ(seen.size(), 1u);
  std::optional<yard_aff4_value> entry = Entry("10.244.0.5");
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(AddrOf(*entry), *seen.begin());
  EXPECT_EQ(entry->port, PortBe(kTargetPort));
  EXPECT_GE(entry->slot, 1u);
  EXPECT_LE(entry->slot, 3u);
  EXPECT_EQ(kBackends[entry->slot - 1].id, entry->backend_id);
  bpf_test::ExpectReasons(maps(), {});
}

TEST_F(AffinityTest, EveryFrontendOfTheServicePortSharesTheClientsChoice) {
  const std::string first = Connect("10.244.0.5");
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Connect("10.244.0.5", kNodeIp, kNodePort), first);
    EXPECT_EQ(Connect("10.244.0.5"), first);
  }
}

TEST_F(AffinityTest, EachClientKeepsItsOwnEndpointAndClientsDiffer) {
  std::map<std::string, std::string> chosen;
  std::set<std::string> used;
  // 30 clients all on one of 3 endpoints by chance: odds 3 * 3^-30.
  for (int c = 0; c < 30; ++c) {
    const std::string client = absl::StrCat("10.244.9.", c + 1);
    const std::set<std::string> seen = ConnectMany(client, 5);
    ASSERT_EQ(seen.size(), 1u) << client;
    chosen[client] = *seen.begin();
    used.insert(*seen.begin());
  }
  EXPECT_GT(used.size(), 1u);
  for (const auto& [client, endpoint] : chosen) {
    EXPECT_EQ(Connect(client), endpoint) << client;
  }
}

TEST_F(AffinityTest, WithoutAffinityOneClientSpreads) {
  ASSERT_OK(SetFrontends(3, 0));
  // 60 flows on one endpoint of 3 by chance: odds 3 * 3^-60.
  EXPECT_GT(ConnectMany("10.244.0.5", 60).size(), 1u);
  EXPECT_FALSE(Entry("10.244.0.5").has_value());
}

TEST_F(AffinityTest, EachNewConnectionRestartsTheTimeout) {
  Connect("10.244.0.5");
  ASSERT_NO_FATAL_FAILURE(Age("10.244.0.5", kTimeoutS - 5));
  const uint64_t aged = Entry("10.244.0.5")->last_ns;
  const std::string endpoint = Connect("10.244.0.5");
  std::optional<yard_aff4_value> entry = Entry("10.244.0.5");
  ASSERT_TRUE(entry.has_value());
  EXPECT_GT(entry->last_ns, aged + (kTimeoutS - 10) * 1000000000ull);
  EXPECT_EQ(AddrOf(*entry), endpoint);
}

TEST_F(AffinityTest, AfterTheTimeoutTheClientChoosesAgain) {
  std::string endpoint = Connect("10.244.0.5");
  // An expired entry is not followed: the client chooses at random, so
  // it lands elsewhere within a few tries (all 40 the same: 3^-40).
  bool moved = false;
  for (int i = 0; i < 40 && !moved; ++i) {
    ASSERT_NO_FATAL_FAILURE(Age("10.244.0.5", kTimeoutS + 1));
    const std::string next = Connect("10.244.0.5");
    moved = next != endpoint;
    // The new choice is remembered afresh and holds again.
    std::optional<yard_aff4_value> entry = Entry("10.244.0.5");
    ASSERT_TRUE(entry.has_value());
    EXPECT_EQ(AddrOf(*entry), next);
    EXPECT_EQ(Connect("10.244.0.5"), next);
    endpoint = next;
  }
  EXPECT_TRUE(moved);
}

TEST_F(AffinityTest, AnEndpointThatLeavesTakesItsClientsAffinityWithIt) {
  const std::string client = "10.244.0.5";
  const std::string first = Connect(client);
  std::optional<yard_aff4_value> entry = Entry(client);
  ASSERT_TRUE(entry.has_value());
  // The agent's removal: the last slot's backend fills the leaving one's
  // slot, the count shrinks, then the last slot goes.
  const uint32_t gone_slot = entry->slot;
  if (gone_slot != 3) {
    ASSERT_OK(maps().PutSlot({kSvcId, gone_slot}, {kBackends[2].id}));
  }
  ASSERT_OK(SetFrontends(2, kTimeoutS));
  ASSERT_OK(maps().DeleteSlot({kSvcId, 3}));

  const std::set<std::string> seen = ConnectMany(client, 20);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_NE(*seen.begin(), first);
  EXPECT_EQ(AddrOf(*Entry(client)), *seen.begin());
  bpf_test::ExpectReasons(maps(), {});
}

TEST_F(AffinityTest, AnEndpointStillInItsSlotButRemovedIsNotFollowed) {
  const std::string client = "10.244.0.5";
  const std::string first = Connect(client);
  const uint32_t id = Entry(client)->backend_id;
  // The slot still names the id, but the id now holds another endpoint
  // (reused): the entry's address no longer matches.
  yard_backend4 value = {};
  value.addr = IpBe("10.244.8.8");
  value.port = PortBe(kTargetPort);
  value.state = YARD_BACKEND_ACTIVE;
  ASSERT_OK(maps().PutBackend(id, value));
  Connect(client);
  std::optional<yard_aff4_value> entry = Entry(client);
  ASSERT_TRUE(entry.has_value());
  EXPECT_NE(AddrOf(*entry), first);
}

TEST_F(AffinityTest, TurningAffinityOffAndOnWorksLive) {
  const std::string client = "10.244.0.5";
  ASSERT_EQ(ConnectMany(client, 10).size(), 1u);
  ASSERT_OK(SetFrontends(3, 0));
  EXPECT_GT(ConnectMany(client, 60).size(), 1u);
  ASSERT_OK(SetFrontends(3, kTimeoutS));
  EXPECT_EQ(ConnectMany(client, 30).size(), 1u);
  bpf_test::ExpectReasons(maps(), {});
}

}  // namespace
}  // namespace switchyard
