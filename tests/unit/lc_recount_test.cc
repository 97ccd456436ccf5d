// SPDX-License-Identifier: Apache-2.0
// The agent's recount of least-connection counts (control/agent/
// lc_recount.h), without a kernel: which flows of a yard_ct4 walk count,
// and which count words are corrected, left for later or forced.
#include "control/agent/lc_recount.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <map>
#include <utility>
#include <vector>

namespace switchyard::agent {
namespace {

constexpr uint64_t kSec = 1'000'000'000ull;
constexpr uint64_t kNow = 1'000'000 * kSec;

using CtEntries = std::vector<std::pair<yard_ct4_key, yard_ct4_value>>;
using Backends = std::vector<std::pair<uint32_t, yard_backend4>>;

yard_backend4 Backend(uint32_t id) {
  return yard_backend4{.addr = htonl(0x0a000000 + id),
                       .port = htons(8080),
                       .state = YARD_BACKEND_ACTIVE};
}

// A forward entry of a TCP flow from client port `sport` to backend id,
// seen `idle_s` seconds ago.
std::pair<yard_ct4_key, yard_ct4_value> Flow(uint16_t sport, uint32_t id,
                                             uint32_t lc, uint16_t flags = 0,
                                             uint64_t idle_s = 1,
                                             uint8_t proto = IPPROTO_TCP) {
  yard_ct4_key key = {};
  key.saddr = htonl(0x0a640001);
  key.daddr = htonl(0x0a600001);
  key.sport = htons(sport);
  key.dport = htons(80);
  key.proto = proto;
  key.dir = YARD_CT_FORWARD;
  yard_ct4_value value = {};
  value.created_ns = kNow - idle_s * kSec;
  value.last_seen_ns = kNow - idle_s * kSec;
  value.backend_id = id;
  value.addr = Backend(id).addr;
  value.port = Backend(id).port;
  value.flags = flags;
  value.lc = lc;
  return {key, value};
}

uint64_t Word(uint32_t changes, int32_t active) {
  return (static_cast<uint64_t>(changes) << 32) | static_cast<uint32_t>(active);
}

TEST(LcWordTest, CountIsTheSignedLowHalfAndTheTagAdvances) {
  EXPECT_EQ(LcActive(Word(7, 3)), 3);
  EXPECT_EQ(LcActive(Word(7, -1)), -1);
  // The datapath's adds move both halves.
  EXPECT_EQ(LcActive(Word(7, 3) + YARD_LC_OPEN), 4);
  EXPECT_EQ(Word(7, 3) + YARD_LC_OPEN, Word(8, 4));
  EXPECT_EQ(Word(7, 3) + YARD_LC_CLOSE, Word(8, 2));
  EXPECT_EQ(LcWordWithActive(Word(7, 3), 0), Word(8, 0));
  EXPECT_EQ(LcWordWithActive(Word(7, -1), 5), Word(8, 5));
}

TEST(CountLiveFlowsTest, CountsOnlyLiveCountedForwardEntries) {
  const kernel::CtTimeouts timeouts{
      .udp_s = 120, .tcp_idle_s = 3600, .tcp_close_s = 10};
  const Backends backends = {{1, Backend(1)}, {2, Backend(2)}};
  CtEntries ct = {
      Flow(1, 1, YARD_LC_COUNTED),                     // counts
      Flow(2, 1, YARD_LC_COUNTED),                     // counts
      Flow(3, 2, YARD_LC_COUNTED),                     // counts
      Flow(4, 1, 0),                                   // not counted
      Flow(5, 1, YARD_LC_COUNTED | YARD_LC_RELEASED),  // released
      Flow(6, 1, YARD_LC_COUNTED, YARD_CT_F_RST),      // ended
      Flow(7, 1, YARD_LC_COUNTED,
           YARD_CT_F_FIN_CLIENT | YARD_CT_F_FIN_BACKEND),  // ended
      Flow(8, 1, YARD_LC_COUNTED, YARD_CT_F_FIN_CLIENT),   // half closed
      Flow(9, 2, YARD_LC_COUNTED, 0, 3601),                // expired
      Flow(10, 2, YARD_LC_COUNTED, 0, 121, IPPROTO_UDP),   // expired
      Flow(11, 2, YARD_LC_COUNTED, 0, 60, IPPROTO_UDP),    // counts
      Flow(12, 3, YARD_LC_COUNTED),  // backend id no longer in use
  };
  // A reply entry never counts, whatever it says.
  auto reply = Flow(13, 1, YARD_LC_COUNTED);
  reply.first.dir = YARD_CT_REPLY;
  ct.push_back(reply);
  // The id now names another endpoint: the flow's endpoint is gone.
  auto moved = Flow(14, 2, YARD_LC_COUNTED);
  moved.second.addr = htonl(0x0a0000ff);
  ct.push_back(moved);

  std::map<uint32_t, int32_t> live =
      CountLiveFlows(ct, backends, timeouts, kNow);
  EXPECT_EQ(live, (std::map<uint32_t, int32_t>{{1, 3}, {2, 2}}));
}

TEST(LeastConnRecountTest, QuietWordsAreCorrectedToTheWalk) {
  LeastConnRecount recount;
  // Backend 1 lost two flows to expiry; backend 2 is right; backend 3
  // lost every flow (absent from the walk); backend 4's only flow was
  // counted (say, after the agent's restart) but its word is zero.
  const LcWords words = {{1, Word(10, 5)}, {2, Word(4, 2)}, {3, Word(9, 1)}};
  std::vector<LcCorrection> got =
      recount.Decide(words, {{1, 3}, {2, 2}, {4, 1}}, words);
  EXPECT_EQ(got, (std::vector<LcCorrection>{
                     {.backend_id = 1, .was = 5, .is = 3, .word = Word(11, 3)},
                     {.backend_id = 3, .was = 1, .is = 0, .word = Word(10, 0)},
                     {.backend_id = 4, .was = 0, .is = 1, .word = Word(1, 1)},
                 }));
}

TEST(LeastConnRecountTest, ANegativeCountIsPutRight) {
  LeastConnRecount recount;
  const LcWords words = {{1, Word(3, -1)}};
  std::vector<LcCorrection> got = recount.Decide(words, {}, words);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].is, 0);
  EXPECT_EQ(LcActive(got[0].word), 0);
}

TEST(LeastConnRecountTest, BusyWordsWaitThenAreForced) {
  LeastConnRecount recount;
  // Each recount, a flow of backend 1 opened during the walk, which the
  // walk did not see: its word moved, so the walk's number is not exact.
  uint64_t word = Word(10, 5);
  for (int i = 1; i < LeastConnRecount::kBusyRecountsBeforeForcing; ++i) {
    const uint64_t after = word + YARD_LC_OPEN;
    EXPECT_TRUE(recount.Decide({{1, word}}, {{1, 3}}, {{1, after}}).empty())
        << "recount " << i;
    word = after;
  }
  const uint64_t after = word + YARD_LC_OPEN;
  std::vector<LcCorrection> got =
      recount.Decide({{1, word}}, {{1, 3}}, {{1, after}});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].forced);
  EXPECT_EQ(got[0].is, 3);
  EXPECT_EQ(LcActive(got[0].word), 3);
}

TEST(LeastConnRecountTest, AQuietRecountResetsTheBusyRun) {
  LeastConnRecount recount;
  const uint64_t w = Word(10, 5);
  EXPECT_TRUE(
      recount.Decide({{1, w}}, {{1, 3}}, {{1, w + YARD_LC_OPEN}}).empty());
  // Quiet and right: nothing to do, and the run of busy ones is over.
  const uint64_t right = Word(20, 3);
  EXPECT_TRUE(recount.Decide({{1, right}}, {{1, 3}}, {{1, right}}).empty());
  for (int i = 1; i < LeastConnRecount::kBusyRecountsBeforeForcing; ++i) {
    EXPECT_TRUE(
        recount.Decide({{1, right}}, {{1, 1}}, {{1, right + YARD_LC_CLOSE}})
            .empty())
        << "busy recount " << i << " after the quiet one";
  }
}

TEST(LeastConnRecountTest, BusyButRightIsLeftAlone) {
  LeastConnRecount recount;
  const uint64_t w = Word(10, 5);
  // The word moved (one opened, one closed) and the walk agrees with it.
  EXPECT_TRUE(
      recount
          .Decide({{1, w}}, {{1, 5}}, {{1, w + YARD_LC_OPEN + YARD_LC_CLOSE}})
          .empty());
}

}  // namespace
}  // namespace switchyard::agent
