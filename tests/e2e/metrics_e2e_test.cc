// SPDX-License-Identifier: Apache-2.0
// Metrics and health end to end, with the real binaries: the test applies
// a service through yard-controller's API, a yard-agent programs it, a pod
// sends traffic through the ClusterIP, and both daemons' /metrics are
// scraped and parsed as Prometheus would. The controller's gRPC health
// service is asked too.
//
//   test ── ClusterState, grpc.health.v1 ──> mutual TLS on 172.31.254.10:7800
//   (the test's own namespace, over the node's mgmt0: control_network.h)
//   node namespace:
//     yard-controller   metrics on 127.0.0.1:9751 (the node's loopback)
//     yard-agent        metrics on 127.0.0.1:9750, maps in
//                       /sys/fs/bpf/ysy<pid>-mx/node-a
//     client 10.244.0.10 ─ eth0 ══ ymclient ┐ node (ip_forward,
//     be1    10.244.0.11 ─ eth0 ══ ymbe1    ┘  10.244.0.1 on each veth)
//
// Both daemons run inside the node's namespace, so their metrics listeners
// are on its loopback, reached by a test thread that enters it: nothing
// listens on the host's interfaces, and nothing collides with daemons
// another test (or engineer) runs on the host.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/common/scoped_fd.h"
#include "control/kernel/datapath_maps.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "switchyard/v1/controller.grpc.pb.h"
#include "tests/e2e/pod_apps.h"
#include "tests/e2e/support/assert_ok.h"
#include "tests/e2e/support/control_network.h"
#include "tests/e2e/support/daemons.h"
#include "tests/e2e/support/scratch.h"
#include "tests/e2e/support/topology.h"
#include "tests/netns/netns.h"
#include "tests/netns/process.h"

namespace switchyard {
namespace {

using e2e::FromGrpc;
using e2e::ReadFile;

using e2e::kProgramTimeout;
using e2e::kRpcTimeout;
using e2e::kStartTimeout;
constexpr absl::Duration kHttpTimeout = absl::Seconds(5);
constexpr absl::Duration kPoll = absl::Milliseconds(5);

constexpr char kNodeName[] = "node-a";
constexpr char kGateway[] = "10.244.0.1";
constexpr char kClientIp[] = "10.244.0.10";
constexpr char kBackendIp[] = "10.244.0.11";
constexpr uint16_t kTcpPort = 80, kTcpTargetPort = 8080;
constexpr uint16_t kUdpPort = 53, kUdpTargetPort = 5353;
constexpr int kAgentMetricsPort = 9750;
constexpr int kControllerMetricsPort = 9751;
constexpr int kMaxFrontends = 64;

// Scratch folders are "ysy<pid>-mx", named like the namespaces.
constexpr char kScratchTag[] = "mx";

// ---------------------------------------------------------------------------
// HTTP and the exposition format, from the test's side: written here
// independently of control/metrics, so a bug there cannot hide itself.

struct HttpAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};

// GET http://127.0.0.1:<port><path> in the calling thread's namespace.
absl::StatusOr<HttpAnswer> HttpGet(int port, absl::string_view path) {
  ScopedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return absl::InternalError("socket");
  timeval tv = {static_cast<time_t>(absl::ToInt64Seconds(kHttpTimeout)), 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    return absl::UnavailableError(
        absl::StrCat("connect to 127.0.0.1:", port, ": ", strerror(errno)));
  }
  std::string request =
      absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1:", port,
                   "\r\nAccept: text/plain\r\n\r\n");
  if (send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return absl::InternalError("send");
  }
  std::string raw;
  char buffer[8192];
  for (;;) {
    ssize_t n = read(fd.get(), buffer, sizeof(buffer));
    if (n == 0) break;
    if (n < 0) return absl::DeadlineExceededError("read the answer");
    raw.append(buffer, n);
  }
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return absl::DataLossError("no HTTP head");
  std::vector<std::string> lines = absl::StrSplit(raw.substr(0, end), "\r\n");
  std::vector<std::string> status_line = absl::StrSplit(lines[0], ' ');
  HttpAnswer answer;
  if (status_line.size() < 2 ||
      !absl::SimpleAtoi(status_line[1], &answer.status)) {
    return absl::DataLossError(absl::StrCat("status line: ", lines[0]));
  }
  size_t content_length = std::string::npos;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::pair<std::string, std::string> header =
        absl::StrSplit(lines[i], absl::MaxSplits(": ", 1));
    std::string name = absl::AsciiStrToLower(header.first);
    if (name == "content-type") answer.content_type = header.second;
    if (name == "content-length" &&
        !absl::SimpleAtoi(header.second, &content_length)) {
      return absl::DataLossError("content-length");
    }
  }
  answer.body = raw.substr(end + 4);
  if (content_length != answer.body.size()) {
    return absl::DataLossError(absl::StrCat(
        "body of ", answer.body.size(), " bytes, announced ", content_length));
  }
  return answer;
}

struct ParsedSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// A scrape, parsed: every sample, and each family's TYPE.
class Scrape {
 public:
  static absl::StatusOr<Scrape> Parse(absl::string_view text) {
    Scrape scrape;
    int line_number = 0;
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      ++line_number;
      if (line.empty()) continue;
      auto bad = [&](absl::string_view why) {
        return absl::DataLossError(
            absl::StrCat("line ", line_number, " (", why, "): ", line));
      };
      if (absl::ConsumePrefix(&line, "# TYPE ")) {
        std::vector<std::string> parts = absl::StrSplit(line, ' ');
        if (parts.size() != 2) return bad("TYPE");
        if (!scrape.types_.emplace(parts[0], parts[1]).second) {
          return bad("family typed twice");
        }
        continue;
      }
      if (absl::StartsWith(line, "# HELP ")) continue;
      if (absl::StartsWith(line, "#")) return bad("unknown comment");
      absl::StatusOr<ParsedSample> sample = ParseSample(line);
      if (!sample.ok()) return bad(sample.status().message());
      if (!scrape.types_.contains(scrape.FamilyOf(sample->name))) {
        return bad("sample before its TYPE");
      }
      scrape.samples_.push_back(std::move(*sample));
    }
    return scrape;
  }

  // The samples named `name` whose labels include `want`.
  std::vector<const ParsedSample*> Find(
      absl::string_view name,
      const std::map<std::string, std::string>& want = {}) const {
    std::vector<const ParsedSample*> out;
    for (const ParsedSample& s : samples_) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : want) {
        auto it = s.labels.find(k);
        match = match && it != s.labels.end() && it->second == v;
      }
      if (match) out.push_back(&s);
    }
    return out;
  }

  // The one matching sample's value; nullopt if none or several.
  std::optional<double> Value(
      absl::string_view name,
      const std::map<std::string, std::string>& want = {}) const {
    std::vector<const ParsedSample*> found = Find(name, want);
    if (found.size() != 1) return std::nullopt;
    return found[0]->value;
  }

  double Sum(absl::string_view name,
             const std::map<std::string, std::string>& want = {}) const {
    double sum = 0;
    for (const ParsedSample* s : Find(name, want)) sum += s->value;
    return sum;
  }

  std::string Type(const std::string& family) const {
    auto it = types_.find(family);
    return it == types_.end() ? "" : it->second;
  }

 private:
  // A histogram's samples carry suffixes; its TYPE line names the family.
  std::string FamilyOf(const std::string& name) const {
    for (absl::string_view suffix : {"_bucket", "_sum", "_count"}) {
      absl::string_view base = name;
      if (absl::ConsumeSuffix(&base, suffix) &&
          Type(std::string(base)) == "histogram") {
        return std::string(base);
      }
    }
    return name;
  }

  static absl::StatusOr<ParsedSample> ParseSample(absl::string_view line) {
    ParsedSample sample;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    sample.name = std::string(line.substr(0, i));
    if (sample.name.empty()) return absl::DataLossError("no name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == absl::string_view::npos || eq + 1 >= line.size() ||
            line[eq + 1] != '"') {
          return absl::DataLossError("label");
        }
        std::string key(line.substr(i, eq - i));
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] != '\\') {
            value += line[j];
            continue;
          }
          if (++j >= line.size()) return absl::DataLossError("escape");
          switch (line[j]) {
            case 'n':
              value += '\n';
              break;
            case '\\':
            case '"':
              value += line[j];
              break;
            default:
              return absl::DataLossError("unknown escape");
          }
        }
        if (j >= line.size()) return absl::DataLossError("unterminated");
        if (!sample.labels.emplace(key, value).second) {
          return absl::DataLossError("label twice");
        }
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return absl::DataLossError("no closing brace");
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') {
      return absl::DataLossError("no value");
    }
    absl::string_view value = line.substr(i + 1);
    if (value == "+Inf") {
      sample.value = HUGE_VAL;
    } else if (value == "-Inf") {
      sample.value = -HUGE_VAL;
    } else if (!absl::SimpleAtod(value, &sample.value)) {
      return absl::DataLossError("value");
    }
    return sample;
  }

  std::map<std::string, std::string> types_;
  std::vector<ParsedSample> samples_;
};

// ---------------------------------------------------------------------------
// Cluster objects: web, TCP 80 -> 8080 and UDP 53 -> 5353, one backend.

v1::Object WebService() {
  v1::Object object;
  v1::Service& service = *object.mutable_service();
  service.mutable_metadata()->set_name("web");
  service.mutable_metadata()->set_namespace_("default");
  service.mutable_spec()->set_type("ClusterIP");
  for (auto [name, protocol, port, target] :
       {std::tuple{"http", "TCP", kTcpPort, kTcpTargetPort},
        {"dns", "UDP", kUdpPort, kUdpTargetPort}}) {
    v1::ServicePort* p = service.mutable_spec()->add_ports();
    p->set_name(name);
    p->set_protocol(protocol);
    p->set_port(port);
    p->mutable_target_port()->set_number(target);
  }
  return object;
}

v1::Object WebSlice() {
  v1::Object object;
  v1::EndpointSlice& slice = *object.mutable_endpoint_slice();
  slice.mutable_metadata()->set_name("web-1");
  slice.mutable_metadata()->set_namespace_("default");
  (*slice.mutable_metadata()->mutable_labels())["kubernetes.io/service-name"] =
      "web";
  slice.set_address_type("IPv4");
  v1::Endpoint* endpoint = slice.add_endpoints();
  endpoint->add_addresses(kBackendIp);
  endpoint->mutable_conditions()->set_ready(true);
  endpoint->set_node_name(kNodeName);
  for (auto [name, protocol, port] : {std::tuple{"http", "TCP", kTcpTargetPort},
                                      {"dns", "UDP", kUdpTargetPort}}) {
    v1::EndpointPort* p = slice.add_ports();
    p->set_name(name);
    p->set_protocol(protocol);
    p->set_port(port);
  }
  return object;
}

// ---------------------------------------------------------------------------

class MetricsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_OK(e2e::RemoveStaleLeftovers(kScratchTag));
  }

  void SetUp() override {
    work_dir_ = e2e::ScratchWorkDir(kScratchTag);
    pin_root_ = e2e::ScratchPinRoot(kScratchTag);
    pin_dir_ = absl::StrCat(pin_root_, "/", kNodeName);
    ASSERT_OK(e2e::FreshScratch(work_dir_, pin_root_));
    absl::StatusOr<std::unique_ptr<e2e::ControlNetwork>> network =
        e2e::ControlNetwork::Create();
    ASSERT_TRUE(network.ok()) << network.status();
    control_network_ = *std::move(network);
    ASSERT_OK(BuildTopology());
    absl::StatusOr<std::unique_ptr<pki::TestPki>> pki =
        e2e::MakeControlPki({node_control_ip_}, {kNodeName});
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
    controller_address_ =
        absl::StrCat(node_control_ip_, ":", e2e::kControllerPort);
    absl::StatusOr<std::unique_ptr<e2e::IdentityServer>> server =
        e2e::IdentityServer::Start(*backend_, "backend-1", kTcpTargetPort,
                                   kUdpTargetPort);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_OK(StartController());
    ASSERT_OK(StartAgent());
  }

  void TearDown() override {
    if (HasFailure()) {
      for (const char* log : {"controller.log", "agent.log"}) {
        std::cerr << "---- " << log << "\n"
                  << ReadFile(absl::StrCat(work_dir_, "/", log)) << "\n";
      }
    }
    // Processes first (they hold the pins and namespace), then the
    // namespaces, then the folders.
    agent_.reset();
    controller_.reset();
    server_.reset();
    client_.reset();
    backend_.reset();
    node_.reset();
    control_network_.reset();
    pki_.reset();
    std::error_code ec;
    std::filesystem::remove_all(work_dir_, ec);
    std::filesystem::remove_all(pin_root_, ec);
  }

  absl::Status BuildTopology() {
    absl::StatusOr<std::unique_ptr<netns::Namespace>> node =
        e2e::CreateNode("node");
    if (!node.ok()) return node.status();
    node_ = *std::move(node);
    absl::StatusOr<std::string> control_ip = control_network_->Join(*node_);
    if (!control_ip.ok()) return control_ip.status();
    node_control_ip_ = *std::move(control_ip);
    for (auto [name, ip, dev, pod] :
         {std::tuple{"client", kClientIp, "ymclient", &client_},
          {"be1", kBackendIp, "ymbe1", &backend_}}) {
      absl::StatusOr<std::unique_ptr<netns::Namespace>> ns =
          e2e::CreatePod(*node_, name, dev, ip, kGateway);
      if (!ns.ok()) return ns.status();
      *pod = *std::move(ns);
    }
    return absl::OkStatus();
  }

  // yard-controller in the node's namespace: mutual TLS on the node's
  // mgmt0 address (reached from the test's namespace too), metrics on the
  // node's loopback.
  absl::Status StartController() {
    absl::StatusOr<std::unique_ptr<netns::ChildProcess>> child =
        netns::ChildProcess::Start({
            .argv = ControllerArgv(),
            .log_path = absl::StrCat(work_dir_, "/controller.log"),
            .netns = node_->name(),
        });
    if (!child.ok()) return child.status();
    controller_ = *std::move(child);
    const absl::Time deadline = absl::Now() + kStartTimeout;
    if (absl::Status s = e2e::WaitForControllerPort(
            controller_address_, *controller_, deadline, kPoll);
        !s.ok()) {
      return s;
    }
    channel_ =
        e2e::ControllerChannel(controller_address_, e2e::WriterTls(*pki_));
    stub_ = v1::ClusterState::NewStub(channel_);
    return e2e::FirstCall(*stub_, deadline);
  }

  // yard-agent in the node's namespace (setns, so bpffs stays visible),
  // counting yard_ct4 at every scrape so traffic shows at once.
  absl::Status StartAgent() {
    absl::StatusOr<std::unique_ptr<netns::ChildProcess>> child =
        netns::ChildProcess::Start({
            .argv = AgentArgv(),
            .log_path = absl::StrCat(work_dir_, "/agent.log"),
            .netns = node_->name(),
        });
    if (!child.ok()) return child.status();
    agent_ = *std::move(child);
    return e2e::WaitAgentConnected(*stub_, *agent_, kNodeName,
                                   absl::Now() + kStartTimeout, kPoll,
                                   kRpcTimeout);
  }

  // Both daemons' metrics on the node's loopback, beside the defaults.
  std::vector<std::string> ControllerArgv() const {
    std::vector<std::string> argv =
        e2e::ControllerArgv(controller_address_, e2e::ControllerTls(*pki_),
                            absl::StrCat(work_dir_, "/state"));
    argv.push_back(
        absl::StrCat("--metrics_listen=127.0.0.1:", kControllerMetricsPort));
    return argv;
  }

  // yard_ct4 counted at every scrape, so traffic shows at once.
  std::vector<std::string> AgentArgv() const {
    std::vector<std::string> argv =
        e2e::AgentArgv({.node_name = kNodeName,
                        .controller = controller_address_,
                        .tls = e2e::NodeTls(*pki_, kNodeName),
                        .bpffs_root = pin_root_,
                        .pod_interfaces = "ym*",
                        .max_frontends = kMaxFrontends});
    argv.push_back(
        absl::StrCat("--metrics_listen=127.0.0.1:", kAgentMetricsPort));
    argv.push_back("--metrics_ct_interval=1ms");
    return argv;
  }

  absl::StatusOr<v1::NodeSync> NodeSync() {
    return e2e::FindNodeSync(*stub_, kNodeName, kRpcTimeout);
  }

  absl::Status WaitAcked(uint64_t version) {
    const absl::Time deadline = absl::Now() + kProgramTimeout;
    for (;;) {
      absl::StatusOr<v1::NodeSync> node = NodeSync();
      if (node.ok() && node->acked_version() >= version) {
        return absl::OkStatus();
      }
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("node-a did not ack version ", version));
      }
      absl::SleepFor(kPoll);
    }
  }

  // GET from a thread inside the node's namespace, where both daemons'
  // metrics listen.
  absl::StatusOr<HttpAnswer> NodeGet(int port, absl::string_view path) {
    return node_->Run([&] { return HttpGet(port, path); });
  }

  // Scrapes one daemon's /metrics and checks the HTTP answer on the way.
  absl::StatusOr<Scrape> ScrapeMetrics(int port) {
    absl::StatusOr<HttpAnswer> answer = NodeGet(port, "/metrics");
    if (!answer.ok()) return answer.status();
    if (answer->status != 200) {
      return absl::InternalError(absl::StrCat("HTTP ", answer->status));
    }
    if (answer->content_type != "text/plain; version=0.0.4") {
      return absl::InternalError(
          absl::StrCat("Content-Type: ", answer->content_type));
    }
    text_[port] = answer->body;
    return Scrape::Parse(answer->body);
  }

  // Waits (bounded) until a daemon's metrics answer: the controller binds
  // its listener after the gRPC server, the agent after loading.
  absl::Status WaitForMetrics(int port) {
    const absl::Time deadline = absl::Now() + kStartTimeout;
    absl::StatusOr<HttpAnswer> answer;
    while (absl::Now() < deadline) {
      answer = NodeGet(port, "/healthz");
      if (answer.ok() && answer->status == 200) return absl::OkStatus();
      absl::SleepFor(kPoll);
    }
    return absl::DeadlineExceededError(
        absl::StrCat("no metrics on port ", port, ": ",
                     answer.ok() ? absl::StrCat("HTTP ", answer->status)
                                 : answer.status().ToString()));
  }

  std::string work_dir_, pin_root_, pin_dir_;
  std::string node_control_ip_, controller_address_;
  std::unique_ptr<e2e::ControlNetwork> control_network_;
  std::unique_ptr<pki::TestPki> pki_;
  std::unique_ptr<netns::Namespace> node_, client_, backend_;
  std::unique_ptr<e2e::IdentityServer> server_;
  std::unique_ptr<netns::ChildProcess> controller_, agent_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ClusterState::Stub> stub_;
  std::map<int, std::string> text_;  // last /metrics body, by port
};

TEST_F(MetricsTest, ScrapesMatchTheClusterAndTheDatapath) {
  // Write the service, wait for the agent, then send traffic through it.
  v1::ApplyRequest request;
  *request.add_objects() = WebService();
  *request.add_objects() = WebSlice();
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kRpcTimeout));
  v1::ApplyResponse applied;
  ASSERT_OK(FromGrpc(stub_->Apply(&context, request, &applied), "Apply"));
  const uint64_t version = applied.version();
  const std::string ip = applied.objects(0).service().spec().cluster_ip();
  ASSERT_OK(WaitAcked(version));
  constexpr int kConnections = 3;
  absl::Status traffic = client_->Run([&]() -> absl::Status {
    for (int i = 0; i < kConnections; ++i) {
      absl::StatusOr<ScopedFd> fd =
          e2e::MustConnect(e2e::SockAddr(ip, kTcpPort), absl::Seconds(2));
      if (!fd.ok()) return fd.status();
      absl::StatusOr<e2e::Reply> reply = e2e::Exchange(fd->get(), "hello\n");
      if (!reply.ok()) return reply.status();
    }
    return absl::OkStatus();
  });
  ASSERT_OK(traffic);

  ASSERT_OK(WaitForMetrics(kAgentMetricsPort));
  ASSERT_OK(WaitForMetrics(kControllerMetricsPort));
  absl::StatusOr<Scrape> agent = ScrapeMetrics(kAgentMetricsPort);
  ASSERT_TRUE(agent.ok()) << agent.status() << "\n" << text_[kAgentMetricsPort];
  absl::StatusOr<Scrape> controller = ScrapeMetrics(kControllerMetricsPort);
  ASSERT_TRUE(controller.ok()) << controller.status() << "\n"
                               << text_[kControllerMetricsPort];
  const std::string agent_text = text_[kAgentMetricsPort];
  const std::string controller_text = text_[kControllerMetricsPort];

  // Versions agree: what the controller holds, what the agent applied and
  // what the controller knows the agent acked.
  EXPECT_EQ(controller->Value("switchyard_controller_version"), version)
      << controller_text;
  EXPECT_EQ(agent->Value("switchyard_agent_applied_version"), version)
      << agent_text;
  EXPECT_EQ(controller->Value("switchyard_controller_node_acked_version",
                              {{"node", kNodeName}}),
            version)
      << controller_text;
  EXPECT_EQ(controller->Value("switchyard_controller_node_lag_versions",
                              {{"node", kNodeName}}),
            0)
      << controller_text;
  EXPECT_EQ(controller->Value("switchyard_controller_node_connected",
                              {{"node", kNodeName}}),
            1);
  EXPECT_EQ(controller->Value("switchyard_controller_watching_agents"), 1);
  EXPECT_GE(controller->Sum("switchyard_controller_watch_streams_total",
                            {{"node", kNodeName}}),
            1);
  EXPECT_EQ(controller->Value("switchyard_controller_writes_applied_total",
                              {{"op", "apply"}}),
            1);
  EXPECT_EQ(
      controller->Value("switchyard_controller_objects", {{"kind", "Service"}}),
      1);
  EXPECT_EQ(controller->Value("switchyard_controller_objects",
                              {{"kind", "EndpointSlice"}}),
            1);
  EXPECT_EQ(controller->Type("switchyard_controller_write_latency_seconds"),
            "histogram");
  EXPECT_EQ(
      controller->Value("switchyard_controller_write_latency_seconds_count",
                        {{"op", "apply"}}),
      1);
  // Timed only for writes after the stream's snapshot, which this one
  // almost always is (controller_watch_test times one exactly).
  EXPECT_EQ(
      controller->Type("switchyard_controller_programming_latency_seconds"),
      "histogram");
  EXPECT_LE(controller->Value(
                "switchyard_controller_programming_latency_seconds_count"),
            1);

  // The agent's own view: it applied at least the snapshot, timed it, and
  // is connected.
  const double syncs =
      agent->Sum("switchyard_agent_sync_latency_seconds_count");
  EXPECT_GE(syncs, 1) << agent_text;
  EXPECT_EQ(agent->Sum("switchyard_agent_sync_latency_seconds_bucket",
                       {{"le", "+Inf"}}),
            syncs);
  EXPECT_EQ(agent->Sum("switchyard_agent_updates_applied_total"), syncs);
  EXPECT_EQ(agent->Sum("switchyard_agent_updates_rejected_total"), 0);
  EXPECT_GT(agent->Value("switchyard_agent_map_writes_total").value_or(0), 0);
  EXPECT_EQ(agent->Value("switchyard_agent_controller_connected"), 1);
  EXPECT_GE(agent->Value("switchyard_agent_stream_connects_total").value_or(0),
            1);
  EXPECT_EQ(agent->Value("switchyard_agent_interfaces_attached"), 2);

  // Frontends: the gauge, the map's fill and the map itself agree. web has
  // two ports plus its address's wildcard entry.
  absl::StatusOr<kernel::DatapathMaps> maps =
      kernel::DatapathMaps::OpenPinned(pin_dir_);
  ASSERT_TRUE(maps.ok()) << maps.status();
  auto frontends = maps->DumpFrontends();
  ASSERT_TRUE(frontends.ok()) << frontends.status();
  EXPECT_EQ(frontends->size(), 3u);
  EXPECT_EQ(agent->Value("switchyard_agent_programmed_frontends"),
            frontends->size())
      << agent_text;
  EXPECT_EQ(
      agent->Value("switchyard_datapath_map_entries", {{"map", "yard_svc4"}}),
      frontends->size());
  EXPECT_EQ(
      agent->Value("switchyard_datapath_map_capacity", {{"map", "yard_svc4"}}),
      kMaxFrontends);
  // One pod, two target ports: two backends, one slot each.
  EXPECT_EQ(agent->Value("switchyard_agent_programmed_backends"), 2);
  EXPECT_EQ(agent->Value("switchyard_agent_programmed_slots"), 2);
  // Three TCP connections: a forward and a reply entry each.
  EXPECT_GE(
      agent->Value("switchyard_datapath_map_entries", {{"map", "yard_ct4"}})
          .value_or(0),
      2 * kConnections)
      << agent_text;

  // Traffic through the ClusterIP, counted per frontend and direction.
  const std::map<std::string, std::string> tcp_frontend = {
      {"service", "default/web:80/TCP"},
      {"frontend", absl::StrCat(ip, ":80/TCP")}};
  for (const char* direction : {"forward", "reply"}) {
    std::map<std::string, std::string> labels = tcp_frontend;
    labels["direction"] = direction;
    // Each connection: at least SYN (SYN-ACK) and its line, both ways; the
    // closing packets may still be on their way.
    EXPECT_GE(agent->Value("switchyard_datapath_service_packets_total", labels)
                  .value_or(0),
              2 * kConnections)
        << direction << "\n"
        << agent_text;
    EXPECT_GT(agent->Value("switchyard_datapath_service_bytes_total", labels)
                  .value_or(0),
              0)
        << direction;
  }
  // The UDP port saw nothing, and is listed all the same.
  EXPECT_EQ(agent->Value(
                "switchyard_datapath_service_packets_total",
                {{"service", "default/web:53/UDP"}, {"direction", "forward"}}),
            0)
      << agent_text;
  // Every reason is listed, with what the datapath does with it.
  EXPECT_EQ(agent->Find("switchyard_datapath_reason_packets_total").size(),
            static_cast<size_t>(YARD_REASON_MAX - 1));
  EXPECT_TRUE(
      agent
          ->Value("switchyard_datapath_reason_packets_total",
                  {{"reason", "reject_no_endpoint"}, {"verdict", "reject"}})
          .has_value())
      << agent_text;
  EXPECT_EQ(agent->Value("switchyard_datapath_read_errors_total"), 0);
  std::cout << "[ metrics ] agent /metrics: " << agent_text.size()
            << " bytes; controller /metrics: " << controller_text.size()
            << " bytes\n";
}

TEST_F(MetricsTest, HealthEndpointsAnswer) {
  ASSERT_OK(WaitForMetrics(kAgentMetricsPort));
  ASSERT_OK(WaitForMetrics(kControllerMetricsPort));
  for (int port : {kAgentMetricsPort, kControllerMetricsPort}) {
    absl::StatusOr<HttpAnswer> answer = NodeGet(port, "/healthz");
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->status, 200) << port;
    EXPECT_EQ(answer->body, "ok") << port;
    answer = NodeGet(port, "/no-such-page");
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->status, 404) << port;
  }

  // grpc.health.v1 on the controller's gRPC port: the server as a whole
  // is SERVING once its store is open; an unknown service is NOT_FOUND.
  auto health = grpc::health::v1::Health::NewStub(channel_);
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kRpcTimeout));
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_OK(
        FromGrpc(health->Check(&context, grpc::health::v1::HealthCheckRequest(),
                               &response),
                 "Health.Check"));
    EXPECT_EQ(response.status(),
              grpc::health::v1::HealthCheckResponse::SERVING);
  }
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kRpcTimeout));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("no.such.Service");
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = health->Check(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
        << status.error_message();
  }

  // Watch answers the current status at once, and stays open...
  grpc::ClientContext watch_context;
  watch_context.set_deadline(absl::ToChronoTime(absl::Now() + kRpcTimeout));
  auto watch =
      health->Watch(&watch_context, grpc::health::v1::HealthCheckRequest());
  grpc::health::v1::HealthCheckResponse watched;
  ASSERT_TRUE(watch->Read(&watched));
  EXPECT_EQ(watched.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  // ... and does not hold up a SIGTERM: the controller exits cleanly and
  // promptly, and the watcher hears NOT_SERVING or sees the stream end.
  const absl::Time stopping = absl::Now();
  absl::StatusOr<int> status = controller_->Stop(SIGTERM, absl::Seconds(5));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << netns::DescribeWaitStatus(*status);
  std::cout << "[ timing ] controller with a health watcher: SIGTERM -> exit "
            << absl::Now() - stopping << "\n";
  while (watch->Read(&watched)) {
    EXPECT_EQ(watched.status(),
              grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  }
  grpc::Status ended = watch->Finish();
  EXPECT_NE(ended.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << "the watch outlived the controller";
}

}  // namespace
}  // namespace switchyard
