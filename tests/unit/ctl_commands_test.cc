// SPDX-License-Identifier: Apache-2.0
// yardctl's commands end to end against an in-process fake ClusterState:
// what is printed, what is sent, and how failures read.
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "control/ctl/client.h"
#include "control/ctl/commands.h"
#include "control/ctl/list_all.h"
#include "control/manifest/object.h"
#include "switchyard/v1/controller.grpc.pb.h"

namespace switchyard::ctl {
namespace {

// Enough of yard-controller to drive yardctl: keyed storage, all-or-
// nothing Apply with a validation error in the controller's words, an
// allocated cluster IP, NOT_FOUND on Get and Delete.
class FakeClusterState final : public v1::ClusterState::Service {
 public:
  grpc::Status Apply(grpc::ServerContext*, const v1::ApplyRequest* request,
                     v1::ApplyResponse* response) override {
    absl::MutexLock lock(&mu_);
    ++apply_calls_;
    warnings_.assign(request->warnings().begin(), request->warnings().end());
    if (absl::ToInt64Milliseconds(delay_) > 0) absl::SleepFor(delay_);
    for (const v1::Object& object : request->objects()) {
      if (object.has_service()) {
        for (int i = 0; i < object.service().spec().ports_size(); ++i) {
          int32_t port = object.service().spec().ports(i).port();
          if (port < 1 || port > 65535) {
            return grpc::Status(
                grpc::StatusCode::INVALID_ARGUMENT,
                absl::StrCat(manifest::Describe(object), ": spec.ports[", i,
                             "].port: ", port, " is not in 1..65535"));
          }
        }
      }
    }
    for (v1::Object object : request->objects()) {
      // Like the real one: an update keeps the allocated cluster IP.
      auto old = objects_.find(Key(manifest::RefOf(object)));
      if (object.has_service() &&
          object.service().spec().cluster_ip().empty()) {
        object.mutable_service()->mutable_spec()->set_cluster_ip(
            old != objects_.end() ? old->second.service().spec().cluster_ip()
                                  : absl::StrCat("10.96.0.", ++next_ip_));
      }
      v1::ApplyResult& result = *response->add_results();
      *result.mutable_ref() = manifest::RefOf(object);
      result.set_outcome(old == objects_.end() ? v1::ApplyResult::CREATED
                         : google::protobuf::util::MessageDifferencer::Equals(
                               old->second, object)
                             ? v1::ApplyResult::UNCHANGED
                             : v1::ApplyResult::CONFIGURED);
      objects_[Key(manifest::RefOf(object))] = object;
      // Like the real one: only -o needs the objects back.
      if (!request->omit_objects()) *response->add_objects() = object;
      // Like the real one's warnings (service_warnings.h), for one field.
      if (object.has_service() &&
          object.service().spec().traffic_distribution() == "PreferSameNode") {
        response->add_warnings(absl::StrCat(
            manifest::Describe(object),
            ": spec.trafficDistribution: PreferSameNode is not implemented"));
      }
    }
    response->set_version(++version_);
    response->set_received_unix_us(received_unix_us_);
    return grpc::Status::OK;
  }

  grpc::Status Delete(grpc::ServerContext*, const v1::DeleteRequest* request,
                      v1::DeleteResponse* response) override {
    absl::MutexLock lock(&mu_);
    for (const v1::ObjectRef& ref : request->refs()) {
      if (!objects_.contains(Key(ref)) && !request->ignore_not_found()) {
        return grpc::Status(
            grpc::StatusCode::NOT_FOUND,
            absl::StrCat(manifest::Describe(ref), " not found"));
      }
    }
    for (const v1::ObjectRef& ref : request->refs()) {
      if (objects_.erase(Key(ref)) > 0) *response->add_deleted() = ref;
    }
    response->set_version(++version_);
    return grpc::Status::OK;
  }

  grpc::Status Get(grpc::ServerContext*, const v1::GetRequest* request,
                   v1::GetResponse* response) override {
    absl::MutexLock lock(&mu_);
    auto it = objects_.find(Key(request->ref()));
    if (it == objects_.end()) {
      return grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat(manifest::Describe(request->ref()), " not found"));
    }
    *response->mutable_object() = it->second;
    response->set_version(version_);
    return grpc::Status::OK;
  }

  // Pages of `limit`; the continue token is the index of the next object.
  grpc::Status List(grpc::ServerContext*, const v1::ListRequest* request,
                    v1::ListResponse* response) override {
    absl::MutexLock lock(&mu_);
    ++list_calls_;
    if (!request->continue_().empty() && aborts_ > 0) {
      --aborts_;
      return grpc::Status(grpc::StatusCode::ABORTED,
                          "continue: the list changed; list again");
    }
    std::vector<const v1::Object*> matching;
    // Reverse order, so the test sees yardctl sort.
    for (auto it = objects_.rbegin(); it != objects_.rend(); ++it) {
      v1::ObjectRef ref = manifest::RefOf(it->second);
      if (request->kind() != v1::KIND_UNSPECIFIED &&
          ref.kind() != request->kind()) {
        continue;
      }
      if (!request->namespace_().empty() &&
          ref.namespace_() != request->namespace_()) {
        continue;
      }
      matching.push_back(&it->second);
    }
    size_t next = 0;
    if (!request->continue_().empty() &&
        !absl::SimpleAtoi(request->continue_(), &next)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad token");
    }
    size_t end = request->limit() > 0
                     ? std::min(matching.size(),
                                next + static_cast<size_t>(request->limit()))
                     : matching.size();
    for (size_t i = next; i < end; ++i) {
      *response->add_objects() = *matching[i];
    }
    if (end < matching.size()) {
      response->set_continue_(absl::StrCat(end));
      response->set_remaining_item_count(
          static_cast<int64_t>(matching.size() - end));
    }
    response->set_version(version_);
    return grpc::Status::OK;
  }

  // The node table as given, at once, as a controller that cannot wait
  // answers (the wait itself is the real controller's: node_sync_wait_test).
  // With catch_up_after(n), every node has programmed the current version
  // from the n-th call on.
  grpc::Status ListNodeSync(grpc::ServerContext*,
                            const v1::ListNodeSyncRequest* request,
                            v1::ListNodeSyncResponse* response) override {
    absl::MutexLock lock(&mu_);
    waited_for_ = request->wait_for_version();
    ++node_sync_calls_;
    response->set_version(version_);
    for (const v1::NodeSync& node : nodes_) {
      v1::NodeSync& out = *response->add_nodes() = node;
      if (catch_up_after_ > 0 && node_sync_calls_ >= catch_up_after_) {
        out.set_acked_version(version_);
      }
    }
    return grpc::Status::OK;
  }
  void catch_up_after(int calls) {
    absl::MutexLock lock(&mu_);
    catch_up_after_ = calls;
    node_sync_calls_ = 0;
  }
  int node_sync_calls() {
    absl::MutexLock lock(&mu_);
    return node_sync_calls_;
  }
  void set_nodes(std::vector<v1::NodeSync> nodes) {
    absl::MutexLock lock(&mu_);
    nodes_ = std::move(nodes);
  }
  // What Apply says of when it received the write (0: as an older
  // controller, nothing).
  void set_received_unix_us(int64_t us) {
    absl::MutexLock lock(&mu_);
    received_unix_us_ = us;
  }
  uint64_t waited_for() {
    absl::MutexLock lock(&mu_);
    return waited_for_;
  }

  int apply_calls() {
    absl::MutexLock lock(&mu_);
    return apply_calls_;
  }
  int list_calls() {
    absl::MutexLock lock(&mu_);
    return list_calls_;
  }
  // The next `n` requests for a later page answer ABORTED.
  void abort_continues(int n) {
    absl::MutexLock lock(&mu_);
    aborts_ = n;
  }
  size_t size() {
    absl::MutexLock lock(&mu_);
    return objects_.size();
  }
  std::vector<std::string> warnings() {
    absl::MutexLock lock(&mu_);
    return warnings_;
  }
  void set_delay(absl::Duration delay) {
    absl::MutexLock lock(&mu_);
    delay_ = delay;
  }

 private:
  static std::string Key(const v1::ObjectRef& ref) {
    return absl::StrCat(ref.kind(), "/", ref.namespace_(), "/", ref.name());
  }

  absl::Mutex mu_;
  std::map<std::string, v1::Object> objects_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  int next_ip_ ABSL_GUARDED_BY(mu_) = 9;
  int apply_calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> warnings_ ABSL_GUARDED_BY(mu_);
  int list_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int aborts_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration delay_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::NodeSync> nodes_ ABSL_GUARDED_BY(mu_);
  uint64_t waited_for_ ABSL_GUARDED_BY(mu_) = 0;
  int node_sync_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int catch_up_after_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t received_unix_us_ ABSL_GUARDED_BY(mu_) = 0;
};

v1::NodeSync Node(const std::string& name, bool connected, uint64_t acked,
                  uint64_t rejected = 0) {
  v1::NodeSync node;
  node.set_node_name(name);
  node.set_connected(connected);
  node.set_acked_version(acked);
  if (rejected > 0) {
    node.set_rejected_version(rejected);
    node.set_rejected_error("slot map full");
  }
  return node;
}

constexpr char kWeb[] = R"(apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: https, port: 443, targetPort: 8443, nodePort: 30443}
  type: NodePort
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, port: 8080}, {name: https, port: 8443}]
endpoints:
- addresses: [10.244.1.5]
  conditions: {ready: true}
- addresses: [10.244.2.7]
  conditions: {ready: true}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
apiVersion: v1
kind: Node
metadata: {name: worker-1}
spec: {podCIDR: 10.244.1.0/24}
status:
  addresses: [{type: InternalIP, address: 172.18.0.3}]
)";

class CommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    client_ = std::make_unique<ClusterClient>(
        server_->InProcessChannel(grpc::ChannelArguments()), "fake",
        absl::Seconds(5));
    char pattern[] = "/tmp/yard_ctl_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    server_->Shutdown();
    std::filesystem::remove_all(dir_);
  }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // Runs `yardctl args...`; out and err hold what it printed.
  absl::Status Run(std::vector<std::string> args,
                   const std::string& stdin_text = "") {
    out_.str("");
    err_.str("");
    std::istringstream in(stdin_text);
    absl::StatusOr<CommandLine> line = ParseCommandLine(args);
    if (!line.ok()) return line.status();
    Context context{
        .client = client_.get(), .in = &in, .out = &out_, .err = &err_};
    return RunCommand(*line, context);
  }

  FakeClusterState fake_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ClusterClient> client_;
  std::string dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CommandsTest, ApplyCreatesThenLeavesUnchangedThenConfigures) {
  std::string path = Write("web.yaml", kWeb);
  ASSERT_TRUE(Run({"apply", "-f", path}).ok());
  EXPECT_EQ(out_.str(),
            "service/web created\n"
            "endpointslice.discovery.k8s.io/web-abc created\n"
            "node/worker-1 created\n");
  EXPECT_EQ(
      err_.str(),
      absl::StrCat("Warning: ", path,
                   ": document 3: skipped apps/v1 Deployment \"web\" "
                   "(yardctl handles Service, EndpointSlice and Node)\n"));
  EXPECT_EQ(fake_.size(), 3u);

  ASSERT_TRUE(Run({"apply", "-f", path}).ok());
  EXPECT_EQ(out_.str(),
            "service/web unchanged\n"
            "endpointslice.discovery.k8s.io/web-abc unchanged\n"
            "node/worker-1 unchanged\n");

  std::string changed = kWeb;
  changed.replace(changed.find("10.244.2.7"), 10, "10.244.2.8");
  ASSERT_TRUE(Run({"apply", "-f", Write("web2.yaml", changed)}).ok());
  EXPECT_EQ(out_.str(),
            "service/web unchanged\n"
            "endpointslice.discovery.k8s.io/web-abc configured\n"
            "node/worker-1 unchanged\n");
}

TEST_F(CommandsTest, ApplyWaitsUntilEveryConnectedNodeProgrammedIt) {
  // node-c is away: it gets the version when it reconnects.
  fake_.set_nodes({Node("node-a", true, 5), Node("node-b", true, 6),
                   Node("node-c", false, 0)});
  std::string path = Write("web.yaml", kWeb);
  ASSERT_TRUE(Run({"apply", "--wait", "-f", path}).ok()) << err_.str();
  EXPECT_EQ(fake_.waited_for(), 1u);
  EXPECT_TRUE(absl::StrContains(out_.str(), "service/web created\n"))
      << out_.str();
  EXPECT_TRUE(
      absl::StrContains(err_.str(), "version 1 programmed on 2 nodes in "))
      << err_.str();

  // -o keeps stdout a document; the note goes to stderr.
  ASSERT_TRUE(Run({"apply", "--wait", "-o", "name", "-f", path}).ok());
  EXPECT_FALSE(absl::StrContains(out_.str(), "programmed")) << out_.str();
  EXPECT_EQ(fake_.waited_for(), 2u);

  // Without --wait, nothing is asked.
  ASSERT_TRUE(Run({"apply", "-f", path}).ok());
  EXPECT_EQ(fake_.waited_for(), 2u);
}

TEST_F(CommandsTest, ApplyWaitNamesTheNodesThatRefusedOrAreBehind) {
  std::string path = Write("web.yaml", kWeb);
  fake_.set_nodes({Node("node-a", true, 0), Node("node-b", true, 0, 1)});
  absl::Status refused = Run({"apply", "--wait", "-f", path});
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(refused.message()),
            "version 1 was refused by node-b (slot map full)");

  fake_.set_nodes({Node("node-a", true, 2), Node("node-b", true, 0)});
  absl::Status behind = Run({"apply", "--wait", "-f", path});
  EXPECT_EQ(behind.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(std::string(behind.message()),
            "version 2 is not programmed yet on node-b (at version 0)");

  fake_.set_nodes({});
  ASSERT_TRUE(Run({"apply", "--wait", "-f", path}).ok());
  EXPECT_TRUE(absl::StrContains(err_.str(), "no node is connected"))
      << err_.str();
}

// With both ends on the controller's clock, the time is from the write's
// receipt to the last node's ack, whatever this process waited.
TEST_F(CommandsTest, ApplyWaitTimesFromTheWritesReceiptToTheLastAck) {
  constexpr int64_t kReceived = 1'800'000'000'000'000;
  v1::NodeSync a = Node("node-a", true, 1);
  a.set_acked_unix_us(kReceived + 400);
  v1::NodeSync b = Node("node-b", true, 2);
  b.set_acked_unix_us(kReceived + 2'500);
  fake_.set_nodes({a, b});
  fake_.set_received_unix_us(kReceived);
  ASSERT_TRUE(Run({"apply", "--wait", "-f", Write("web.yaml", kWeb)}).ok());
  EXPECT_TRUE(
      absl::StrContains(err_.str(), "version 1 programmed on 2 nodes in 2ms\n"))
      << err_.str();

  // Under a millisecond, in microseconds (this write is version 2).
  a.set_acked_version(2);
  b.set_acked_unix_us(kReceived + 700);
  fake_.set_nodes({a, b});
  fake_.set_received_unix_us(kReceived);
  err_.str("");
  ASSERT_TRUE(Run({"apply", "--wait", "-f", Write("web.yaml", kWeb)}).ok());
  EXPECT_TRUE(absl::StrContains(err_.str(), "programmed on 2 nodes in 700us\n"))
      << err_.str();
}

TEST_F(CommandsTest, ApplyWaitAsksAgainAControllerThatAnswersAtOnce) {
  // A controller older than wait_for_version answers with the table as it
  // is: yardctl asks again until the nodes catch up (here the third call).
  std::string path = Write("web.yaml", kWeb);
  fake_.set_nodes({Node("node-a", true, 0), Node("node-b", true, 0)});
  fake_.catch_up_after(3);
  ASSERT_TRUE(Run({"apply", "--wait", "-f", path}).ok());
  EXPECT_EQ(fake_.node_sync_calls(), 3);
  EXPECT_TRUE(
      absl::StrContains(err_.str(), "version 1 programmed on 2 nodes in "))
      << err_.str();
}

TEST_F(CommandsTest, ApplyOutputShowsWhatWasStored) {
  ASSERT_TRUE(Run({"apply", "-o", "yaml", "-f", "-"},
                  "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
                  "spec: {ports: [{port: 80}]}\n")
                  .ok());
  EXPECT_EQ(out_.str(),
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  "
            "clusterIP: 10.96.0.10\n  ports:\n  - port: 80\n");
  EXPECT_EQ(Run({"apply", "-o", "wide", "-f", "-"}, "").message(),
            "apply prints json, yaml or name (-o wide is for get)");
}

TEST_F(CommandsTest, ApplyPrintsTheControllersWarningsOnStderr) {
  const std::string manifest =
      "apiVersion: v1\nkind: Service\nmetadata: {name: near}\n"
      "spec: {ports: [{port: 80}], trafficDistribution: PreferSameNode}\n";
  ASSERT_TRUE(Run({"apply", "-f", "-"}, manifest).ok());
  EXPECT_EQ(out_.str(), "service/near created\n");
  EXPECT_EQ(err_.str(),
            "Warning: Service default/near: spec.trafficDistribution: "
            "PreferSameNode is not implemented\n");
  // With -o, the document stays clean: the warning is still on stderr.
  ASSERT_TRUE(Run({"apply", "-o", "name", "-f", "-"}, manifest).ok());
  EXPECT_EQ(out_.str(), "service/near\n");
  EXPECT_NE(err_.str().find("Warning: Service default/near"),
            std::string::npos);
}

TEST_F(CommandsTest, ApplyFromStdinAndDirectoryWithNamespace) {
  Write("a.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n");
  ASSERT_TRUE(Run({"apply", "-n", "shop", "-f", dir_, "-f", "-"},
                  "apiVersion: v1\nkind: Service\nmetadata: {name: b}\n")
                  .ok());
  EXPECT_EQ(out_.str(), "service/a created\nservice/b created\n");
  ASSERT_TRUE(Run({"get", "svc", "-n", "shop", "-o", "name"}).ok());
  EXPECT_EQ(out_.str(), "service/a\nservice/b\n");
}

TEST_F(CommandsTest, ApplyRejectedByTheControllerChangesNothing) {
  std::string path = Write("bad.yaml", R"(apiVersion: v1
kind: Service
metadata: {name: ok}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 70000}]}
)");
  absl::Status status = Run({"apply", "-f", path});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  // The controller names the object; yardctl adds where it came from.
  EXPECT_EQ(status.message(),
            absl::StrCat(path,
                         ": document 2: Service default/web: "
                         "spec.ports[0].port: 70000 is not in 1..65535"));
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(fake_.size(), 0u);
}

TEST_F(CommandsTest, ApplyManifestErrorsNeverReachTheController) {
  std::string path = Write("web.yaml",
                           "apiVersion: v1\nkind: Service\nmetadata: {name: "
                           "web}\nspec:\n  ports:\n  - port: http\n");
  absl::Status status = Run({"apply", "-f", path});
  EXPECT_EQ(status.message(),
            absl::StrCat(path,
                         ": document 1 (Service default/web): "
                         "spec.ports[0].port: \"http\" is not an integer "
                         "(line 6, column 11)"));
  EXPECT_EQ(fake_.apply_calls(), 0);

  status = Run({"apply", "-n", "prod", "-f",
                Write("ns.yaml",
                      "apiVersion: v1\nkind: Service\nmetadata: {name: a, "
                      "namespace: dev}\n")});
  EXPECT_NE(status.message().find(
                "the namespace of Service dev/a does not match \"prod\""),
            std::string::npos)
      << status;
  EXPECT_FALSE(Run({"apply"}).ok());
  EXPECT_EQ(Run({"apply", "-f", Write("none.yaml", "---\n")}).message(),
            "no objects passed to apply");
}

TEST_F(CommandsTest, ApplyWarnsAboutUnknownFieldsOrRefusesThemWhenStrict) {
  std::string path = Write("typo.yaml",
                           "apiVersion: v1\nkind: Service\nmetadata: {name: "
                           "web}\nspec:\n  ports:\n  - port: 53\n"
                           "    protocoll: UDP\n");
  const std::string warning =
      absl::StrCat(path,
                   ": document 1 (Service default/web): unknown field "
                   "\"spec.ports[0].protocoll\" (line 7, column 5)");
  ASSERT_TRUE(Run({"apply", "-f", path}).ok());
  EXPECT_EQ(err_.str(), absl::StrCat("Warning: ", warning, "\n"));
  EXPECT_EQ(fake_.warnings(), std::vector<std::string>{warning});

  for (const char* flag :
       {"--validate", "--validate=strict", "--validate=true"}) {
    absl::Status status = Run({"apply", flag, "-f", path});
    EXPECT_EQ(
        status.message(),
        absl::StrCat(warning, "; --validate=strict refuses unknown fields"))
        << flag;
  }
  EXPECT_EQ(fake_.apply_calls(), 1);

  for (const char* flag : {"--validate=ignore", "--validate=false"}) {
    ASSERT_TRUE(Run({"apply", flag, "-f", path}).ok()) << flag;
    EXPECT_EQ(err_.str(), "") << flag;
    EXPECT_TRUE(fake_.warnings().empty()) << flag;
  }
  ASSERT_TRUE(Run({"apply", "--validate=warn", "-f", path}).ok());
  EXPECT_NE(err_.str(), "");

  EXPECT_EQ(Run({"apply", "--validate=maybe", "-f", path}).message(),
            "invalid value \"maybe\" for --validate: expected strict, warn, "
            "ignore, true or false");
  EXPECT_EQ(Run({"get", "svc", "--validate"}).message(),
            "get does not take --validate");
}

TEST_F(CommandsTest, GetTablesAndFormats) {
  ASSERT_TRUE(Run({"apply", "-f", Write("web.yaml", kWeb)}).ok());
  ASSERT_TRUE(Run({"apply", "-f", "-"},
                  "apiVersion: v1\nkind: Service\nmetadata: {name: db, "
                  "namespace: data}\nspec: {clusterIP: None, ports: [{port: "
                  "5432}]}\n")
                  .ok());

  ASSERT_TRUE(Run({"get", "services"}).ok());
  EXPECT_EQ(out_.str(),
            "NAME   TYPE       CLUSTER-IP   EXTERNAL-IP   PORT(S)\n"
            "web    NodePort   10.96.0.10   <none>        "
            "80/TCP,443:30443/TCP\n");

  ASSERT_TRUE(Run({"get", "svc", "-A"}).ok());
  EXPECT_EQ(out_.str(),
            "NAMESPACE   NAME   TYPE        CLUSTER-IP   EXTERNAL-IP   "
            "PORT(S)\n"
            "data        db     ClusterIP   None         <none>        "
            "5432/TCP\n"
            "default     web    NodePort    10.96.0.10   <none>        "
            "80/TCP,443:30443/TCP\n");

  ASSERT_TRUE(Run({"get", "eps"}).ok());
  EXPECT_EQ(out_.str(),
            "NAME      ADDRESSTYPE   PORTS       ENDPOINTS\n"
            "web-abc   IPv4          8080,8443   10.244.1.5,10.244.2.7\n");

  ASSERT_TRUE(Run({"get", "nodes"}).ok());
  EXPECT_EQ(out_.str(),
            "NAME       INTERNAL-IP   POD-CIDRS\n"
            "worker-1   172.18.0.3    10.244.1.0/24\n");

  ASSERT_TRUE(Run({"get", "svc", "db", "-n", "data", "-o", "yaml"}).ok());
  EXPECT_EQ(out_.str(),
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\n  "
            "namespace: data\nspec:\n  clusterIP: None\n  ports:\n  - port: "
            "5432\n");

  ASSERT_TRUE(Run({"get", "no", "-ojson"}).ok());
  EXPECT_NE(out_.str().find("\"kind\": \"List\""), std::string::npos);
  EXPECT_NE(out_.str().find("\"resourceVersion\": \"2\""), std::string::npos)
      << out_.str();
}

TEST_F(CommandsTest, GetNothingAndMissing) {
  ASSERT_TRUE(Run({"get", "svc", "-n", "empty"}).ok());
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "No resources found in empty namespace.\n");
  ASSERT_TRUE(Run({"get", "nodes"}).ok());
  EXPECT_EQ(err_.str(), "No resources found\n");
  ASSERT_TRUE(Run({"get", "svc", "-o", "yaml"}).ok());
  EXPECT_EQ(out_.str(),
            "apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  "
            "resourceVersion: \"0\"\n");

  absl::Status status = Run({"get", "svc", "nope"});
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "Service default/nope not found");
  EXPECT_EQ(Run({"get", "svc", "web", "-A"}).message(),
            "a resource cannot be retrieved by name across all namespaces");
  EXPECT_EQ(Run({"get", "svc", "-f", "x.yaml"}).message(),
            "get does not take -f");
  EXPECT_FALSE(Run({"get"}).ok());
  EXPECT_FALSE(Run({"frobnicate"}).ok());
}

TEST_F(CommandsTest, Delete) {
  std::string path = Write("web.yaml", kWeb);
  ASSERT_TRUE(Run({"apply", "-f", path}).ok());

  ASSERT_TRUE(Run({"delete", "svc", "web"}).ok());
  EXPECT_EQ(out_.str(), "service/web deleted\n");

  absl::Status status = Run({"delete", "-f", path});
  EXPECT_EQ(status.message(), "Service default/web not found");
  EXPECT_EQ(fake_.size(), 2u);  // all or nothing

  ASSERT_TRUE(Run({"delete", "-f", path, "--ignore-not-found"}).ok());
  EXPECT_EQ(out_.str(),
            "endpointslice.discovery.k8s.io/web-abc deleted\n"
            "node/worker-1 deleted\n");
  EXPECT_EQ(fake_.size(), 0u);
  EXPECT_FALSE(Run({"delete", "svc"}).ok());
}

TEST_F(CommandsTest, ApplyAndDeleteNeverList) {
  // The controller says created/configured/unchanged and what it deleted:
  // the cost of an apply follows its own size, not its namespace's.
  std::string path = Write("web.yaml", kWeb);
  ASSERT_TRUE(Run({"apply", "-f", path}).ok());
  ASSERT_TRUE(Run({"apply", "-f", path}).ok());
  ASSERT_TRUE(Run({"delete", "svc", "web"}).ok());
  ASSERT_TRUE(Run({"delete", "-f", path, "--ignore-not-found"}).ok());
  EXPECT_EQ(out_.str(),
            "endpointslice.discovery.k8s.io/web-abc deleted\n"
            "node/worker-1 deleted\n");
  EXPECT_EQ(fake_.list_calls(), 0);
}

TEST_F(CommandsTest, GetPrintsTheSameAtEveryChunkSize) {
  std::string manifest = kWeb;
  for (int i = 0; i < 7; ++i) {
    absl::StrAppend(&manifest,
                    "---\napiVersion: v1\nkind: Service\nmetadata: {name: "
                    "svc-",
                    i, ", namespace: ", i % 2 == 0 ? "default" : "shop",
                    "}\nspec: {ports: [{port: ", 8000 + i, "}]}\n");
  }
  ASSERT_TRUE(Run({"apply", "-f", Write("many.yaml", manifest)}).ok());
  for (const std::vector<std::string>& what :
       {std::vector<std::string>{"get", "svc"},
        std::vector<std::string>{"get", "svc", "-A", "-o", "wide"},
        std::vector<std::string>{"get", "svc", "-A", "-o", "json"},
        std::vector<std::string>{"get", "svc", "-n", "shop", "-o", "yaml"},
        std::vector<std::string>{"get", "svc", "-A", "-o", "name"},
        std::vector<std::string>{"get", "eps", "-o", "wide"},
        std::vector<std::string>{"get", "svc", "-n", "empty"}}) {
    ASSERT_TRUE(Run(what).ok());
    const std::string whole = out_.str(), whole_err = err_.str();
    for (const char* chunk : {"1", "2", "3", "0", "500"}) {
      std::vector<std::string> paged = what;
      paged.push_back(absl::StrCat("--chunk-size=", chunk));
      const int calls_before = fake_.list_calls();
      ASSERT_TRUE(Run(paged).ok());
      EXPECT_EQ(out_.str(), whole) << what[1] << " " << chunk;
      EXPECT_EQ(err_.str(), whole_err);
      if (std::string(chunk) == "1" && what.size() > 2 && what[2] == "-A") {
        EXPECT_EQ(fake_.list_calls() - calls_before, 8);  // one per service
      }
    }
  }
  EXPECT_EQ(Run({"get", "svc", "--chunk-size", "-1"}).message(),
            "invalid value \"-1\" for --chunk-size: expected a count of "
            "objects, 0 for no limit");
  EXPECT_EQ(Run({"apply", "--chunk-size=5", "-f", "x"}).message(),
            "apply does not take --chunk-size");
}

TEST_F(CommandsTest, GetStartsAgainWhenTheListChangedUnderIt) {
  ASSERT_TRUE(Run({"apply", "-f", Write("web.yaml", kWeb)}).ok());
  ASSERT_TRUE(Run({"apply", "-f", "-"},
                  "apiVersion: v1\nkind: Service\nmetadata: {name: db}\n")
                  .ok());
  fake_.abort_continues(kListAttempts - 1);
  ASSERT_TRUE(Run({"get", "svc", "-o", "name", "--chunk-size=1"}).ok());
  EXPECT_EQ(out_.str(), "service/db\nservice/web\n");

  fake_.abort_continues(kListAttempts);
  absl::Status status = Run({"get", "svc", "-o", "name", "--chunk-size=1"});
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(status.message(), "continue: the list changed; list again");
}

TEST_F(CommandsTest, HelpNeedsNoController) {
  ASSERT_TRUE(Run({"help"}).ok());
  EXPECT_NE(out_.str().find("apply -f FILE|DIR"), std::string::npos);
  ASSERT_TRUE(Run({"get", "--help"}).ok());
  EXPECT_NE(out_.str().find("yardctl get TYPE"), std::string::npos);
}

TEST_F(CommandsTest, SlowControllerTimesOut) {
  ClusterClient impatient(server_->InProcessChannel(grpc::ChannelArguments()),
                          "fake", absl::Milliseconds(100));
  fake_.set_delay(absl::Seconds(1));
  v1::ApplyRequest request;
  absl::StatusOr<v1::ApplyResponse> response = impatient.Apply(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(response.status().message(),
            "yard-controller at fake did not answer ClusterState.Apply within "
            "100ms (--timeout sets the limit)");
}

TEST(ClusterClient, UnreachableControllerSaysWhere) {
  std::string address = "unix:///nonexistent/yard-controller.sock";
  ClusterClient client(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()), address,
      absl::Seconds(5));
  v1::ListRequest request;
  request.set_kind(v1::KIND_SERVICE);
  absl::StatusOr<v1::ListResponse> list = client.List(request);
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(list.status().message().rfind(
                "cannot reach yard-controller at "
                "unix:///nonexistent/yard-controller.sock: ",
                0),
            0u)
      << list.status();
}

}  // namespace
}  // namespace switchyard::ctl
