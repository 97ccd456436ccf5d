// SPDX-License-Identifier: Apache-2.0
// The updates shared by watch streams: the same question gets the same
// message, and a snapshot is never mistaken for a delta (or back).
#include "control/controller/update_cache.h"

#include <memory>
#include <optional>

#include "control/controller/cluster_store.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace switchyard::controller {
namespace {

v1::ObjectRef ServiceRef(const std::string& name) {
  v1::ObjectRef ref;
  ref.set_kind(v1::KIND_SERVICE);
  ref.set_name(name);
  return ref;
}

v1::Object Service(const std::string& name) {
  v1::Object object;
  object.mutable_service()->mutable_metadata()->set_name(name);
  object.mutable_service()->mutable_spec()->add_ports()->set_port(80);
  return object;
}

// What a watcher receives: the update's wire form, parsed (its upserts
// travel encoded).
v1::WatchResponse Received(const v1::WatchResponse& update) {
  v1::WatchResponse received;
  EXPECT_TRUE(received.ParseFromString(update.SerializeAsString()));
  return received;
}

std::unique_ptr<ClusterStore> Store(size_t retained = 4096) {
  StoreConfig config;
  config.retained_deltas = retained;
  absl::StatusOr<std::unique_ptr<ClusterStore>> store =
      ClusterStore::Open(config);
  EXPECT_TRUE(store.ok()) << store.status();
  return *std::move(store);
}

TEST(UpdateCache, StreamsAskingTheSameShareOneMessage) {
  auto store = Store();
  ASSERT_TRUE(store->Apply({Service("a")}).ok());
  UpdateCache cache(store.get());
  auto first = cache.Update(0, /*snapshot=*/true);
  auto second = cache.Update(0, /*snapshot=*/true);
  EXPECT_EQ(first.get(), second.get());
  ASSERT_TRUE(store->Apply({Service("b")}).ok());
  auto delta = cache.Update(1, /*snapshot=*/false);
  EXPECT_FALSE(delta->snapshot());
  EXPECT_EQ(delta->version(), 2u);
  EXPECT_EQ(Received(*delta).upserts_size(), 1);
  EXPECT_EQ(cache.Update(1, false).get(), delta.get());
  EXPECT_NE(cache.Update(0, true).get(), first.get()) << "a newer version";
}

TEST(UpdateCache, SnapshotIsNotTheDeltaFromVersionZero) {
  auto store = Store();
  ASSERT_TRUE(store->Apply({Service("a")}).ok());
  UpdateCache cache(store.get());
  // A stream that connected at version 0 catches up with a delta...
  auto delta = cache.Update(0, /*snapshot=*/false);
  EXPECT_FALSE(delta->snapshot());
  // ...and a restarted agent at the same moment needs a snapshot, which
  // clears whatever it holds: the delta would be refused.
  auto snapshot = cache.Update(0, /*snapshot=*/true);
  EXPECT_TRUE(snapshot->snapshot());
  EXPECT_EQ(snapshot->version(), 1u);
  EXPECT_FALSE(cache.Update(0, false)->snapshot());
}

TEST(UpdateCache, DeltaNoLongerHeldBecomesASnapshot) {
  auto store = Store(/*retained=*/1);
  for (const char* name : {"a", "b", "c"}) {
    ASSERT_TRUE(store->Apply({Service(name)}).ok());
  }
  UpdateCache cache(store.get());
  auto update = cache.Update(1, /*snapshot=*/false);
  EXPECT_TRUE(update->snapshot());
  EXPECT_EQ(Received(*update).upserts_size(), 3);
  EXPECT_EQ(cache.Update(0, /*snapshot=*/true).get(), update.get());
}

// The encoded upserts are the store's objects, byte for byte once parsed,
// in the same order, beside the deletes.
TEST(UpdateCache, EncodedUpdatesReceiveAsTheStoreMessages) {
  auto store = Store();
  ASSERT_TRUE(store->Apply({Service("a"), Service("b"), Service("c")}).ok());
  ASSERT_TRUE(store
                  ->Delete({ServiceRef("b")},
                           /*ignore_not_found=*/false)
                  .ok());
  ASSERT_TRUE(store->Apply({Service("d")}).ok());
  UpdateCache cache(store.get());
  auto delta = cache.Update(1, /*snapshot=*/false);
  EXPECT_EQ(delta->upserts_size(), 0) << "carried encoded";
  std::optional<v1::WatchResponse> expected = store->ChangesSince(1);
  ASSERT_TRUE(expected.has_value());
  EXPECT_EQ(expected->upserts_size(), 1);
  EXPECT_EQ(expected->deletes_size(), 1);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      Received(*delta), *expected));
  auto snapshot = cache.Update(0, /*snapshot=*/true);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      Received(*snapshot), store->Snapshot()));
  EXPECT_EQ(Received(*snapshot).upserts_size(), 3);
}

}  // namespace
}  // namespace switchyard::controller
