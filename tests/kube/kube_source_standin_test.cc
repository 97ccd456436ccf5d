// SPDX-License-Identifier: Apache-2.0
// yard-controller's Kubernetes source against the API-server stand-in over
// real TLS: the libcurl transport, the reflectors and the mirror store, fed
// the fixtures in testdata/ (objects as a real cluster's API server returns
// them: managedFields, status, dual-stack, another proxy's Service, IPv6
// slices, an empty slice). Checks what is served and what is not, that
// writes through the API server arrive, that a 410 after compaction costs
// no version when nothing changed and removes what was deleted meanwhile,
// and that the API server sees exactly three watches.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "control/controller/cluster_store.h"
#include "control/controller/kube_source.h"
#include "control/kube/curl_transport.h"
#include "gtest/gtest.h"
#include "tests/netns/process.h"

namespace switchyard::controller {
namespace {

constexpr char kPython[] = "/usr/bin/python3";
constexpr char kKubeDir[] = YARD_KUBE_TEST_DIR;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `command` with sh; its output, or the failure.
absl::StatusOr<std::string> Shell(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("popen");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  if (pclose(pipe) != 0) {
    return absl::InternalError(absl::StrCat(command, ": ", out));
  }
  return out;
}

class KubeSourceStandInTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/yard-kube-source-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ASSERT_TRUE(
        Shell(absl::StrCat(kPython, " ", kKubeDir, "/certs.py ", dir_)).ok());
    netns::ChildOptions child;
    child.argv = {kPython,
                  absl::StrCat(kKubeDir, "/apiserver_standin.py"),
                  "--quiet",
                  "--cert",
                  dir_ + "/server.crt",
                  "--key",
                  dir_ + "/server.key",
                  "--client-ca",
                  dir_ + "/ca.crt",
                  "--token-file",
                  dir_ + "/token",
                  "--port",
                  "0",
                  "--port-file",
                  dir_ + "/port",
                  "--service-cidr",
                  "10.96.0.0/16,fd00:10:96::/112",
                  "--bookmark-interval",
                  "60",
                  "--load",
                  absl::StrCat(kKubeDir, "/testdata")};
    child.log_path = dir_ + "/standin.log";
    absl::StatusOr<std::unique_ptr<netns::ChildProcess>> process =
        netns::ChildProcess::Start(child);
    ASSERT_TRUE(process.ok()) << process.status();
    standin_ = *std::move(process);
    absl::Time deadline = absl::Now() + absl::Seconds(15);
    while (ReadAll(dir_ + "/port").empty() && absl::Now() < deadline) {
      ASSERT_TRUE(standin_->Running()) << ReadAll(dir_ + "/standin.log");
      absl::SleepFor(absl::Milliseconds(20));
    }
    port_ = ReadAll(dir_ + "/port");
    ASSERT_FALSE(port_.empty()) << ReadAll(dir_ + "/standin.log");
    while (!port_.empty() && port_.back() == '\n') port_.pop_back();

    StoreConfig config;
    config.mirror_of = url();
    absl::StatusOr<std::unique_ptr<ClusterStore>> store =
        ClusterStore::Open(config);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  void TearDown() override {
    if (source_) source_->Stop();
    standin_.reset();
    if (!dir_.empty()) (void)Shell(absl::StrCat("rm -rf ", dir_));
  }

  std::string url() const { return absl::StrCat("https://127.0.0.1:", port_); }

  // `backoff`: how long a reflector waits after a failed watch.
  void StartSource(absl::Duration backoff = absl::Milliseconds(50)) {
    kube::ApiServerConfig api;
    api.server = url();
    api.certificate_authority.file = dir_ + "/ca.crt";
    api.token_file = dir_ + "/token";
    absl::StatusOr<std::unique_ptr<kube::CurlTransport>> transport =
        kube::CurlTransport::Create(api);
    ASSERT_TRUE(transport.ok()) << transport.status();
    KubeSourceOptions options;
    options.reflector.backoff_initial = backoff;
    source_ = std::make_unique<KubeSource>(
        store_.get(),
        std::shared_ptr<kube::ApiTransport>(*std::move(transport)), options);
    ASSERT_TRUE(store_->WaitSynced(absl::Seconds(10)));
  }

  // curl against the stand-in with the test's credentials.
  absl::StatusOr<std::string> Api(const std::string& method,
                                  const std::string& path,
                                  const std::string& body = "") {
    std::string command =
        absl::StrCat("curl -sS --fail-with-body --max-time 10 --cacert ", dir_,
                     "/ca.crt -H \"Authorization: Bearer $(cat ", dir_,
                     "/token)\" -X ", method, " ", url(), path);
    if (!body.empty()) {
      std::string file = dir_ + "/body.json";
      std::ofstream(file) << body;
      absl::StrAppend(&command,
                      " -H 'Content-Type: application/json' --data-binary @",
                      file);
    }
    return Shell(command);
  }

  bool Has(v1::Kind kind, const std::string& ns, const std::string& name) {
    v1::ObjectRef ref;
    ref.set_kind(kind);
    ref.set_namespace_(ns);
    ref.set_name(name);
    return store_->Get(ref).ok();
  }

  // Waits (bounded) until `done` holds.
  bool Eventually(const std::function<bool()>& done) {
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (!done()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return true;
  }

  std::string dir_;
  std::string port_;
  std::unique_ptr<netns::ChildProcess> standin_;
  std::unique_ptr<ClusterStore> store_;
  std::unique_ptr<KubeSource> source_;
};

TEST_F(KubeSourceStandInTest, ServesWhatARealClusterHoldsAndNothingElse) {
  StartSource();
  EXPECT_TRUE(Has(v1::KIND_SERVICE, "shop", "web"));
  EXPECT_TRUE(Has(v1::KIND_SERVICE, "shop", "api"));
  EXPECT_TRUE(Has(v1::KIND_SERVICE, "shop", "db")) << "headless: kept";
  EXPECT_TRUE(Has(v1::KIND_SERVICE, "kube-system", "kube-dns"));
  EXPECT_FALSE(Has(v1::KIND_SERVICE, "shop", "legacy"))
      << "labelled for another proxy";
  EXPECT_TRUE(Has(v1::KIND_ENDPOINT_SLICE, "shop", "web-7xk2p"));
  EXPECT_TRUE(Has(v1::KIND_ENDPOINT_SLICE, "shop", "web-m4q9d"));
  EXPECT_TRUE(Has(v1::KIND_ENDPOINT_SLICE, "shop", "api-x2x7t"));
  EXPECT_FALSE(Has(v1::KIND_ENDPOINT_SLICE, "shop", "web-dual-9fz8w"))
      << "IPv6 slice";
  EXPECT_EQ(store_->List(v1::KIND_NODE, "").size(), 2u);

  v1::ObjectRef dual;
  dual.set_kind(v1::KIND_SERVICE);
  dual.set_namespace_("shop");
  dual.set_name("web-dual");
  absl::StatusOr<v1::Object> web_dual = store_->Get(dual);
  ASSERT_TRUE(web_dual.ok()) << web_dual.status();
  EXPECT_EQ(web_dual->service().spec().cluster_ip(), "10.96.77.7");
  EXPECT_EQ(web_dual->service().spec().cluster_ips_size(), 1);

  v1::ObjectRef lb = dual;
  lb.set_name("frontend");
  absl::StatusOr<v1::Object> frontend = store_->Get(lb);
  ASSERT_TRUE(frontend.ok()) << frontend.status();
  EXPECT_GT(frontend->service().status().load_balancer_ingress_size(), 0)
      << "status.loadBalancer.ingress carried";
  EXPECT_GT(frontend->service().spec().health_check_node_port(), 0);

  KubeSourceStats stats = source_->stats();
  EXPECT_EQ(stats.rejected, 0u);
  EXPECT_GE(stats.skipped, 2u);  // legacy, the IPv6 slice
}

TEST_F(KubeSourceStandInTest, WritesArriveAndTheApiServerSeesThreeWatches) {
  StartSource();
  const uint64_t version = store_->version();
  ASSERT_TRUE(Api("POST", "/api/v1/namespaces/shop/services", R"({
      "apiVersion": "v1", "kind": "Service",
      "metadata": {"name": "late", "namespace": "shop"},
      "spec": {"ports": [{"port": 80, "targetPort": 8080}]}})")
                  .ok());
  EXPECT_TRUE(
      Eventually([&] { return Has(v1::KIND_SERVICE, "shop", "late"); }));
  EXPECT_GT(store_->version(), version);
  // The clusterIP the API server allocated is the one stored.
  absl::StatusOr<std::string> stored =
      Api("GET", "/api/v1/namespaces/shop/services/late");
  ASSERT_TRUE(stored.ok()) << stored.status();
  v1::ObjectRef ref;
  ref.set_kind(v1::KIND_SERVICE);
  ref.set_namespace_("shop");
  ref.set_name("late");
  absl::StatusOr<v1::Object> late = store_->Get(ref);
  ASSERT_TRUE(late.ok());
  EXPECT_TRUE(absl::StrContains(
      *stored, absl::StrCat("\"", late->service().spec().cluster_ip(), "\"")))
      << *stored;

  ASSERT_TRUE(Api("DELETE", "/api/v1/namespaces/shop/services/late").ok());
  EXPECT_TRUE(
      Eventually([&] { return !Has(v1::KIND_SERVICE, "shop", "late"); }));

  absl::StatusOr<std::string> stats = Api("GET", "/standin/stats");
  ASSERT_TRUE(stats.ok()) << stats.status();
  for (const char* resource : {"services", "endpointslices", "nodes"}) {
    EXPECT_TRUE(absl::StrContains(
        *stats, absl::StrCat("\"", resource, "\": {\"openWatches\": 1")))
        << *stats;
  }
}

TEST_F(KubeSourceStandInTest, GoneAfterCompactionRelistsToTheDifference) {
  // Cut watches wait 1.6-2.4 s before resuming: time to delete a Service
  // and compact the history meanwhile. The watch that resumes gets 410 and
  // only a relist can learn of the deletion.
  StartSource(absl::Seconds(2));
  ASSERT_TRUE(Api("POST", "/standin/drop-watches").ok());
  ASSERT_TRUE(Api("DELETE", "/api/v1/namespaces/shop/services/api").ok());
  ASSERT_TRUE(Api("POST", "/standin/compact").ok());
  EXPECT_TRUE(Eventually([&] { return !Has(v1::KIND_SERVICE, "shop", "api"); }))
      << "the relist did not remove what was deleted meanwhile";
  EXPECT_TRUE(Eventually([&] {
    return source_->stats().resources[0].relists >= 1;
  })) << "no 410 relist for services";
  // Nothing else changed: the other services are all still there.
  EXPECT_TRUE(Has(v1::KIND_SERVICE, "shop", "web"));
  EXPECT_TRUE(Has(v1::KIND_SERVICE, "kube-system", "kube-dns"));
}

}  // namespace
}  // namespace switchyard::controller
