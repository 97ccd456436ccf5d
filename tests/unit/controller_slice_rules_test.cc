// SPDX-License-Identifier: Apache-2.0
// The store's rules between EndpointSlices and the Service they name
// (cluster_store.h): slices may exist without their Service or with port
// names it lacks (stored, not used, and said why), a deleted Service takes
// its slices with it in the same version, and a mirror follows its source.
#include <string>
#include <vector>

#include "control/controller/cluster_store.h"
#include "control/controller/slice_relations.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller_store_test_util.h"

namespace switchyard::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Objs;
using testing::Ref;
using testing::Slice;
using testing::Svc;

const std::string kWebTwoPorts =
    Svc("web", "",
        "ports { name: 'http' port: 80 } ports { name: 'dns' port: 53 }");

std::vector<std::string> SliceNames(const ClusterStore& store,
                                    const std::string& ns = "") {
  std::vector<std::string> names;
  for (const v1::Object& object : store.List(v1::KIND_ENDPOINT_SLICE, ns)) {
    names.push_back(Describe(RefOf(object)));
  }
  return names;
}

// What the store would log for `slice_name` (in default) as it stands.
std::vector<std::string> Unused(const ClusterStore& store,
                                const std::string& slice_name) {
  absl::StatusOr<v1::Object> slice =
      store.Get(Ref(v1::KIND_ENDPOINT_SLICE, "default", slice_name));
  EXPECT_TRUE(slice.ok()) << slice.status();
  if (!slice.ok()) return {};
  ObjectKey key = ObjectKey::Of(RefOf(*slice));
  ObjectKey service_key = ServiceKeyOf(key, slice->endpoint_slice());
  absl::StatusOr<v1::Object> service = store.Get(service_key.ToRef());
  return UnusedSliceParts(key, slice->endpoint_slice(),
                          service.ok() ? &service->service() : nullptr);
}

class SliceRulesTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = testing::OpenOrDie(); }

  uint64_t MustApply(const std::vector<std::string>& texts) {
    absl::StatusOr<ApplyResult> result = store_->Apply(Objs(texts));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->version : 0;
  }
  uint64_t MustDelete(const std::vector<v1::ObjectRef>& refs) {
    absl::StatusOr<uint64_t> version = store_->Delete(refs, false);
    EXPECT_TRUE(version.ok()) << version.status();
    return version.ok() ? *version : 0;
  }

  std::unique_ptr<ClusterStore> store_;
};

// Rule 1: a slice may be written before, or without, its Service (as
// Kubernetes allows); nothing of it is used until the Service exists.
TEST_F(SliceRulesTest, SliceWithoutItsServiceIsStoredAndSaysWhy) {
  MustApply({Slice("web-1", "web")});
  EXPECT_THAT(SliceNames(*store_), ElementsAre("EndpointSlice default/web-1"));
  EXPECT_THAT(Unused(*store_, "web-1"),
              ElementsAre("EndpointSlice default/web-1: Service default/web "
                          "does not exist; the slice is kept and used once "
                          "the Service is created"));
  // Its Service arrives later: the slice is complete.
  MustApply({Svc("web")});
  EXPECT_THAT(Unused(*store_, "web-1"), ElementsAre());
}

TEST_F(SliceRulesTest, SliceBelongsToTheServiceOfItsOwnNamespace) {
  // default/web exists; prod/web does not, and is the one this slice names.
  MustApply({Svc("web"),
             "endpoint_slice { metadata { name: 'web-1' namespace: 'prod' "
             "labels { key: 'kubernetes.io/service-name' value: 'web' } } "
             "address_type: 'IPv4' }"});
  absl::StatusOr<v1::Object> slice =
      store_->Get(Ref(v1::KIND_ENDPOINT_SLICE, "prod", "web-1"));
  ASSERT_TRUE(slice.ok()) << slice.status();
  ObjectKey key = ObjectKey::Of(RefOf(*slice));
  EXPECT_EQ(ServiceKeyOf(key, slice->endpoint_slice()),
            (ObjectKey{v1::KIND_SERVICE, "prod", "web"}));
}

// Rule 2: a slice port whose name matches no Service port is stored, not
// used for any Service port, and named as unused.
TEST_F(SliceRulesTest, PortNameTheServiceLacksIsStoredAndSaysWhy) {
  MustApply({kWebTwoPorts,
             Slice("web-1", "web",
                   "endpoints { addresses: '10.1.0.1' } "
                   "ports { name: 'http' port: 8080 } "
                   "ports { name: 'metrics' port: 9090 } ports { port: 1 }")});
  EXPECT_THAT(
      Unused(*store_, "web-1"),
      ElementsAre("EndpointSlice default/web-1: ports[1].name: Service "
                  "default/web has no port named \"metrics\"; this slice port "
                  "is not used",
                  "EndpointSlice default/web-1: ports[2].name: Service "
                  "default/web has no unnamed port; this slice port is not "
                  "used"));
}

// The case: renaming a Service's port used to leave a slice the
// store would then refuse on re-apply. Both writes are accepted now, and
// the slice port is reported unused until the slice follows the rename.
TEST_F(SliceRulesTest, RenamingAServicePortKeepsItsSlicesWritable) {
  const std::string slice = Slice(
      "web-1", "web",
      "endpoints { addresses: '10.1.0.1' } ports { name: 'http' port: 8080 }");
  MustApply({Svc("web", "", "ports { name: 'http' port: 80 }"), slice});
  EXPECT_THAT(Unused(*store_, "web-1"), ElementsAre());
  MustApply({Svc("web", "", "ports { name: 'web' port: 80 }")});
  MustApply({slice});  // re-applied unchanged: accepted, no new version
  EXPECT_THAT(Unused(*store_, "web-1"),
              ElementsAre(HasSubstr("has no port named \"http\"")));
  // The writer (or, in Kubernetes, the EndpointSlice controller) follows.
  MustApply({Slice(
      "web-1", "web",
      "endpoints { addresses: '10.1.0.1' } ports { name: 'web' port: 8080 }")});
  EXPECT_THAT(Unused(*store_, "web-1"), ElementsAre());
}

// Rule 3: deleting a Service deletes its slices, in the same version, so a
// Service created again under its name starts with no endpoints.
TEST_F(SliceRulesTest, DeletingAServiceDeletesItsSlices) {
  MustApply({Svc("a"), Svc("b"), Slice("a-1", "a"), Slice("a-2", "a"),
             Slice("b-1", "b"), Slice("orphan-1", "gone"),
             "endpoint_slice { metadata { name: 'a-1' namespace: 'prod' "
             "labels { key: 'kubernetes.io/service-name' value: 'a' } } "
             "address_type: 'IPv4' }"});
  const uint64_t before = store_->version();
  const uint64_t after = MustDelete({Ref(v1::KIND_SERVICE, "default", "a")});
  EXPECT_EQ(after, before + 1) << "one write, one version";
  // Slices of other Services, of a Service that never existed, and of a
  // same-named Service in another namespace stay.
  EXPECT_THAT(SliceNames(*store_), ElementsAre("EndpointSlice default/b-1",
                                               "EndpointSlice default/orphan-1",
                                               "EndpointSlice prod/a-1"));
  // Watchers see the slices go with the Service.
  std::optional<v1::WatchResponse> changes = store_->ChangesSince(before);
  ASSERT_TRUE(changes.has_value());
  std::vector<std::string> deleted;
  for (const v1::ObjectRef& ref : changes->deletes()) {
    deleted.push_back(Describe(ref));
  }
  EXPECT_THAT(deleted,
              ElementsAre("Service default/a", "EndpointSlice default/a-1",
                          "EndpointSlice default/a-2"));
  // Created again: no stale endpoints come back.
  MustApply({Svc("a")});
  EXPECT_THAT(SliceNames(*store_, "default"),
              ElementsAre("EndpointSlice default/b-1",
                          "EndpointSlice default/orphan-1"));
}

TEST_F(SliceRulesTest, DeletingAServiceAndItsSlicesByNameIsOneDelete) {
  MustApply({Svc("a"), Slice("a-1", "a"), Slice("a-2", "a")});
  const uint64_t before = store_->version();
  EXPECT_EQ(MustDelete({Ref(v1::KIND_ENDPOINT_SLICE, "default", "a-1"),
                        Ref(v1::KIND_SERVICE, "default", "a")}),
            before + 1);
  EXPECT_THAT(SliceNames(*store_), ElementsAre());
}

TEST_F(SliceRulesTest, DeletingASliceLeavesItsService) {
  MustApply({Svc("a"), Slice("a-1", "a")});
  MustDelete({Ref(v1::KIND_ENDPOINT_SLICE, "default", "a-1")});
  EXPECT_TRUE(store_->Get(Ref(v1::KIND_SERVICE, "default", "a")).ok());
}

TEST_F(SliceRulesTest, DeletedSlicesStayDeletedAfterARestart) {
  testing::TempDir dir;
  StoreConfig config;
  config.state_dir = dir.path();
  store_ = testing::OpenOrDie(config);
  MustApply({Svc("a"), Slice("a-1", "a"), Svc("b"), Slice("b-1", "b")});
  MustDelete({Ref(v1::KIND_SERVICE, "default", "a")});
  store_.reset();
  store_ = testing::OpenOrDie(config);
  EXPECT_THAT(SliceNames(*store_), ElementsAre("EndpointSlice default/b-1"));
}

// Rule 4: a mirror holds what its source says. The source's garbage
// collector deletes a Service's slices; until it does, they are mirrored.
TEST(SliceRulesMirrorTest, MirrorKeepsSlicesUntilTheSourceDeletesThem) {
  StoreConfig config;
  config.mirror_of = "https://api.test:6443";
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(config);
  MirrorWrite write;
  write.upserts = Objs({Svc("a", "cluster_ip: '10.96.0.10'"), Slice("a-1", "a"),
                        Slice("b-1", "b")});
  ASSERT_TRUE(store->Mirror(std::move(write)).ok());
  MirrorWrite gone;
  gone.deletes = {Ref(v1::KIND_SERVICE, "default", "a")};
  ASSERT_TRUE(store->Mirror(std::move(gone)).ok());
  EXPECT_THAT(SliceNames(*store), ElementsAre("EndpointSlice default/a-1",
                                              "EndpointSlice default/b-1"));
}

}  // namespace
}  // namespace switchyard::controller
