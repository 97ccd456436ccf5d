// SPDX-License-Identifier: Apache-2.0
// The store at cluster scale: 10,000 services with 10,000 EndpointSlices of
// 10 endpoints, in one write. Timings are printed, not asserted (machines
// differ); the assertions are about the result.
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "control/controller/cluster_store.h"
#include "gtest/gtest.h"
#include "tests/unit/controller_store_test_util.h"

namespace switchyard::controller {
namespace {

constexpr int kServices = 10000;
constexpr int kEndpointsPerSlice = 10;

std::vector<v1::Object> BigWrite() {
  std::vector<v1::Object> objects;
  objects.reserve(2 * kServices);
  for (int i = 0; i < kServices; ++i) {
    v1::Service& service = *objects.emplace_back().mutable_service();
    service.mutable_metadata()->set_name(absl::StrCat("svc-", i));
    service.mutable_metadata()->set_namespace_("scale");
    if (i % 10 == 0) service.mutable_spec()->set_type("NodePort");
    v1::ServicePort& port = *service.mutable_spec()->add_ports();
    port.set_name("http");
    port.set_port(80);
    port.mutable_target_port()->set_number(8080);
    (*service.mutable_spec()->mutable_selector())["app"] =
        absl::StrCat("app-", i);
  }
  for (int i = 0; i < kServices; ++i) {
    v1::EndpointSlice& slice = *objects.emplace_back().mutable_endpoint_slice();
    slice.mutable_metadata()->set_name(absl::StrCat("svc-", i, "-abcde"));
    slice.mutable_metadata()->set_namespace_("scale");
    (*slice.mutable_metadata()
          ->mutable_labels())["kubernetes.io/service-name"] =
        absl::StrCat("svc-", i);
    slice.set_address_type("IPv4");
    for (int e = 0; e < kEndpointsPerSlice; ++e) {
      v1::Endpoint& endpoint = *slice.add_endpoints();
      int n = i * kEndpointsPerSlice + e;
      endpoint.add_addresses(absl::StrCat("10.", 128 + (n >> 16), ".",
                                          (n >> 8) & 0xff, ".", n & 0xff));
      endpoint.mutable_conditions()->set_ready(true);
      endpoint.set_node_name(absl::StrCat("node-", n % 50));
    }
    v1::EndpointPort& port = *slice.add_ports();
    port.set_name("http");
    port.set_port(8080);
  }
  return objects;
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

void Report(const std::string& what, double ms) {
  std::cout << "[timing] " << what << ": " << ms << " ms" << std::endl;
  ::testing::Test::RecordProperty(what, absl::StrCat(ms));
}

// Applies the big write (copied in through the const& overload, or moved
// in), then `singles` one-service updates, timing both.
void ApplyAndTime(ClusterStore& store, const std::string& mode, bool move_in,
                  int singles) {
  std::vector<v1::Object> objects = BigWrite();
  std::vector<v1::Object> to_move = objects;
  absl::Time start = absl::Now();
  absl::StatusOr<ApplyResult> result =
      move_in ? store.Apply(std::move(to_move)) : store.Apply(objects);
  Report(absl::StrCat(mode, " apply 10k services + 10k slices x 10 (",
                      move_in ? "moved in" : "copied in", ")"),
         Ms(absl::Now() - start));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->version, 1u);
  EXPECT_EQ(result->objects.size(), 2u * kServices);
  EXPECT_EQ(result->objects[kServices - 1].service().spec().cluster_ip(),
            "10.96.39.16");  // the 10,000th address after 10.96.0.0
  EXPECT_EQ(
      result->objects[kServices - 10].service().spec().ports(0).node_port(),
      30000 + kServices / 10 - 1);

  std::vector<v1::Object> one(1, objects[0]);
  start = absl::Now();
  for (int i = 0; i < singles; ++i) {
    (*one[0].mutable_service()->mutable_spec()->mutable_selector())["rev"] =
        absl::StrCat(i);
    absl::StatusOr<ApplyResult> single = store.Apply(one);
    ASSERT_TRUE(single.ok()) << single.status();
  }
  Report(
      absl::StrCat(mode, " single-service apply on the large store (mean of ",
                   singles, ")"),
      Ms(absl::Now() - start) / singles);
  EXPECT_EQ(store.version(), 1u + singles);

  v1::Object slice = objects[kServices];
  slice.mutable_endpoint_slice()
      ->mutable_endpoints(0)
      ->mutable_conditions()
      ->set_ready(false);
  start = absl::Now();
  ASSERT_TRUE(store.Apply({slice}).ok());
  Report(absl::StrCat(mode, " single-slice apply on the large store"),
         Ms(absl::Now() - start));

  start = absl::Now();
  v1::WatchResponse snapshot = store.Snapshot();
  Report(absl::StrCat(mode, " Snapshot()"), Ms(absl::Now() - start));
  EXPECT_EQ(snapshot.upserts_size(), 2 * kServices);
  start = absl::Now();
  std::optional<v1::WatchResponse> changes = store.ChangesSince(0);
  Report(absl::StrCat(mode, " ChangesSince(0)"), Ms(absl::Now() - start));
  ASSERT_TRUE(changes.has_value());
  EXPECT_EQ(changes->upserts_size(), 2 * kServices);
}

TEST(StoreScaleTest, InMemory) {
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie();
  ApplyAndTime(*store, "memory", /*move_in=*/false, 1000);
}

TEST(StoreScaleTest, InMemoryMovedIn) {
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie();
  ApplyAndTime(*store, "memory", /*move_in=*/true, 1000);
}

TEST(StoreScaleTest, DurableThenReopen) {
  testing::TempDir dir;
  StoreConfig config;
  config.state_dir = dir.path();
  v1::WatchResponse before;
  {
    std::unique_ptr<ClusterStore> store = testing::OpenOrDie(config);
    ApplyAndTime(*store, "durable", /*move_in=*/true, 200);
    before = store->Snapshot();
  }
  absl::Time start = absl::Now();
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(config);
  Report("reopen from journal (1 big record + 201 small)",
         Ms(absl::Now() - start));
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(testing::SameMessage(store->Snapshot(), before));
  store.reset();

  // Force a compaction at open, then time a reopen from the snapshot alone.
  config.journal_max_records = 0;
  start = absl::Now();
  store = testing::OpenOrDie(config);
  Report("open + compaction into a snapshot", Ms(absl::Now() - start));
  store.reset();
  config.journal_max_records = 1000;
  start = absl::Now();
  store = testing::OpenOrDie(config);
  Report("reopen from snapshot", Ms(absl::Now() - start));
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(testing::SameMessage(store->Snapshot(), before));
}

}  // namespace
}  // namespace switchyard::controller
