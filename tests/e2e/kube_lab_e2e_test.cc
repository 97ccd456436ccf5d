// SPDX-License-Identifier: Apache-2.0
// The lab with Kubernetes as the source of truth: `yard-lab up --source
// kubernetes --controllers 2` runs the API-server stand-in (tests/kube,
// TLS, token auth) and two yard-controllers mirroring it; every agent is
// given both. The example application (examples/) is written to the API
// server with the official Python client, as an operator would with
// kubectl, and real clients (socat, and sockets of this test) check that
// what the API server holds is what the datapath does:
//   - objects created through the API server reach every node: ClusterIP
//     from pods, NodePort and LoadBalancer status.loadBalancer.ingress from
//     outside; updates and deletes follow;
//   - yardctl refuses to write and names kubectl;
//   - a 410 Gone in the middle of the watches (history compacted, watches
//     cut) makes the controllers list again, and the identical relist
//     reaches no agent: nothing in the maps changes;
//   - the controller the agents watch is killed under traffic: they move
//     to the other without flushing a map, long-lived connections keep
//     echoing, and a change made afterwards is programmed.
// The lab is named "ylt" like the standalone lab suite's, so the two never
// run at once (RUN_SERIAL); every wait is bounded.
#include <sys/socket.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/e2e/pod_apps.h"
#include "tests/e2e/support/lab_driver.h"

namespace switchyard {
namespace {

using namespace ::switchyard::lab;  // NOLINT: the lab's vocabulary

// API server -> controller -> every agent, through Python's client start.
constexpr absl::Duration kPropagation = absl::Seconds(10);

// Controller 2's address on the lab's management network, as the agents
// log it when they move there.
constexpr char kController2[] = "172.31.254.2:7800";

// `yard-lab kube VERB -f PATH` (apply or delete).
absl::Status Kube(const std::string& verb, const std::string& path) {
  return YardLab("kube", {verb, "-f", path});
}

// A stand-in test-control call (/standin/compact, /standin/drop-watches).
absl::Status StandIn(const std::string& path) {
  return YardLab("kube", {"post", path});
}

// Controller C's metrics (it serves them on the control namespace's
// loopback), or "" when it does not answer.
std::string ControllerMetrics(int c) {
  absl::StatusOr<netns::CommandResult> r =
      InNs("control",
           absl::StrCat("curl -s --max-time 2 http://127.0.0.1:", 9760 + c,
                        "/metrics"),
           absl::Seconds(5));
  return r.ok() && r->exit_code == 0 ? r->output : "";
}

// The value of a sample line "name{labels} value" in `metrics`; -1 when
// it is absent.
double Sample(const std::string& metrics, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    if (!absl::StartsWith(line, series + " ")) continue;
    double value = -1;
    if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) return value;
  }
  return -1;
}

// Retries `check` (which says what is still wrong, or "") until it passes
// or `timeout` runs out; returns the last complaint.
std::string Eventually(const std::function<std::string()>& check,
                       absl::Duration timeout = kPropagation) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string wrong;
  while (true) {
    wrong = check();
    if (wrong.empty() || absl::Now() > deadline) return wrong;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

std::string ExpectAnswer(absl::string_view from, const std::string& target) {
  Answer a = Tcp(from, target);
  return a.answered ? "" : absl::StrCat(from, " -> ", target, ": ", a.output);
}

std::string ExpectNoAnswer(absl::string_view from, const std::string& target) {
  Answer a = Tcp(from, target);
  return a.answered
             ? absl::StrCat(from, " -> ", target, " still answered by ", a.pod)
             : "";
}

class KubeLabTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Within ctest's own timeout for the test (60 s), after one other
    // program's test has had its time.
    absl::StatusOr<LabLock> lock = LabLock::Acquire(absl::Seconds(40));
    if (!lock.ok()) {
      setup_error_ = lock.status().ToString();
      return;
    }
    lock_.emplace(*std::move(lock));
    absl::Status up = BringUp();
    if (!up.ok()) {
      setup_error_ = up.ToString();
      PrintLogs();
      (void)YardLab("down");
    }
  }

  static void TearDownTestSuite() {
    if (!lock_.has_value()) return;  // never went up: not ours to take down
    if (absl::Status down = YardLab("down"); !down.ok()) {
      ADD_FAILURE() << down;
    }
    lock_.reset();
  }

  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << "lab setup failed: " << setup_error_;
  }

  void TearDown() override {
    if (HasFailure()) PrintLogs();
  }

  static absl::Status BringUp() {
    if (absl::Status s =
            YardLab("up", {"--source", "kubernetes", "--controllers", "2"});
        !s.ok()) {
      return s;
    }
    if (absl::Status s = netns::RunCommandOk(
            {"env", absl::StrCat("YARD_LAB_NAME=", kLabName),
             absl::StrCat(kSourceDir, "/examples/serve.sh")},
            absl::Seconds(30));
        !s.ok()) {
      return s;
    }
    if (absl::Status s = Kube("apply", absl::StrCat(kSourceDir, "/examples"));
        !s.ok()) {
      return s;
    }
    // The last object written is north-south.yaml's last; once its
    // service answers, every node has it.
    std::string wrong =
        Eventually([] { return ExpectAnswer("pod-1-1", "10.96.0.90:80"); });
    if (!wrong.empty()) return absl::DeadlineExceededError(wrong);
    return absl::OkStatus();
  }

  static void PrintLogs() {
    for (const char* log : {"agent-node-1", "agent-node-2", "controller-1",
                            "controller-2", "apiserver"}) {
      std::cerr << "--- " << kRunDir << "/" << log << ".log (tail)\n"
                << Tail(ReadWhole(absl::StrCat(kRunDir, "/", log, ".log")), 10)
                << "\n";
    }
  }

  static inline std::string setup_error_;
  static inline std::optional<LabLock> lock_;
};

TEST_F(KubeLabTest, ObjectsFromTheApiServerReachEveryNode) {
  // ClusterIP, from a pod on each node, to endpoints on both nodes.
  for (int node : {1, 2}) {
    std::vector<Answer> answers = TcpUntil(
        absl::StrCat("pod-", node, "-1"), "10.96.0.10:80", 30,
        [](const std::vector<Answer>& a) { return NodesOf(a).size() == 2; });
    for (const Answer& a : answers) ASSERT_TRUE(a.answered) << a;
    EXPECT_EQ(NodesOf(answers), (std::set<std::string>{"node-1", "node-2"}));
  }
  // NodePort on both node addresses, from outside.
  for (const char* node : {kNode1, kNode2}) {
    Answer a = Tcp("ext", absl::StrCat(node, ":30050"));
    EXPECT_TRUE(a.answered) << node << ": " << a;
  }
  // A LoadBalancer address, which only the Service's status carries (the
  // API server took it through the status subresource).
  Answer lb = Tcp("ext", "172.31.1.20:80");
  EXPECT_TRUE(lb.answered) << lb;
  // An externalIP.
  Answer external = Tcp("ext", "172.31.2.10:80");
  EXPECT_TRUE(external.answered) << external;
}

TEST_F(KubeLabTest, YardctlRefusesToWriteAndNamesKubectl) {
  absl::StatusOr<netns::CommandResult> r =
      Yardctl({"apply", "-f", absl::StrCat(kSourceDir, "/examples/demo.yaml")});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r->output, "kubectl")) << r->output;
  // Reading still works, and shows what the API server holds.
  absl::StatusOr<netns::CommandResult> get = Yardctl({"get", "services"});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_TRUE(absl::StrContains(get->output, "portal")) << get->output;
}

TEST_F(KubeLabTest, UpdatesAndDeletesFollow) {
  const std::string v1 = WriteManifest("late", R"(---
apiVersion: v1
kind: Service
metadata:
  name: late
  namespace: default
spec:
  clusterIP: 10.96.7.7
  ports:
    - name: http
      protocol: TCP
      port: 80
      targetPort: 8080
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: late-1
  namespace: default
  labels:
    kubernetes.io/service-name: late
addressType: IPv4
ports:
  - name: http
    protocol: TCP
    port: 8080
endpoints:
  - addresses: ["10.244.2.12"]
    conditions: {ready: true}
    nodeName: node-2
)");
  ASSERT_TRUE(Kube("apply", v1).ok());
  EXPECT_EQ(Eventually([] { return ExpectAnswer("pod-1-1", "10.96.7.7:80"); }),
            "");

  // The port moves: the old one stops answering, the new one answers.
  std::string v2 = ReadWhole(v1);
  v2.replace(v2.find("port: 80\n"), 9, "port: 81\n");
  const std::string moved = WriteManifest("late-moved", v2);
  ASSERT_TRUE(Kube("apply", moved).ok());
  EXPECT_EQ(Eventually([] { return ExpectAnswer("pod-1-1", "10.96.7.7:81"); }),
            "");
  EXPECT_EQ(ExpectNoAnswer("pod-1-1", "10.96.7.7:80"), "");

  ASSERT_TRUE(Kube("delete", moved).ok());
  EXPECT_EQ(
      Eventually([] { return ExpectNoAnswer("pod-2-1", "10.96.7.7:81"); }), "");
}

TEST_F(KubeLabTest, GoneMidWatchRelistsAndChangesNothing) {
  // A change to EndpointSlices moves the API server's resourceVersion on
  // (one counter for every kind, as etcd's revision) but never reaches the
  // services and nodes watches, which stay at an older version: the lab's
  // stand-in sends bookmarks only once a minute.
  const std::string orphan = WriteManifest("orphan-slice", R"(---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: orphan-1
  namespace: default
  labels:
    kubernetes.io/service-name: no-such-service
addressType: IPv4
ports:
  - name: http
    protocol: TCP
    port: 8080
endpoints:
  - addresses: ["10.244.1.12"]
)");
  const std::vector<int> applied_at_start = AppliedCounts();
  ASSERT_TRUE(Kube("apply", orphan).ok());
  ASSERT_TRUE(WaitProgrammed(applied_at_start).ok());

  const std::string before_1 = ControllerMetrics(1);
  ASSERT_FALSE(before_1.empty()) << "controller 1 serves no metrics";
  const double relists_before = Sample(
      before_1,
      R"(switchyard_controller_kube_relists_total{resource="services"})");
  const double version_before =
      Sample(before_1, "switchyard_controller_version");
  const std::vector<int> applied_before = AppliedCounts();

  // History before now is gone; every watch is cut. The services and
  // nodes watches come back with a version the API server no longer has:
  // 410, list again.
  ASSERT_TRUE(StandIn("/standin/compact").ok());
  ASSERT_TRUE(StandIn("/standin/drop-watches").ok());
  EXPECT_EQ(
      Eventually([&] {
        double now = Sample(
            ControllerMetrics(1),
            R"(switchyard_controller_kube_relists_total{resource="services"})");
        return now > relists_before ? "" : absl::StrCat("relists still ", now);
      }),
      "");
  // The relist found what the controller had: no new version, so no agent
  // was sent anything and no map was written.
  EXPECT_EQ(Sample(ControllerMetrics(1), "switchyard_controller_version"),
            version_before);
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(AppliedCounts(), applied_before);
  EXPECT_EQ(ExpectAnswer("pod-1-1", "10.96.0.10:80"), "");

  // The watches run again after the relist: a change still arrives.
  const std::string gone = WriteManifest("edge-gone", R"(---
apiVersion: v1
kind: Service
metadata:
  name: idle
  namespace: default
)");
  ASSERT_TRUE(Kube("delete", gone).ok());
  EXPECT_EQ(
      Eventually([] {
        absl::StatusOr<netns::CommandResult> r = Yardctl({"get", "services"});
        if (!r.ok()) return std::string(r.status().message());
        return absl::StrContains(r->output, "idle")
                   ? std::string("idle still listed")
                   : std::string();
      }),
      "");
}

TEST_F(KubeLabTest, ControllerKilledUnderTrafficLosesNoConnection) {
  absl::StatusOr<EchoClients> clients =
      EchoClients::Open({{"ext", kNode1, 30052},
                         {"ext", kNode2, 30052},
                         {"pod-1-1", "10.96.0.50", 7007},
                         {"pod-2-1", "10.96.0.50", 7007}});
  ASSERT_TRUE(clients.ok()) << clients.status();
  auto echo_all = [&](const std::string& when) {
    EXPECT_EQ(clients->EchoAll(when), "");
  };
  echo_all("before");

  // Agents watch the first controller in their list: kill it.
  ASSERT_TRUE(YardLab("kill-controller", {"1"}).ok());
  echo_all("right after the kill");
  // Each agent moves to controller 2 (a snapshot: another controller's
  // versions mean nothing here), reconciles, and flushes nothing.
  EXPECT_EQ(Eventually([] {
              for (int i = 1; i <= kNodes; ++i) {
                std::string log =
                    ReadWhole(absl::StrCat(kRunDir, "/agent-node-", i, ".log"));
                if (!absl::StrContains(log, kController2)) {
                  return absl::StrCat("agent-node-", i,
                                      " never mentions controller 2");
                }
              }
              return std::string();
            }),
            "");
  echo_all("after failover");

  // A change made now reaches every node through controller 2.
  const std::string late = WriteManifest("after-failover", R"(---
apiVersion: v1
kind: Service
metadata:
  name: after-failover
  namespace: default
spec:
  clusterIP: 10.96.8.8
  ports:
    - name: http
      protocol: TCP
      port: 80
      targetPort: 8080
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: after-failover-1
  namespace: default
  labels:
    kubernetes.io/service-name: after-failover
addressType: IPv4
ports:
  - name: http
    protocol: TCP
    port: 8080
endpoints:
  - addresses: ["10.244.1.12"]
    conditions: {ready: true}
    nodeName: node-1
)");
  ASSERT_TRUE(Kube("apply", late).ok());
  EXPECT_EQ(Eventually([] { return ExpectAnswer("pod-2-1", "10.96.8.8:80"); }),
            "");
  echo_all("after a change through controller 2");

  // Controller 1 comes back (for the tests after this one).
  ASSERT_TRUE(YardLab("start-controller", {"1"}).ok());
}

}  // namespace
}  // namespace switchyard
