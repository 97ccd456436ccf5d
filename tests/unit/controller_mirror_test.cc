// SPDX-License-Identifier: Apache-2.0
// The store in mirror mode, and the KubeSource that feeds it: what the API
// server says is taken as given, a relist costs agents only the
// difference, a bad object never holds up the rest, and nothing is served
// to agents before every kind has been read.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/controller/cluster_store.h"
#include "control/controller/kube_source.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace switchyard::controller {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<ClusterStore> OpenMirror() {
  StoreConfig config;
  config.mirror_of = "https://api.test:6443";
  absl::StatusOr<std::unique_ptr<ClusterStore>> store =
      ClusterStore::Open(config);
  EXPECT_TRUE(store.ok()) << store.status();
  return *std::move(store);
}

v1::Object Service(const std::string& name, const std::string& ip,
                   int node_port = 0) {
  v1::Object object;
  v1::Service* service = object.mutable_service();
  service->mutable_metadata()->set_name(name);
  service->mutable_metadata()->set_namespace_("default");
  service->mutable_spec()->set_cluster_ip(ip);
  service->mutable_spec()->set_type(node_port ? "NodePort" : "ClusterIP");
  v1::ServicePort* port = service->mutable_spec()->add_ports();
  port->set_port(80);
  port->set_node_port(node_port);
  return object;
}

v1::Object Slice(const std::string& name, const std::string& service) {
  v1::Object object;
  v1::EndpointSlice* slice = object.mutable_endpoint_slice();
  slice->mutable_metadata()->set_name(name);
  slice->mutable_metadata()->set_namespace_("default");
  (*slice->mutable_metadata()->mutable_labels())["kubernetes.io/service-name"] =
      service;
  slice->set_address_type("IPv4");
  slice->add_endpoints()->add_addresses("10.244.1.5");
  slice->add_ports()->set_port(8080);
  return object;
}

v1::ObjectRef Ref(v1::Kind kind, const std::string& name) {
  v1::ObjectRef ref;
  ref.set_kind(kind);
  ref.set_namespace_("default");
  ref.set_name(name);
  return ref;
}

TEST(MirrorStore, RefusesWritersAndNamesKubectl) {
  auto store = OpenMirror();
  absl::StatusOr<ApplyResult> applied = store->Apply({Service("a", "")});
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(applied.status().message(), HasSubstr("kubectl"));
  EXPECT_THAT(applied.status().message(), HasSubstr("https://api.test:6443"));
  EXPECT_EQ(store->Delete({Ref(v1::KIND_SERVICE, "a")}, true).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(MirrorStore, KeepsNoStateOnDisk) {
  StoreConfig config;
  config.mirror_of = "https://api.test:6443";
  config.state_dir = "/tmp/should-not-be-used";
  EXPECT_FALSE(ClusterStore::Open(config).ok());
}

TEST(MirrorStore, TakesWhatTheSourceAllocatedAndSlicesBeforeServices) {
  auto store = OpenMirror();
  MirrorWrite slices;
  slices.upserts.push_back(Slice("web-1", "web"));
  absl::StatusOr<MirrorResult> first = store->Mirror(slices);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->rejected.empty()) << first->rejected[0];
  // An address outside any configured service CIDR and a nodePort outside
  // the default range: the API server's ranges are its own.
  MirrorWrite services;
  services.upserts.push_back(Service("web", "172.20.0.10", 40000));
  absl::StatusOr<MirrorResult> second = store->Mirror(services);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->rejected.empty()) << second->rejected[0];
  EXPECT_EQ(second->version, 2u);
  absl::StatusOr<v1::Object> web = store->Get(Ref(v1::KIND_SERVICE, "web"));
  ASSERT_TRUE(web.ok());
  EXPECT_EQ(web->service().spec().cluster_ip(), "172.20.0.10");
  EXPECT_EQ(web->service().spec().ports(0).node_port(), 40000);
}

TEST(MirrorStore, RelistCostsOnlyTheDifference) {
  auto store = OpenMirror();
  MirrorWrite list;
  list.replace_kind = v1::KIND_SERVICE;
  list.upserts = {Service("a", "10.96.0.1"), Service("b", "10.96.0.2"),
                  Service("c", "10.96.0.3")};
  ASSERT_TRUE(store->Mirror(list).ok());
  ASSERT_EQ(store->version(), 1u);

  MirrorWrite same = list;
  absl::StatusOr<MirrorResult> unchanged = store->Mirror(same);
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(unchanged->changed, 0u);
  EXPECT_EQ(store->version(), 1u) << "an identical relist is no version";

  // Deleted while the watch was down (b), changed (c), new (d).
  MirrorWrite relist;
  relist.replace_kind = v1::KIND_SERVICE;
  relist.upserts = {Service("a", "10.96.0.1"), Service("c", "10.96.0.33"),
                    Service("d", "10.96.0.4")};
  absl::StatusOr<MirrorResult> result = store->Mirror(relist);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->changed, 3u);
  std::optional<v1::WatchResponse> delta = store->ChangesSince(1);
  ASSERT_TRUE(delta.has_value());
  ASSERT_EQ(delta->upserts_size(), 2);  // c, d
  EXPECT_EQ(delta->upserts(0).service().metadata().name(), "c");
  EXPECT_EQ(delta->upserts(1).service().metadata().name(), "d");
  ASSERT_EQ(delta->deletes_size(), 1);
  EXPECT_EQ(delta->deletes(0).name(), "b");
}

TEST(MirrorStore, ReplaceOfOneKindLeavesTheOthers) {
  auto store = OpenMirror();
  MirrorWrite write;
  write.upserts = {Service("a", "10.96.0.1"), Slice("a-1", "a")};
  ASSERT_TRUE(store->Mirror(write).ok());
  MirrorWrite no_services;
  no_services.replace_kind = v1::KIND_SERVICE;
  ASSERT_TRUE(store->Mirror(no_services).ok());
  EXPECT_TRUE(store->List(v1::KIND_SERVICE, "").empty());
  EXPECT_EQ(store->List(v1::KIND_ENDPOINT_SLICE, "").size(), 1u);
}

TEST(MirrorStore, BadObjectIsLeftOutAndItsOldVersionRemoved) {
  auto store = OpenMirror();
  MirrorWrite good;
  good.upserts = {Service("a", "10.96.0.1"), Service("b", "10.96.0.2")};
  ASSERT_TRUE(store->Mirror(good).ok());
  MirrorWrite update;
  v1::Object bad = Service("a", "10.96.0.1");
  bad.mutable_service()->mutable_spec()->mutable_ports(0)->set_port(70000);
  update.upserts = {bad, Service("c", "10.96.0.3")};
  absl::StatusOr<MirrorResult> result = store->Mirror(update);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->rejected.size(), 1u);
  EXPECT_THAT(result->rejected[0], HasSubstr("Service default/a"));
  EXPECT_THAT(result->rejected[0], HasSubstr("70000"));
  EXPECT_FALSE(store->Get(Ref(v1::KIND_SERVICE, "a")).ok())
      << "a stale translation must not outlive the object it came from";
  EXPECT_TRUE(store->Get(Ref(v1::KIND_SERVICE, "c")).ok());
}

TEST(MirrorStore, NotSyncedUntilMarked) {
  auto store = OpenMirror();
  EXPECT_FALSE(store->synced());
  EXPECT_FALSE(store->WaitSynced(absl::Milliseconds(10)));
  store->MarkSynced();
  EXPECT_TRUE(store->WaitSynced(absl::ZeroDuration()));

  StoreConfig written;  // memory-only, written through Apply
  auto plain = ClusterStore::Open(written);
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE((*plain)->synced());
}

// A transport whose lists answer at once and whose watches hang until
// cancelled: enough for KubeSource's first sync.
class ListOnlyApi : public kube::ApiTransport {
 public:
  explicit ListOnlyApi(bool answer_nodes) : answer_nodes_(answer_nodes) {}
  absl::StatusOr<kube::ApiResponse> Get(const std::string& path) override {
    if (path.rfind("/api/v1/services", 0) == 0) {
      return kube::ApiResponse{
          200,
          R"({"metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"web","namespace":"default","resourceVersion":"3"},"spec":{"type":"ClusterIP","clusterIP":"10.96.0.10","ports":[{"port":80,"protocol":"TCP","targetPort":8080}]}},{"metadata":{"name":"v6","namespace":"default","resourceVersion":"4"},"spec":{"clusterIP":"fd00::1","clusterIPs":["fd00::1"],"ports":[{"port":80}]}}]})"};
    }
    if (path.rfind("/apis/discovery.k8s.io/v1/endpointslices", 0) == 0) {
      return kube::ApiResponse{
          200,
          R"({"metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"web-1","namespace":"default","resourceVersion":"5","labels":{"kubernetes.io/service-name":"web"}},"addressType":"IPv4","endpoints":[{"addresses":["10.244.1.5"],"conditions":{"ready":true}}],"ports":[{"port":8080,"protocol":"TCP"}]}]})"};
    }
    if (!answer_nodes_) {
      return kube::ApiResponse{
          403,
          R"({"kind":"Status","code":403,"reason":"Forbidden","message":"nodes is forbidden"})"};
    }
    return kube::ApiResponse{
        200,
        R"({"metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"node-a","resourceVersion":"6"},"status":{"addresses":[{"type":"InternalIP","address":"192.168.1.10"}]}}]})"};
  }
  absl::StatusOr<kube::ApiResponse> Watch(
      const std::string&, absl::FunctionRef<bool(absl::string_view)>) override {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&cancelled_));
    return absl::CancelledError("cancelled");
  }
  void Cancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }
  std::string server() const override { return "https://api.test:6443"; }

 private:
  const bool answer_nodes_;
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

KubeSourceOptions Fast() {
  KubeSourceOptions options;
  options.reflector.backoff_initial = absl::Milliseconds(5);
  options.reflector.backoff_max = absl::Milliseconds(20);
  return options;
}

TEST(KubeSource, SyncedOnceEveryKindIsListed) {
  auto store = OpenMirror();
  KubeSource source(store.get(), std::make_shared<ListOnlyApi>(true), Fast());
  ASSERT_TRUE(store->WaitSynced(absl::Seconds(5)));
  EXPECT_EQ(store->List(v1::KIND_SERVICE, "").size(), 1u) << "v6 not served";
  EXPECT_EQ(store->List(v1::KIND_ENDPOINT_SLICE, "").size(), 1u);
  EXPECT_EQ(store->List(v1::KIND_NODE, "").size(), 1u);
  KubeSourceStats stats = source.stats();
  EXPECT_EQ(stats.skipped, 1u);
  ASSERT_EQ(stats.resources.size(), 3u);
  for (const kube::ReflectorStats& r : stats.resources) {
    EXPECT_TRUE(r.synced);
    EXPECT_EQ(r.resource_version, "7");
  }
  source.Stop();
}

TEST(KubeSource, NeverSyncedWhileOneKindCannotBeListed) {
  auto store = OpenMirror();
  KubeSource source(store.get(), std::make_shared<ListOnlyApi>(false), Fast());
  EXPECT_FALSE(store->WaitSynced(absl::Milliseconds(300)));
  EXPECT_EQ(store->List(v1::KIND_SERVICE, "").size(), 1u)
      << "what was read is held, but not served";
  EXPECT_THAT(source.stats().resources[2].last_error,
              HasSubstr("nodes is forbidden"));
  source.Stop();
}

}  // namespace
}  // namespace switchyard::controller
