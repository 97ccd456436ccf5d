// SPDX-License-Identifier: Apache-2.0
// The agent's sweeper on real maps: it deletes exactly the entries whose
// time is up, by the rule the datapath applies at lookup.
#include "control/agent/ct_sweeper.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <memory>

#include "control/kernel/datapath.h"
#include "gtest/gtest.h"

namespace switchyard::agent {
namespace {

constexpr uint64_t kSec = 1'000'000'000ull;

yard_ct4_key Key(uint16_t sport, uint8_t proto) {
  yard_ct4_key key = {};
  key.saddr = inet_addr("10.244.0.5");
  key.daddr = inet_addr("10.96.0.10");
  key.sport = htons(sport);
  key.dport = htons(80);
  key.proto = proto;
  key.dir = YARD_CT_FORWARD;
  return key;
}

yard_ct4_value Seen(uint64_t last_seen_ns, uint16_t flags = 0) {
  yard_ct4_value v = {};
  v.created_ns = last_seen_ns;
  v.last_seen_ns = last_seen_ns;
  v.flags = flags;
  return v;
}

TEST(CtSweeperTest, DeletesWhatHasExpiredAndNothingElse) {
  kernel::DatapathConfig config;  // unpinned
  config.max_ct_entries = 1024;
  absl::StatusOr<std::unique_ptr<kernel::Datapath>> dp =
      kernel::Datapath::Load(config);
  ASSERT_TRUE(dp.ok()) << dp.status();
  kernel::DatapathMaps& maps = (*dp)->maps();
  const uint64_t now = 1'000'000 * kSec;
  const kernel::CtTimeouts t{
      .udp_s = 120, .tcp_idle_s = 3600, .tcp_close_s = 10};
  const uint16_t ended =
      YARD_CT_F_CLOSING | YARD_CT_F_FIN_CLIENT | YARD_CT_F_FIN_BACKEND;
  struct {
    yard_ct4_key key;
    yard_ct4_value value;
    bool kept;
  } cases[] = {
      {Key(1, IPPROTO_TCP), Seen(now - 11 * kSec, ended), false},
      {Key(2, IPPROTO_TCP), Seen(now - 9 * kSec, ended), true},
      {Key(3, IPPROTO_TCP), Seen(now - 11 * kSec, YARD_CT_F_RST), false},
      // Half-closed is open: the idle timeout applies.
      {Key(4, IPPROTO_TCP),
       Seen(now - 11 * kSec, YARD_CT_F_CLOSING | YARD_CT_F_FIN_CLIENT), true},
      {Key(5, IPPROTO_TCP), Seen(now - 3601 * kSec), false},
      {Key(6, IPPROTO_UDP), Seen(now - 121 * kSec), false},
      {Key(7, IPPROTO_UDP), Seen(now - 100 * kSec), true},
      // Touched after the sweep's clock: in use.
      {Key(8, IPPROTO_UDP), Seen(now + kSec), true},
  };
  for (const auto& c : cases) ASSERT_TRUE(maps.PutCt(c.key, c.value).ok());
  absl::StatusOr<uint64_t> swept = SweepExpiredFlows(maps, t, now);
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_EQ(*swept, 4u);
  for (const auto& c : cases) {
    absl::StatusOr<std::optional<yard_ct4_value>> got = maps.LookupCt(c.key);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->has_value(), c.kept) << "port " << ntohs(c.key.sport);
  }
}

}  // namespace
}  // namespace switchyard::agent
