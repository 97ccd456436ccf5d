// SPDX-License-Identifier: Apache-2.0
// The cluster store's behaviour in memory: defaults and allocation, updates,
// deletes, versions, and what watchers get (Snapshot, ChangesSince,
// WaitForChange).
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "control/controller/cluster_store.h"
#include "control/controller/service_warnings.h"
#include "gtest/gtest.h"
#include "tests/unit/controller_store_test_util.h"

namespace switchyard::controller {
namespace {

using testing::Obj;
using testing::Objs;
using testing::Ref;
using testing::Slice;
using testing::Svc;

const v1::ServiceSpec& SpecOf(const ApplyResult& result, size_t i) {
  return result.objects.at(i).service().spec();
}

v1::ServiceSpec StoredSpec(const ClusterStore& store, const std::string& name) {
  absl::StatusOr<v1::Object> object =
      store.Get(Ref(v1::KIND_SERVICE, "default", name));
  EXPECT_TRUE(object.ok()) << object.status();
  return object.ok() ? object->service().spec() : v1::ServiceSpec();
}

std::vector<std::string> Names(const v1::WatchResponse& response) {
  std::vector<std::string> names;
  for (const v1::Object& object : response.upserts()) {
    names.push_back(Describe(RefOf(object)));
  }
  for (const v1::ObjectRef& ref : response.deletes()) {
    names.push_back("-" + Describe(ref));
  }
  return names;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = testing::OpenOrDie(); }

  ApplyResult MustApply(const std::vector<std::string>& texts) {
    absl::StatusOr<ApplyResult> result = store_->Apply(Objs(texts));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *std::move(result) : ApplyResult();
  }
  void MustDelete(v1::Kind kind, const std::string& name) {
    absl::StatusOr<uint64_t> version =
        store_->Delete({Ref(kind, "default", name)}, false);
    EXPECT_TRUE(version.ok()) << version.status();
  }

  std::unique_ptr<ClusterStore> store_;
};

TEST_F(StoreTest, EmptyStoreIsVersionZero) {
  EXPECT_EQ(store_->version(), 0u);
  v1::WatchResponse snapshot = store_->Snapshot();
  EXPECT_TRUE(snapshot.snapshot());
  EXPECT_EQ(snapshot.version(), 0u);
  EXPECT_EQ(snapshot.upserts_size(), 0);
  absl::StatusOr<ApplyResult> empty = store_->Apply({});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->version, 0u);
}

// The writer's warnings come from the Services as stored, in the order
// given, whether the objects come back as messages or encoded (the server's
// path, which copies no Service back out to read it).
TEST_F(StoreTest, WarnsAboutServicesInEitherOutput) {
  const std::vector<std::string> texts = {
      Svc("plain"), Slice("plain-1", "plain"),
      Svc("sctp", "", "ports { port: 81 protocol: 'SCTP' }"),
      Svc("dual", "ip_family_policy: 'PreferDualStack'")};
  absl::StatusOr<ApplyResult> objects = store_->Apply(Objs(texts));
  ASSERT_TRUE(objects.ok()) << objects.status();
  const std::vector<std::string>& expected = objects->warnings;
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_TRUE(absl::StartsWith(expected[0], "Service default/sctp: "))
      << expected[0];
  EXPECT_TRUE(absl::StartsWith(expected[1], "Service default/dual: "))
      << expected[1];
  EXPECT_EQ(expected, ServiceWarnings(objects->objects));

  std::unique_ptr<ClusterStore> other = testing::OpenOrDie();
  absl::StatusOr<ApplyResult> encoded =
      other->Apply(Objs(texts), ApplyOutput::kEncoded);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(encoded->warnings, expected);
  EXPECT_TRUE(encoded->objects.empty());
}

TEST_F(StoreTest, FillsKubernetesDefaults) {
  ApplyResult result = MustApply({Svc("web", "", "ports { port: 80 }")});
  EXPECT_EQ(result.version, 1u);
  const v1::Service& service = result.objects[0].service();
  EXPECT_EQ(service.metadata().namespace_(), "default");
  const v1::ServiceSpec& spec = service.spec();
  EXPECT_EQ(spec.type(), "ClusterIP");
  EXPECT_EQ(spec.cluster_ip(), "10.96.0.1");
  ASSERT_EQ(spec.cluster_ips_size(), 1);
  EXPECT_EQ(spec.cluster_ips(0), "10.96.0.1");
  EXPECT_EQ(spec.ports(0).protocol(), "TCP");
  EXPECT_EQ(spec.ports(0).target_port().number(), 80);
  EXPECT_EQ(spec.ports(0).node_port(), 0);
  EXPECT_EQ(spec.session_affinity(), "None");
  EXPECT_EQ(spec.external_traffic_policy(), "");
  EXPECT_EQ(spec.internal_traffic_policy(), "Cluster");
  EXPECT_EQ(spec.health_check_node_port(), 0);

  result = MustApply(
      {Svc("sticky", "session_affinity: 'ClientIP' type: 'NodePort'")});
  EXPECT_EQ(
      SpecOf(result, 0).session_affinity_config().client_ip_timeout_seconds(),
      10800);
  EXPECT_EQ(SpecOf(result, 0).external_traffic_policy(), "Cluster");

  // What Apply returned is what is stored.
  absl::StatusOr<v1::Object> stored =
      store_->Get(Ref(v1::KIND_SERVICE, "", "sticky"));
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(testing::SameMessage(*stored, result.objects[0]));
}

TEST_F(StoreTest, AllocatesClusterIPsLowestFirst) {
  ApplyResult result = MustApply(
      {Svc("a"), Svc("b", "cluster_ip: '10.96.0.3'"), Svc("c"), Svc("d"),
       Svc("headless", "cluster_ip: 'None'", ""),
       Svc("ext", "type: 'ExternalName' external_name: 'db.example.com.'",
           "")});
  EXPECT_EQ(SpecOf(result, 0).cluster_ip(), "10.96.0.1");
  EXPECT_EQ(SpecOf(result, 1).cluster_ip(), "10.96.0.3");
  EXPECT_EQ(SpecOf(result, 2).cluster_ip(), "10.96.0.2");
  EXPECT_EQ(SpecOf(result, 3).cluster_ip(), "10.96.0.4");
  EXPECT_EQ(SpecOf(result, 4).cluster_ip(), "None");
  ASSERT_EQ(SpecOf(result, 4).cluster_ips_size(), 1);
  EXPECT_EQ(SpecOf(result, 4).cluster_ips(0), "None");
  EXPECT_EQ(SpecOf(result, 5).cluster_ip(), "");
  EXPECT_EQ(SpecOf(result, 5).cluster_ips_size(), 0);
  // The address asked for through clusterIPs alone counts too.
  result = MustApply({Svc("e", "cluster_ips: '10.96.0.5'"), Svc("f")});
  EXPECT_EQ(SpecOf(result, 0).cluster_ip(), "10.96.0.5");
  EXPECT_EQ(SpecOf(result, 1).cluster_ip(), "10.96.0.6");
}

TEST_F(StoreTest, SmallServiceCidrRunsOut) {
  StoreConfig config;
  config.service_cidr = "10.96.0.0/30";  // two usable addresses
  store_ = testing::OpenOrDie(config);
  ApplyResult result = MustApply({Svc("a"), Svc("b")});
  EXPECT_EQ(SpecOf(result, 0).cluster_ip(), "10.96.0.1");
  EXPECT_EQ(SpecOf(result, 1).cluster_ip(), "10.96.0.2");
  absl::StatusOr<ApplyResult> full = store_->Apply(Objs({Svc("c")}));
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(full.status().message().find("no free value left in service CIDR"),
            std::string::npos)
      << full.status();
}

TEST_F(StoreTest, AllocatesNodePortsAndHealthCheckPorts) {
  ApplyResult result = MustApply({
      Svc("np", "type: 'NodePort'",
          "ports { name: 'http' port: 80 } ports { name: 'https' port: 443 }"),
      Svc("lb", "type: 'LoadBalancer' external_traffic_policy: 'Local'"),
      Svc("local-np", "type: 'NodePort' external_traffic_policy: 'Local'"),
      Svc("lb-cluster", "type: 'LoadBalancer'"),
      Svc("fixed", "type: 'NodePort'", "ports { port: 80 node_port: 30003 }"),
  });
  EXPECT_EQ(SpecOf(result, 0).ports(0).node_port(), 30000);
  EXPECT_EQ(SpecOf(result, 0).ports(1).node_port(), 30001);
  EXPECT_EQ(SpecOf(result, 0).health_check_node_port(), 0);
  EXPECT_EQ(SpecOf(result, 1).ports(0).node_port(), 30002);
  EXPECT_EQ(SpecOf(result, 1).health_check_node_port(), 30004);  // 30003 asked
  // NodePort with policy Local: no load balancer probes it, so no
  // health-check port (as in Kubernetes).
  EXPECT_EQ(SpecOf(result, 2).ports(0).node_port(), 30005);
  EXPECT_EQ(SpecOf(result, 2).health_check_node_port(), 0);
  EXPECT_EQ(SpecOf(result, 3).ports(0).node_port(), 30006);
  EXPECT_EQ(SpecOf(result, 3).health_check_node_port(), 0);
  EXPECT_EQ(SpecOf(result, 4).ports(0).node_port(), 30003);
}

TEST_F(StoreTest, OneNodePortForTcpAndUdpOfOnePort) {
  ApplyResult result = MustApply({
      Svc("dns", "type: 'NodePort'",
          "ports { name: 'dns-tcp' port: 53 } "
          "ports { name: 'dns-udp' port: 53 protocol: 'UDP' } "
          "ports { name: 'metrics' port: 9153 }"),
      Svc("dns2", "type: 'NodePort'",
          "ports { name: 'dns-tcp' port: 53 } "
          "ports { name: 'dns-udp' port: 53 protocol: 'UDP' node_port: 31000 "
          "}"),
  });
  EXPECT_EQ(SpecOf(result, 0).ports(0).node_port(), 30000);
  EXPECT_EQ(SpecOf(result, 0).ports(1).node_port(), 30000);
  EXPECT_EQ(SpecOf(result, 0).ports(2).node_port(), 30001);
  // The one asked for on the UDP port serves the TCP port too.
  EXPECT_EQ(SpecOf(result, 1).ports(0).node_port(), 31000);
  EXPECT_EQ(SpecOf(result, 1).ports(1).node_port(), 31000);
  // And a writer may say so explicitly.
  result = MustApply(
      {Svc("dns3", "type: 'NodePort'",
           "ports { name: 'a' port: 53 node_port: 31001 } "
           "ports { name: 'b' port: 53 protocol: 'UDP' node_port: 31001 }")});
  EXPECT_EQ(SpecOf(result, 0).ports(1).node_port(), 31001);
}

TEST_F(StoreTest, ExplicitValuesWinOverAutomaticOnesInOneWrite) {
  ApplyResult result = MustApply({
      Svc("auto", "type: 'NodePort'"),
      Svc("fixed", "type: 'NodePort' cluster_ip: '10.96.0.1'",
          "ports { port: 80 node_port: 30000 }"),
  });
  EXPECT_EQ(SpecOf(result, 0).cluster_ip(), "10.96.0.2");
  EXPECT_EQ(SpecOf(result, 0).ports(0).node_port(), 30001);
  EXPECT_EQ(SpecOf(result, 1).cluster_ip(), "10.96.0.1");
  EXPECT_EQ(SpecOf(result, 1).ports(0).node_port(), 30000);
}

TEST_F(StoreTest, UpdateKeepsAllocationsAndSameManifestIsNoChange) {
  const std::string manifest =
      Svc("web", "type: 'LoadBalancer' external_traffic_policy: 'Local'",
          "ports { name: 'http' port: 80 } ports { name: 'https' port: 443 }");
  ApplyResult first = MustApply({Svc("other"), manifest});
  ASSERT_EQ(first.version, 1u);
  const v1::ServiceSpec allocated = SpecOf(first, 1);
  EXPECT_EQ(allocated.cluster_ip(), "10.96.0.2");

  // Re-applying the manifest as written: same allocations, same version.
  ApplyResult again = MustApply({manifest});
  EXPECT_EQ(again.version, 1u);
  EXPECT_TRUE(testing::SameMessage(again.objects[0], first.objects[1]));

  // Re-applying what the store returned is no change either.
  absl::StatusOr<ApplyResult> echoed = store_->Apply({first.objects[1]});
  ASSERT_TRUE(echoed.ok());
  EXPECT_EQ(echoed->version, 1u);

  // Ports reordered and renumbered: nodePorts follow the names.
  ApplyResult moved = MustApply({Svc(
      "web", "type: 'LoadBalancer' external_traffic_policy: 'Local'",
      "ports { name: 'https' port: 8443 } ports { name: 'http' port: 8080 }")});
  EXPECT_EQ(moved.version, 2u);
  EXPECT_EQ(SpecOf(moved, 0).cluster_ip(), allocated.cluster_ip());
  EXPECT_EQ(SpecOf(moved, 0).ports(0).node_port(),
            allocated.ports(1).node_port());
  EXPECT_EQ(SpecOf(moved, 0).ports(1).node_port(),
            allocated.ports(0).node_port());
  EXPECT_EQ(SpecOf(moved, 0).health_check_node_port(),
            allocated.health_check_node_port());

  // An unnamed port that gets a name (and a sibling) matches by port and
  // protocol.
  ApplyResult single =
      MustApply({Svc("one", "type: 'NodePort'", "ports { port: 80 }")});
  int node_port = SpecOf(single, 0).ports(0).node_port();
  single = MustApply(
      {Svc("one", "type: 'NodePort'",
           "ports { name: 'web' port: 80 } ports { name: 'x' port: 81 }")});
  EXPECT_EQ(SpecOf(single, 0).ports(0).node_port(), node_port);
}

TEST_F(StoreTest, TypeChangeFreesNodePortsAndExternalNameFreesTheIP) {
  MustApply(
      {Svc("web", "type: 'LoadBalancer' external_traffic_policy: 'Local'")});
  v1::ServiceSpec before = StoredSpec(*store_, "web");
  ASSERT_EQ(before.ports(0).node_port(), 30000);
  ASSERT_EQ(before.health_check_node_port(), 30001);

  ApplyResult cluster = MustApply({Svc("web")});
  EXPECT_EQ(SpecOf(cluster, 0).ports(0).node_port(), 0);
  EXPECT_EQ(SpecOf(cluster, 0).health_check_node_port(), 0);
  EXPECT_EQ(SpecOf(cluster, 0).cluster_ip(), "10.96.0.1");
  ApplyResult other = MustApply({Svc("other", "type: 'NodePort'")});
  EXPECT_EQ(SpecOf(other, 0).ports(0).node_port(), 30000);

  ApplyResult external = MustApply(
      {Svc("web", "type: 'ExternalName' external_name: 'example.com'")});
  EXPECT_EQ(SpecOf(external, 0).cluster_ip(), "");
  ApplyResult next = MustApply({Svc("next")});
  EXPECT_EQ(SpecOf(next, 0).cluster_ip(), "10.96.0.1");
  // And back from ExternalName: a fresh address.
  ApplyResult back = MustApply({Svc("web")});
  EXPECT_EQ(SpecOf(back, 0).cluster_ip(), "10.96.0.3");
}

TEST_F(StoreTest, ServicesMayTradeNodePortsInOneWrite) {
  MustApply(
      {Svc("a", "type: 'NodePort'", "ports { port: 80 node_port: 30010 }"),
       Svc("b", "type: 'NodePort'", "ports { port: 80 node_port: 30011 }")});
  ApplyResult swapped = MustApply(
      {Svc("a", "type: 'NodePort'", "ports { port: 80 node_port: 30011 }"),
       Svc("b", "type: 'NodePort'", "ports { port: 80 node_port: 30010 }")});
  EXPECT_EQ(SpecOf(swapped, 0).ports(0).node_port(), 30011);
  EXPECT_EQ(SpecOf(swapped, 1).ports(0).node_port(), 30010);
}

TEST_F(StoreTest, DeleteFreesAllocations) {
  MustApply({Svc("a", "type: 'NodePort'"), Svc("b", "type: 'NodePort'")});
  MustDelete(v1::KIND_SERVICE, "a");
  ApplyResult c = MustApply({Svc("c", "type: 'NodePort'")});
  EXPECT_EQ(SpecOf(c, 0).cluster_ip(), "10.96.0.1");
  EXPECT_EQ(SpecOf(c, 0).ports(0).node_port(), 30000);
  // The freed values may also be asked for by name.
  MustDelete(v1::KIND_SERVICE, "b");
  ApplyResult d =
      MustApply({Svc("d", "type: 'NodePort' cluster_ip: '10.96.0.2'",
                     "ports { port: 80 node_port: 30001 }")});
  EXPECT_EQ(SpecOf(d, 0).cluster_ip(), "10.96.0.2");
}

TEST_F(StoreTest, SliceMayComeWithItsServiceAndIsCheckedAgainstIt) {
  ApplyResult result = MustApply(
      {Slice("web-1", "web",
             "endpoints { addresses: '10.1.0.1' } ports { name: 'http' port: "
             "8080 }"),
       Svc("web", "",
           "ports { name: 'http' port: 80 } ports { name: 'grpc' port: 90 }")});
  EXPECT_EQ(result.version, 1u);
  EXPECT_EQ(result.objects[0].endpoint_slice().ports(0).protocol(), "TCP");
  EXPECT_EQ(result.objects[0].endpoint_slice().metadata().namespace_(),
            "default");
}

TEST_F(StoreTest, DeleteIsAllOrNothingAndIgnoreNotFound) {
  MustApply({Svc("a"), Svc("b"), Slice("a-1", "a")});
  EXPECT_EQ(store_->version(), 1u);
  absl::StatusOr<uint64_t> version = store_->Delete(
      {Ref(v1::KIND_SERVICE, "", "a"), Ref(v1::KIND_SERVICE, "", "zzz")},
      false);
  EXPECT_EQ(version.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->Get(Ref(v1::KIND_SERVICE, "", "a")).ok());

  version = store_->Delete(
      {Ref(v1::KIND_SERVICE, "", "a"), Ref(v1::KIND_ENDPOINT_SLICE, "", "a-1"),
       Ref(v1::KIND_SERVICE, "", "zzz")},
      /*ignore_not_found=*/true);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 2u);
  EXPECT_EQ(store_->Get(Ref(v1::KIND_SERVICE, "", "a")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->List(v1::KIND_UNSPECIFIED, "").size(), 1u);
  // Nothing to delete: no new version.
  version = store_->Delete({Ref(v1::KIND_SERVICE, "", "zzz")}, true);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 2u);
}

TEST_F(StoreTest, GetAndList) {
  MustApply({Svc("b"), Svc("a"),
             "service { metadata { name: 'a' namespace: 'prod' } spec { ports "
             "{ port: 1 } } }",
             Slice("a-1", "a"),
             "node { metadata { name: 'n2' namespace: 'x' } }",
             "node { metadata { name: 'n1' } }"});
  auto names = [](const std::vector<v1::Object>& objects) {
    std::vector<std::string> out;
    for (const v1::Object& object : objects)
      out.push_back(Describe(RefOf(object)));
    return out;
  };
  EXPECT_EQ(names(store_->List(v1::KIND_UNSPECIFIED, "")),
            (std::vector<std::string>{
                "Service default/a", "Service default/b", "Service prod/a",
                "EndpointSlice default/a-1", "Node n1", "Node n2"}));
  EXPECT_EQ(
      names(store_->List(v1::KIND_SERVICE, "default")),
      (std::vector<std::string>{"Service default/a", "Service default/b"}));
  EXPECT_EQ(names(store_->List(v1::KIND_UNSPECIFIED, "prod")),
            (std::vector<std::string>{"Service prod/a"}));
  EXPECT_EQ(names(store_->List(v1::KIND_NODE, "prod")),
            (std::vector<std::string>{"Node n1", "Node n2"}));
  EXPECT_TRUE(store_->List(v1::KIND_ENDPOINT_SLICE, "prod").empty());

  absl::StatusOr<v1::Object> node =
      store_->Get(Ref(v1::KIND_NODE, "whatever", "n2"));
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ(node->node().metadata().namespace_(), "");
  EXPECT_EQ(store_->Get(Ref(v1::KIND_SERVICE, "prod", "b")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get(Ref(v1::KIND_UNSPECIFIED, "", "b")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, SnapshotHasEverythingInKeyOrder) {
  MustApply({"node { metadata { name: 'n1' } }", Svc("b"), Slice("b-1", "b"),
             Svc("a")});
  v1::WatchResponse snapshot = store_->Snapshot();
  EXPECT_TRUE(snapshot.snapshot());
  EXPECT_EQ(snapshot.version(), 1u);
  EXPECT_EQ(Names(snapshot),
            (std::vector<std::string>{"Service default/a", "Service default/b",
                                      "EndpointSlice default/b-1", "Node n1"}));
}

// What a stream sends (encoded upserts) read back as a receiver reads it.
v1::WatchResponse AsReceived(const v1::WatchResponse& sent) {
  v1::WatchResponse received;
  EXPECT_TRUE(received.ParseFromString(sent.SerializeAsString()));
  return received;
}

std::vector<std::string> SortedNames(const v1::WatchResponse& response) {
  std::vector<std::string> names = Names(response);
  std::sort(names.begin(), names.end());
  return names;
}

TEST_F(StoreTest, EncodedDeltaOfTheLastWriteIsTheChangeAsStored) {
  // An encoded write's delta goes out as the bytes it journaled (in the
  // writer's order); it must be the same change the lookup would send.
  auto apply = [&](const std::vector<std::string>& texts) {
    absl::StatusOr<ApplyResult> result =
        store_->Apply(Objs(texts), ApplyOutput::kEncoded);
    ASSERT_TRUE(result.ok()) << result.status();
  };
  apply({Svc("a"), Svc("b"), Slice("a-1", "a")});  // v1
  // a changes, b does not, c is new: b is not in the delta.
  apply({Svc("c"), Svc("b"), Svc("a", "session_affinity: 'ClientIP'")});
  ASSERT_EQ(store_->version(), 2u);

  std::optional<v1::WatchResponse> sent =
      store_->ChangesSince(1, ClusterStore::Upserts::kEncoded);
  std::optional<v1::WatchResponse> looked_up = store_->ChangesSince(1);
  ASSERT_TRUE(sent.has_value());
  ASSERT_TRUE(looked_up.has_value());
  v1::WatchResponse received = AsReceived(*sent);
  EXPECT_EQ(received.version(), 2u);
  EXPECT_EQ(received.state_id(), store_->state_id());
  EXPECT_FALSE(received.snapshot());
  EXPECT_EQ(
      SortedNames(received),
      (std::vector<std::string>{"Service default/a", "Service default/c"}));
  EXPECT_EQ(SortedNames(received), SortedNames(*looked_up));
  for (const v1::Object& object : received.upserts()) {
    absl::StatusOr<v1::Object> stored = store_->Get(RefOf(object));
    ASSERT_TRUE(stored.ok()) << stored.status();
    EXPECT_TRUE(testing::SameMessage(object, *stored)) << object.DebugString();
  }

  // A delete after it: older deltas no longer keep bytes, and both ways
  // of building agree on every range.
  MustDelete(v1::KIND_SERVICE, "c");  // v3
  for (uint64_t from : {0u, 1u, 2u}) {
    std::optional<v1::WatchResponse> encoded =
        store_->ChangesSince(from, ClusterStore::Upserts::kEncoded);
    std::optional<v1::WatchResponse> objects = store_->ChangesSince(from);
    ASSERT_TRUE(encoded.has_value() && objects.has_value());
    EXPECT_EQ(Names(AsReceived(*encoded)), Names(*objects)) << "from " << from;
  }
}

TEST_F(StoreTest, ChangesSinceMergesDeltas) {
  EXPECT_EQ(store_->ChangesSince(0)->upserts_size(), 0);
  MustApply({Svc("a")});                                  // v1
  MustApply({Svc("b")});                                  // v2
  MustApply({Svc("a", "session_affinity: 'ClientIP'")});  // v3
  MustDelete(v1::KIND_SERVICE, "b");                      // v4
  MustApply({Svc("c")});                                  // v5
  MustDelete(v1::KIND_SERVICE, "c");                      // v6
  ASSERT_EQ(store_->version(), 6u);

  std::optional<v1::WatchResponse> changes = store_->ChangesSince(0);
  ASSERT_TRUE(changes.has_value());
  EXPECT_FALSE(changes->snapshot());
  EXPECT_EQ(changes->version(), 6u);
  // b and c came and went: a watcher at 0 never had them.
  EXPECT_EQ(Names(*changes), (std::vector<std::string>{"Service default/a"}));
  EXPECT_EQ(changes->upserts(0).service().spec().session_affinity(),
            "ClientIP");

  changes = store_->ChangesSince(2);
  ASSERT_TRUE(changes.has_value());
  EXPECT_EQ(Names(*changes), (std::vector<std::string>{"Service default/a",
                                                       "-Service default/b"}));
  changes = store_->ChangesSince(5);
  ASSERT_TRUE(changes.has_value());
  EXPECT_EQ(Names(*changes), (std::vector<std::string>{"-Service default/c"}));

  changes = store_->ChangesSince(6);
  ASSERT_TRUE(changes.has_value());
  EXPECT_EQ(changes->version(), 6u);
  EXPECT_EQ(changes->upserts_size() + changes->deletes_size(), 0);
  EXPECT_FALSE(store_->ChangesSince(7).has_value());
}

TEST_F(StoreTest, ChangesSinceForgetsBeyondRetention) {
  StoreConfig config;
  config.retained_deltas = 3;
  store_ = testing::OpenOrDie(config);
  for (int i = 0; i < 5; ++i) MustApply({Svc(absl::StrCat("s", i))});
  EXPECT_FALSE(store_->ChangesSince(0).has_value());
  EXPECT_FALSE(store_->ChangesSince(1).has_value());
  std::optional<v1::WatchResponse> changes = store_->ChangesSince(2);
  ASSERT_TRUE(changes.has_value());
  EXPECT_EQ(Names(*changes), (std::vector<std::string>{"Service default/s2",
                                                       "Service default/s3",
                                                       "Service default/s4"}));
}

TEST_F(StoreTest, WaitForChange) {
  absl::Time start = absl::Now();
  EXPECT_EQ(store_->WaitForChange(0, absl::Milliseconds(50)), 0u);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(45));

  MustApply({Svc("a")});
  // Already past `seen`: no wait.
  start = absl::Now();
  EXPECT_EQ(store_->WaitForChange(0, absl::Seconds(10)), 1u);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));

  std::thread writer([&] {
    absl::SleepFor(absl::Milliseconds(50));
    MustApply({Svc("b")});
  });
  start = absl::Now();
  EXPECT_EQ(store_->WaitForChange(1, absl::Seconds(10)), 2u);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  writer.join();
}

TEST_F(StoreTest, ConcurrentWritersAndReaders) {
  std::atomic<bool> done{false};
  std::thread reader([&] {
    uint64_t seen = 0;
    while (!done.load()) {
      seen = store_->WaitForChange(seen, absl::Milliseconds(10));
      std::optional<v1::WatchResponse> changes = store_->ChangesSince(0);
      ASSERT_TRUE(changes.has_value());
      EXPECT_GE(changes->version(), seen);
      (void)store_->List(v1::KIND_SERVICE, "");
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 50; ++i) {
        MustApply({Svc(absl::StrCat("w", w, "-", i), "type: 'NodePort'")});
      }
    });
  }
  for (std::thread& t : writers) t.join();
  done = true;
  reader.join();
  EXPECT_EQ(store_->version(), 200u);
  // 200 services, 200 distinct addresses and ports.
  absl::flat_hash_set<std::string> ips;
  absl::flat_hash_set<int> ports;
  for (const v1::Object& object : store_->List(v1::KIND_SERVICE, "")) {
    ips.insert(object.service().spec().cluster_ip());
    ports.insert(object.service().spec().ports(0).node_port());
  }
  EXPECT_EQ(ips.size(), 200u);
  EXPECT_EQ(ports.size(), 200u);
}

}  // namespace
}  // namespace switchyard::controller
