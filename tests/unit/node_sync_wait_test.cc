// SPDX-License-Identifier: Apache-2.0
// NodeSyncTable::WaitSynced, behind ListNodeSync's wait_for_version and
// `yardctl apply --wait`: done when every named (or every connected) node
// acked or refused the version, woken by the ack itself, bounded by its
// deadline and by cancellation.
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "control/controller/node_sync_table.h"
#include "gtest/gtest.h"

namespace switchyard::controller {
namespace {

v1::WatchAck Ack(uint64_t version, bool applied = true) {
  v1::WatchAck ack;
  ack.set_version(version);
  ack.set_applied(applied);
  if (!applied) ack.set_error("slot map full");
  return ack;
}

bool Never() { return false; }

TEST(NodeSyncWaitTest, DoneAtOnceWhenEveryNodeIsThere) {
  NodeSyncTable table;
  table.Connected("a");
  table.Connected("b");
  table.Acked("a", Ack(5));
  table.Acked("b", Ack(6));
  const absl::Time start = absl::Now();
  EXPECT_TRUE(table.WaitSynced(5, {}, start + absl::Seconds(10), Never));
  EXPECT_TRUE(
      table.WaitSynced(5, {"a", "b"}, start + absl::Seconds(10), Never));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  // A refusal is an answer too: the caller reads which it was.
  table.Acked("b", Ack(7, /*applied=*/false));
  EXPECT_TRUE(table.WaitSynced(7, {"b"}, absl::Now(), Never));
  EXPECT_FALSE(table.WaitSynced(7, {"a"}, absl::Now(), Never));
}

TEST(NodeSyncWaitTest, EmptyListMeansTheConnectedNodes) {
  NodeSyncTable table;
  table.Connected("up");
  table.Connected("gone");
  table.Disconnected("gone");
  table.Acked("up", Ack(3));
  EXPECT_TRUE(table.WaitSynced(3, {}, absl::Now(), Never));
  // Named, a node that is away (or never came) is waited for.
  EXPECT_FALSE(table.WaitSynced(3, {"gone"}, absl::Now(), Never));
  EXPECT_FALSE(table.WaitSynced(3, {"never"}, absl::Now(), Never));
}

TEST(NodeSyncWaitTest, TheAckWakesTheWaiter) {
  NodeSyncTable table;
  table.Connected("a");
  table.Acked("a", Ack(1));
  std::thread acker([&] {
    absl::SleepFor(absl::Milliseconds(50));
    table.Acked("a", Ack(2));
  });
  const absl::Time start = absl::Now();
  EXPECT_TRUE(table.WaitSynced(2, {"a"}, start + absl::Seconds(20), Never));
  acker.join();
  // Well before the deadline: woken, not timed out.
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(NodeSyncWaitTest, DeadlineAndCancellationEndTheWait) {
  NodeSyncTable table;
  table.Connected("a");
  absl::Time start = absl::Now();
  EXPECT_FALSE(table.WaitSynced(1, {}, start + absl::Milliseconds(150), Never));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(150));

  start = absl::Now();
  EXPECT_FALSE(
      table.WaitSynced(1, {}, start + absl::Seconds(30), [] { return true; }));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

}  // namespace
}  // namespace switchyard::controller
