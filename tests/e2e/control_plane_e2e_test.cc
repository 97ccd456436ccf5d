// SPDX-License-Identifier: Apache-2.0
// The control plane end to end, with the project's real binaries: the test
// writes cluster state through yard-controller's ClusterState API, a
// yard-agent in the node's namespace programs the pinned maps, and pods
// send real traffic through the ClusterIP. Processes are killed and
// restarted to check that forwarding never depends on either being up.
//
//   test ── ClusterState ──> yard-controller, mutual TLS on 172.31.254.1:7800
//   (the test's own namespace, a writer's certificate)
//                                  │ AgentSync over mgmt0 (control_network.h)
//   node namespace:            yard-agent  (maps: /sys/fs/bpf/ysy<pid>-cp/)
//     client 10.244.0.10 ─ eth0 ══ ycclient ┐
//     be1    10.244.0.11 ─ eth0 ══ ycbe1    ├ node (ip_forward, 10.244.0.1
//     be2    10.244.0.12 ─ eth0 ══ ycbe2    ┘  on every veth, /32 per pod)
//
// Service default/web: TCP 80 "http" -> 8080, UDP 53 "dns" -> 5353, its
// ClusterIP allocated by the controller; EndpointSlice default/web-1 lists
// the backends. Nothing is routed to or from the host's interfaces: the
// controller's TCP port is in the test process's own namespace and every
// device is in a namespace the test made.
#include <grpcpp/grpcpp.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/common/errno_status.h"
#include "control/common/ipv4.h"
#include "control/common/scoped_fd.h"
#include "control/kernel/abi.h"
#include "control/kernel/datapath_maps.h"
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

using e2e::Exchange;
using e2e::FromGrpc;
using e2e::IdentityServer;
using e2e::MustConnect;
using e2e::ReadFile;
using e2e::RemoveOnExit;
using e2e::Reply;
using e2e::SockAddr;
using e2e::Tail;

// Start-up, programming and RPC bounds: e2e::kStartTimeout,
// e2e::kProgramTimeout, e2e::kRpcTimeout (tests/e2e/support/daemons.h).
using e2e::kProgramTimeout;
using e2e::kRpcTimeout;
using e2e::kStartTimeout;
// The agent retries with backoff capped at 5 s (+20% jitter): a restarted
// controller is seen within one capped delay plus a connect.
constexpr absl::Duration kReconnectTimeout = absl::Seconds(10);
constexpr absl::Duration kConnectTimeout = absl::Seconds(2);
// How long test 5 keeps the controller away: longer than the agent's first
// few backoff steps, so the reconnect really goes through backoff.
constexpr absl::Duration kControllerAway = absl::Seconds(3);
// Between two looks at the maps or at the controller's node table.
constexpr absl::Duration kPoll = absl::Milliseconds(2);

constexpr char kNodeName[] = "node-a";
constexpr char kNamespace[] = "default";
constexpr char kServiceName[] = "web";
constexpr char kSliceName[] = "web-1";
constexpr char kGateway[] = "10.244.0.1";
constexpr uint16_t kTcpPort = 80, kTcpTargetPort = 8080;
constexpr uint16_t kUdpPort = 53, kUdpTargetPort = 5353;

struct PodSpec {
  const char* name;      // namespace name (after the process prefix)
  const char* ip;        // eth0 address (/32)
  const char* host_dev;  // node side of its veth, matched by kPodInterfaces
  const char* identity;  // what its servers answer with
};
constexpr PodSpec kClientPod = {"client", "10.244.0.10", "ycclient", ""};
constexpr PodSpec kBackendPods[2] = {
    {"be1", "10.244.0.11", "ycbe1", "backend-1"},
    {"be2", "10.244.0.12", "ycbe2", "backend-2"},
};
constexpr char kPodInterfaces[] = "yc*";

// Scratch folders are "ysy<pid>-cp", named like the namespaces.
constexpr char kScratchTag[] = "cp";

uint32_t Ip(absl::string_view text) { return ParseIpv4(text).value(); }

// The id the kernel gave a map: the same id means the same map object, so
// a restarted agent that adopted its maps shows the ids it found.
absl::StatusOr<uint32_t> MapId(int fd) {
  bpf_map_info info = {};
  union bpf_attr attr = {};
  attr.info.bpf_fd = fd;
  attr.info.info_len = sizeof(info);
  attr.info.info = reinterpret_cast<uint64_t>(&info);
  if (syscall(__NR_bpf, BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr)) != 0) {
    return ErrnoStatus(errno, "BPF_OBJ_GET_INFO_BY_FD");
  }
  return info.id;
}

// ---------------------------------------------------------------------------
// The maps as text, one sorted line per entry: comparable whatever order a
// hash map dumps in, and readable in a failure message.

struct MapContents {
  std::vector<std::string> frontends, slots, backends, rev_nat;
  // svc4 key -> value, for lookups by the tests.
  std::map<std::string, yard_svc_value> by_frontend;
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> slot_to_backend;
  std::map<uint32_t, yard_backend4> backend_by_id;

  bool operator==(const MapContents& other) const {
    return frontends == other.frontends && slots == other.slots &&
           backends == other.backends && rev_nat == other.rev_nat;
  }
};

std::string FrontendName(uint32_t addr_be, uint16_t port_be, uint8_t proto) {
  return absl::StrCat(FormatIpv4(addr_be), ":", ntohs(port_be), "/",
                      proto == IPPROTO_TCP   ? "TCP"
                      : proto == IPPROTO_UDP ? "UDP"
                                             : absl::StrCat(proto));
}

std::ostream& operator<<(std::ostream& out, const MapContents& m) {
  out << "frontends:\n";
  for (const std::string& line : m.frontends) out << "  " << line << "\n";
  out << "slots:\n";
  for (const std::string& line : m.slots) out << "  " << line << "\n";
  out << "backends:\n";
  for (const std::string& line : m.backends) out << "  " << line << "\n";
  out << "rev_nat:\n";
  for (const std::string& line : m.rev_nat) out << "  " << line << "\n";
  return out;
}

absl::StatusOr<MapContents> ReadMaps(const kernel::DatapathMaps& maps) {
  MapContents m;
  auto frontends = maps.DumpFrontends();
  if (!frontends.ok()) return frontends.status();
  for (const auto& [key, value] : *frontends) {
    std::string name = FrontendName(key.addr, key.port, key.proto);
    m.frontends.push_back(absl::StrCat(name, " -> svc ", value.svc_id, " rnat ",
                                       value.rev_nat_id, " count ", value.count,
                                       " flags ", value.flags));
    m.by_frontend[name] = value;
  }
  auto slots = maps.DumpSlots();
  if (!slots.ok()) return slots.status();
  for (const auto& [key, value] : *slots) {
    m.slots.push_back(absl::StrCat("svc ", key.svc_id, " slot ", key.slot,
                                   " -> backend ", value.backend_id));
    m.slot_to_backend[{key.svc_id, key.slot}] = value.backend_id;
  }
  auto backends = maps.DumpBackends();
  if (!backends.ok()) return backends.status();
  for (const auto& [id, backend] : *backends) {
    m.backends.push_back(absl::StrCat(id, ": ", FormatIpv4(backend.addr), ":",
                                      ntohs(backend.port), " state ",
                                      backend.state));
    m.backend_by_id[id] = backend;
  }
  auto rev_nat = maps.DumpRevNat();
  if (!rev_nat.ok()) return rev_nat.status();
  for (const auto& [id, frontend] : *rev_nat) {
    m.rev_nat.push_back(absl::StrCat(id, ": ", FormatIpv4(frontend.addr), ":",
                                     ntohs(frontend.port)));
  }
  for (auto* list : {&m.frontends, &m.slots, &m.backends, &m.rev_nat}) {
    std::sort(list->begin(), list->end());
  }
  return m;
}

// The backends (ip:port) new flows to a frontend choose from: slots
// 1..count of its svc_id, resolved. Empty when the frontend is absent.
std::set<std::string> ChosenBackends(const MapContents& m,
                                     const std::string& frontend) {
  std::set<std::string> out;
  auto it = m.by_frontend.find(frontend);
  if (it == m.by_frontend.end()) return out;
  for (uint32_t slot = 1; slot <= it->second.count; ++slot) {
    auto s = m.slot_to_backend.find({it->second.svc_id, slot});
    if (s == m.slot_to_backend.end()) {
      out.insert(absl::StrCat("<slot ", slot, " missing>"));
      continue;
    }
    auto b = m.backend_by_id.find(s->second);
    if (b == m.backend_by_id.end()) {
      out.insert(absl::StrCat("<backend ", s->second, " missing>"));
      continue;
    }
    out.insert(
        absl::StrCat(FormatIpv4(b->second.addr), ":", ntohs(b->second.port)));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Cluster objects

v1::Object WebService(const std::string& cluster_ip = "") {
  v1::Object object;
  v1::Service& service = *object.mutable_service();
  service.mutable_metadata()->set_name(kServiceName);
  service.mutable_metadata()->set_namespace_(kNamespace);
  service.mutable_spec()->set_type("ClusterIP");
  service.mutable_spec()->set_cluster_ip(cluster_ip);
  v1::ServicePort* http = service.mutable_spec()->add_ports();
  http->set_name("http");
  http->set_protocol("TCP");
  http->set_port(kTcpPort);
  http->mutable_target_port()->set_number(kTcpTargetPort);
  v1::ServicePort* dns = service.mutable_spec()->add_ports();
  dns->set_name("dns");
  dns->set_protocol("UDP");
  dns->set_port(kUdpPort);
  dns->mutable_target_port()->set_number(kUdpTargetPort);
  return object;
}

// The slice of `web`, listing the backend pods with the given indexes.
v1::Object WebSlice(const std::vector<int>& backends) {
  v1::Object object;
  v1::EndpointSlice& slice = *object.mutable_endpoint_slice();
  slice.mutable_metadata()->set_name(kSliceName);
  slice.mutable_metadata()->set_namespace_(kNamespace);
  (*slice.mutable_metadata()->mutable_labels())["kubernetes.io/service-name"] =
      kServiceName;
  slice.set_address_type("IPv4");
  for (int i : backends) {
    v1::Endpoint* endpoint = slice.add_endpoints();
    endpoint->add_addresses(kBackendPods[i].ip);
    endpoint->mutable_conditions()->set_ready(true);
    endpoint->set_node_name(kNodeName);
  }
  v1::EndpointPort* http = slice.add_ports();
  http->set_name("http");
  http->set_protocol("TCP");
  http->set_port(kTcpTargetPort);
  v1::EndpointPort* dns = slice.add_ports();
  dns->set_name("dns");
  dns->set_protocol("UDP");
  dns->set_port(kUdpTargetPort);
  return object;
}

v1::ObjectRef WebRef() {
  v1::ObjectRef ref;
  ref.set_kind(v1::KIND_SERVICE);
  ref.set_namespace_(kNamespace);
  ref.set_name(kServiceName);
  return ref;
}

std::string BackendAddress(int i, uint16_t port) {
  return absl::StrCat(kBackendPods[i].ip, ":", port);
}

// ---------------------------------------------------------------------------

struct Pod {
  const PodSpec* spec = nullptr;
  std::unique_ptr<netns::Namespace> ns;
};

using Hits = std::map<std::string, int>;  // backend identity -> connections

// Established once per test, process by process: with gtest_discover_tests
// every test is its own process, so each gets a fresh controller, agent,
// state and pins.
// Defined below, with the tests that use it.
absl::Status WaitForLog(const std::string& path, absl::string_view needle,
                        absl::Duration timeout);

class ControlPlaneTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_OK(e2e::RemoveStaleLeftovers(kScratchTag));
  }

  void SetUp() override {
    work_dir_ = e2e::ScratchWorkDir(kScratchTag);
    pin_root_ = e2e::ScratchPinRoot(kScratchTag);
    pin_dir_ = absl::StrCat(pin_root_, "/", kNodeName);
    controller_address_ =
        absl::StrCat(e2e::kTestControlIp, ":", e2e::kControllerPort);
    // Registered before either exists, so they go even if SetUp fails
    // halfway; removed after every process (declared first, destroyed
    // last).
    cleanup_.Add(work_dir_);
    cleanup_.Add(pin_root_);
    ASSERT_OK(e2e::FreshScratch(work_dir_, pin_root_));

    absl::StatusOr<std::unique_ptr<e2e::ControlNetwork>> network =
        e2e::ControlNetwork::Create();
    ASSERT_TRUE(network.ok()) << network.status();
    control_network_ = *std::move(network);
    absl::StatusOr<std::unique_ptr<pki::TestPki>> pki =
        e2e::MakeControlPki({e2e::kTestControlIp}, {kNodeName});
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
    ASSERT_OK(BuildTopology());
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<std::unique_ptr<IdentityServer>> server =
          IdentityServer::Start(*backends_[i].ns, kBackendPods[i].identity,
                                kTcpTargetPort, kUdpTargetPort);
      ASSERT_TRUE(server.ok()) << server.status();
      servers_[i] = *std::move(server);
    }
    ASSERT_OK(StartController());
    ASSERT_OK(StartAgent());
  }

  void TearDown() override {
    if (!HasFailure()) return;
    std::error_code ec;
    for (const auto& entry :
         std::filesystem::directory_iterator(work_dir_, ec)) {
      if (entry.path().extension() != ".log") continue;
      std::cerr << "---- last lines of " << entry.path().filename() << "\n"
                << Tail(ReadFile(entry.path()), 40) << "\n";
    }
    absl::StatusOr<kernel::DatapathMaps> maps =
        kernel::DatapathMaps::OpenPinned(pin_dir_);
    if (maps.ok()) {
      absl::StatusOr<MapContents> m = ReadMaps(*maps);
      if (m.ok()) std::cerr << "---- maps at failure\n" << *m;
    }
  }

  // -- topology -------------------------------------------------------------

  absl::Status BuildTopology() {
    absl::StatusOr<std::unique_ptr<netns::Namespace>> node =
        e2e::CreateNode("node");
    if (!node.ok()) return node.status();
    node_ = *std::move(node);
    if (absl::Status s = control_network_->Join(*node_).status(); !s.ok()) {
      return s;
    }
    client_.spec = &kClientPod;
    for (int i = 0; i < 2; ++i) backends_[i].spec = &kBackendPods[i];
    for (Pod* pod : {&client_, &backends_[0], &backends_[1]}) {
      if (absl::Status s = AddPod(*pod); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status AddPod(Pod& pod) {
    const PodSpec& spec = *pod.spec;
    absl::StatusOr<std::unique_ptr<netns::Namespace>> ns =
        e2e::CreatePod(*node_, spec.name, spec.host_dev, spec.ip, kGateway);
    if (!ns.ok()) return ns.status();
    pod.ns = *std::move(ns);
    return absl::OkStatus();
  }

  // -- processes ------------------------------------------------------------

  std::string LogPath(absl::string_view name) const {
    return absl::StrCat(work_dir_, "/", name, ".log");
  }

  // Starts yard-controller on its address and state dir (same ones on
  // every restart) and points stub_ at it.
  absl::Status StartController() {
    ++controller_starts_;
    absl::StatusOr<std::unique_ptr<netns::ChildProcess>> child =
        netns::ChildProcess::Start({
            .argv = e2e::ControllerArgv(controller_address_,
                                        e2e::ControllerTls(*pki_),
                                        absl::StrCat(work_dir_, "/state")),
            .log_path =
                LogPath(absl::StrCat("controller-", controller_starts_)),
        });
    if (!child.ok()) return child.status();
    controller_ = *std::move(child);
    // The port accepts once the store is loaded and the server bound.
    const absl::Time deadline = absl::Now() + kStartTimeout;
    if (absl::Status s = e2e::WaitForControllerPort(
            controller_address_, *controller_, deadline, kPoll);
        !s.ok()) {
      return s;
    }
    stub_ = v1::ClusterState::NewStub(
        e2e::ControllerChannel(controller_address_, e2e::WriterTls(*pki_)));
    return e2e::FirstCall(*stub_, deadline);
  }

  // Starts yard-agent in the node's namespace and waits until the
  // controller sees its watch stream. `controllers`, if given, replaces
  // the --controller flag's value (a failover list).
  absl::Status StartAgent(const std::string& controllers = "",
                          const std::string& features_off = "") {
    ++agent_starts_;
    std::vector<std::string> argv =
        e2e::AgentArgv({.node_name = kNodeName,
                        .controller = controller_address_,
                        .tls = e2e::NodeTls(*pki_, kNodeName),
                        .bpffs_root = pin_root_,
                        .pod_interfaces = kPodInterfaces});
    for (std::string& arg : argv) {
      if (!controllers.empty() && absl::StartsWith(arg, "--controller=")) {
        arg = absl::StrCat("--controller=", controllers);
      }
    }
    if (!features_off.empty()) {
      argv.push_back(absl::StrCat("--datapath_features_off=", features_off));
    }
    absl::StatusOr<std::unique_ptr<netns::ChildProcess>> child =
        netns::ChildProcess::Start({
            .argv = std::move(argv),
            .log_path = AgentLog(),
            .netns = node_->name(),
        });
    if (!child.ok()) return child.status();
    agent_ = *std::move(child);
    return e2e::WaitAgentConnected(*stub_, *agent_, kNodeName,
                                   absl::Now() + kStartTimeout, kPoll,
                                   kRpcTimeout);
  }

  std::string AgentLog() const {
    return LogPath(absl::StrCat("agent-", agent_starts_));
  }

  // -- the controller's API -------------------------------------------------

  absl::StatusOr<v1::ApplyResponse> Apply(std::vector<v1::Object> objects) {
    v1::ApplyRequest request;
    for (v1::Object& object : objects) {
      *request.add_objects() = std::move(object);
    }
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kRpcTimeout));
    v1::ApplyResponse response;
    if (absl::Status s =
            FromGrpc(stub_->Apply(&context, request, &response), "Apply");
        !s.ok()) {
      return s;
    }
    return response;
  }

  absl::StatusOr<v1::GetResponse> GetWeb() {
    v1::GetRequest request;
    *request.mutable_ref() = WebRef();
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kRpcTimeout));
    v1::GetResponse response;
    if (absl::Status s =
            FromGrpc(stub_->Get(&context, request, &response), "Get");
        !s.ok()) {
      return s;
    }
    return response;
  }

  absl::StatusOr<v1::ListNodeSyncResponse> ListNodeSync() {
    return e2e::ListNodeSync(*stub_, kRpcTimeout);
  }

  // node-a's row in the controller's table; NotFound until it connected.
  absl::StatusOr<v1::NodeSync> NodeSync() {
    return e2e::FindNodeSync(*stub_, kNodeName, kRpcTimeout);
  }

  // Waits until the agent, connected, has acknowledged `version`: then
  // the maps hold it (the agent acks after programming).
  absl::Status WaitAcked(uint64_t version, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    absl::StatusOr<v1::NodeSync> node;
    for (;;) {
      node = NodeSync();
      if (node.ok() && node->connected() && node->acked_version() >= version) {
        return absl::OkStatus();
      }
      if (absl::Now() > deadline) break;
      absl::SleepFor(kPoll);
    }
    return absl::DeadlineExceededError(absl::StrCat(
        "node-a did not ack version ", version, " within ",
        absl::FormatDuration(timeout), "; last: ",
        node.ok() ? node->ShortDebugString() : node.status().ToString()));
  }

  // A second controller B (the next port, its own state) holding web at
  // `ip` with backends 0 and 1, as A does; then the agent restarted to
  // watch A, then B, and in sync with A.
  struct SecondController {
    std::unique_ptr<netns::ChildProcess> process;
    std::unique_ptr<v1::ClusterState::Stub> stub;
    std::string address;
    v1::ApplyResponse applied;  // B's answer to the write
  };
  absl::StatusOr<SecondController> StartSecondController(
      const std::string& ip) {
    SecondController b;
    b.address =
        absl::StrCat(e2e::kTestControlIp, ":", e2e::kControllerPort + 1);
    absl::StatusOr<std::unique_ptr<netns::ChildProcess>> process =
        netns::ChildProcess::Start({
            .argv = e2e::ControllerArgv(b.address, e2e::ControllerTls(*pki_),
                                        absl::StrCat(work_dir_, "/state-b")),
            .log_path = LogPath("controller-b"),
        });
    if (!process.ok()) return process.status();
    b.process = *std::move(process);
    if (absl::Status s = e2e::WaitForControllerPort(
            b.address, *b.process, absl::Now() + kStartTimeout, kPoll);
        !s.ok()) {
      return s;
    }
    b.stub = v1::ClusterState::NewStub(
        e2e::ControllerChannel(b.address, e2e::WriterTls(*pki_)));
    if (absl::Status s = e2e::FirstCall(*b.stub, absl::Now() + kStartTimeout);
        !s.ok()) {
      return s;
    }
    std::swap(stub_, b.stub);  // Apply() goes to B for now
    absl::StatusOr<v1::ApplyResponse> applied =
        Apply({WebService(ip), WebSlice({0, 1})});
    std::swap(stub_, b.stub);
    if (!applied.ok()) return applied.status();
    b.applied = *std::move(applied);
    if (absl::Status s = agent_->Stop(SIGTERM, absl::Seconds(5)).status();
        !s.ok()) {
      return s;
    }
    if (absl::Status s =
            StartAgent(absl::StrCat(controller_address_, ",", b.address));
        !s.ok()) {
      return s;
    }
    if (absl::Status s =
            WaitForLog(AgentLog(), "applied version", kProgramTimeout);
        !s.ok()) {
      return s;
    }
    return b;
  }

  // Applies web (allocating its ClusterIP) with the given backends, waits
  // for the agent, and returns the ClusterIP.
  absl::StatusOr<std::string> ApplyWeb(const std::vector<int>& backends) {
    absl::StatusOr<v1::ApplyResponse> applied =
        Apply({WebService(), WebSlice(backends)});
    if (!applied.ok()) return applied.status();
    if (absl::Status s = WaitAcked(applied->version(), kProgramTimeout);
        !s.ok()) {
      return s;
    }
    return applied->objects(0).service().spec().cluster_ip();
  }

  // -- maps -----------------------------------------------------------------

  // Opened afresh each time, by path: what a CLI sees, and immune to a
  // descriptor kept on a map the agent might have replaced.
  absl::StatusOr<MapContents> Maps() {
    absl::StatusOr<kernel::DatapathMaps> maps =
        kernel::DatapathMaps::OpenPinned(pin_dir_);
    if (!maps.ok()) return maps.status();
    return ReadMaps(*maps);
  }

  // -- traffic --------------------------------------------------------------

  // n new TCP connections from the client to ip:80, one exchange each;
  // every backend must see the client's own address (no source NAT).
  absl::StatusOr<Hits> TcpHits(const std::string& ip, int n) {
    const sockaddr_in service = SockAddr(ip, kTcpPort);
    return client_.ns->Run([&]() -> absl::StatusOr<Hits> {
      Hits hits;
      for (int i = 0; i < n; ++i) {
        absl::StatusOr<ScopedFd> fd = MustConnect(service, kConnectTimeout);
        if (!fd.ok()) return fd.status();
        absl::StatusOr<std::string> local = e2e::SockName(fd->get());
        if (!local.ok()) return local.status();
        absl::StatusOr<Reply> reply = Exchange(fd->get(), "hello\n");
        if (!reply.ok()) {
          return absl::Status(reply.status().code(),
                              absl::StrCat("tcp connection ", i, ": ",
                                           reply.status().message()));
        }
        if (reply->peer != *local) {
          return absl::InternalError(
              absl::StrCat("tcp connection ", i, ": ", reply->identity, " saw ",
                           reply->peer, ", client is ", *local));
        }
        ++hits[reply->identity];
      }
      return hits;
    });
  }

  // n UDP flows (fresh source ports) to ip:53, one datagram each.
  absl::StatusOr<Hits> UdpHits(const std::string& ip, int n) {
    const sockaddr_in service = SockAddr(ip, kUdpPort);
    return client_.ns->Run([&]() -> absl::StatusOr<Hits> {
      Hits hits;
      for (int i = 0; i < n; ++i) {
        absl::StatusOr<ScopedFd> fd = e2e::UdpConnect(service);
        if (!fd.ok()) return fd.status();
        absl::StatusOr<std::string> local = e2e::SockName(fd->get());
        if (!local.ok()) return local.status();
        absl::StatusOr<Reply> reply = e2e::UdpExchange(fd->get(), "hello");
        if (!reply.ok()) {
          return absl::Status(
              reply.status().code(),
              absl::StrCat("udp flow ", i, ": ", reply.status().message()));
        }
        if (reply->peer != *local) {
          return absl::InternalError(
              absl::StrCat("udp flow ", i, ": ", reply->identity, " saw ",
                           reply->peer, ", client is ", *local));
        }
        ++hits[reply->identity];
      }
      return hits;
    });
  }

  // One connection kept open across a test, from the client to ip:80.
  absl::StatusOr<ScopedFd> OpenConnection(const std::string& ip) {
    const sockaddr_in service = SockAddr(ip, kTcpPort);
    return client_.ns->Run([&]() -> absl::StatusOr<ScopedFd> {
      return MustConnect(service, kConnectTimeout);
    });
  }

  static std::string Identity(int i) { return kBackendPods[i].identity; }

  // Declared first: destroyed after every process and namespace below.
  RemoveOnExit cleanup_;
  std::string work_dir_, pin_root_, pin_dir_, controller_address_;
  // Before the node: its veth goes with whichever is destroyed first.
  std::unique_ptr<e2e::ControlNetwork> control_network_;
  std::unique_ptr<pki::TestPki> pki_;
  std::unique_ptr<netns::Namespace> node_;
  Pod client_;
  Pod backends_[2];
  std::unique_ptr<IdentityServer> servers_[2];
  int controller_starts_ = 0;
  int agent_starts_ = 0;
  std::unique_ptr<netns::ChildProcess> controller_;
  std::unique_ptr<netns::ChildProcess> agent_;
  std::unique_ptr<v1::ClusterState::Stub> stub_;
};

std::string TcpFrontend(const std::string& ip) {
  return absl::StrCat(ip, ":", kTcpPort, "/TCP");
}
std::string UdpFrontend(const std::string& ip) {
  return absl::StrCat(ip, ":", kUdpPort, "/UDP");
}
std::string WildcardFrontend(const std::string& ip) {
  return absl::StrCat(ip, ":0/0");
}

// 1. A service and its slice, written through the API, become map entries
// and working forwarding.
TEST_F(ControlPlaneTest, AppliedServiceIsProgrammedAndForwards) {
  absl::StatusOr<kernel::DatapathMaps> maps =
      kernel::DatapathMaps::OpenPinned(pin_dir_);
  ASSERT_TRUE(maps.ok()) << maps.status();

  const absl::Time start = absl::Now();
  absl::StatusOr<v1::ApplyResponse> applied =
      Apply({WebService(), WebSlice({0, 1})});
  ASSERT_TRUE(applied.ok()) << applied.status();
  const absl::Duration apply_took = absl::Now() - start;
  const std::string ip = applied->objects(0).service().spec().cluster_ip();
  ASSERT_TRUE(ParseIpv4(ip).ok()) << "allocated clusterIP '" << ip << "'";

  // Time to the frontend (the last write of an add) showing both backends.
  const yard_svc4_key key =
      kernel::ServiceKey(Ip(ip), htons(kTcpPort), IPPROTO_TCP);
  std::optional<absl::Duration> programmed;
  while (absl::Now() - start < kProgramTimeout) {
    absl::StatusOr<std::optional<yard_svc_value>> value =
        maps->LookupFrontend(key);
    ASSERT_TRUE(value.ok()) << value.status();
    if (value->has_value() && (*value)->count == 2) {
      programmed = absl::Now() - start;
      break;
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_TRUE(programmed.has_value())
      << "frontend " << TcpFrontend(ip) << " not programmed within "
      << kProgramTimeout;
  ASSERT_OK(WaitAcked(applied->version(), kProgramTimeout));
  const absl::Duration acked = absl::Now() - start;
  std::cout << "[ timing ] Apply RPC " << apply_took
            << "; Apply -> frontend programmed " << *programmed
            << "; Apply -> agent ack seen " << acked << "\n";

  absl::StatusOr<MapContents> m = ReadMaps(*maps);
  ASSERT_TRUE(m.ok()) << m.status();
  SCOPED_TRACE(::testing::Message() << *m);
  ASSERT_TRUE(m->by_frontend.contains(TcpFrontend(ip)));
  ASSERT_TRUE(m->by_frontend.contains(UdpFrontend(ip)));
  ASSERT_TRUE(m->by_frontend.contains(WildcardFrontend(ip)));
  EXPECT_EQ(m->by_frontend[TcpFrontend(ip)].count, 2);
  EXPECT_EQ(m->by_frontend[UdpFrontend(ip)].count, 2);
  EXPECT_EQ(m->by_frontend[WildcardFrontend(ip)].count, 0);
  EXPECT_EQ(m->by_frontend[WildcardFrontend(ip)].flags, YARD_SVC_F_WILDCARD);
  EXPECT_EQ(m->frontends.size(), 3u);
  EXPECT_EQ(ChosenBackends(*m, TcpFrontend(ip)),
            (std::set<std::string>{BackendAddress(0, kTcpTargetPort),
                                   BackendAddress(1, kTcpTargetPort)}));
  EXPECT_EQ(ChosenBackends(*m, UdpFrontend(ip)),
            (std::set<std::string>{BackendAddress(0, kUdpTargetPort),
                                   BackendAddress(1, kUdpTargetPort)}));
  // Two endpoints on two ports: four distinct backends, nothing else.
  EXPECT_EQ(m->backends.size(), 4u);

  // P(20 uniform choices all missing one of two backends) = 2^-19.
  absl::StatusOr<Hits> tcp = TcpHits(ip, 20);
  ASSERT_TRUE(tcp.ok()) << tcp.status();
  EXPECT_GE((*tcp)[Identity(0)], 1);
  EXPECT_GE((*tcp)[Identity(1)], 1);
  EXPECT_EQ(tcp->size(), 2u);
  absl::StatusOr<Hits> udp = UdpHits(ip, 20);
  ASSERT_TRUE(udp.ok()) << udp.status();
  EXPECT_GE((*udp)[Identity(0)], 1);
  EXPECT_GE((*udp)[Identity(1)], 1);
  EXPECT_EQ(udp->size(), 2u);
}

// 2. Endpoints leave and come back through the API; deleting the service
// removes everything it had programmed.
TEST_F(ControlPlaneTest, EndpointChurnAndServiceDelete) {
  absl::StatusOr<std::string> ip = ApplyWeb({0, 1});
  ASSERT_TRUE(ip.ok()) << ip.status();

  // be2 leaves.
  absl::StatusOr<v1::ApplyResponse> applied = Apply({WebSlice({0})});
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_OK(WaitAcked(applied->version(), kProgramTimeout));
  absl::StatusOr<MapContents> m = Maps();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->by_frontend[TcpFrontend(*ip)].count, 1) << *m;
  EXPECT_EQ(ChosenBackends(*m, TcpFrontend(*ip)),
            (std::set<std::string>{BackendAddress(0, kTcpTargetPort)}))
      << *m;
  absl::StatusOr<Hits> hits = TcpHits(*ip, 20);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_EQ(*hits, (Hits{{Identity(0), 20}}));

  // be2 is back. P(30 new connections all missing it) = 2^-30.
  applied = Apply({WebSlice({0, 1})});
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_OK(WaitAcked(applied->version(), kProgramTimeout));
  m = Maps();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->by_frontend[TcpFrontend(*ip)].count, 2) << *m;
  hits = TcpHits(*ip, 30);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_GE((*hits)[Identity(0)], 1);
  EXPECT_GE((*hits)[Identity(1)], 1);

  // The service goes, and its slice with it (the store deletes a Service's
  // slices, as Kubernetes' garbage collector does): nothing stays
  // programmed.
  v1::DeleteRequest request;
  *request.add_refs() = WebRef();
  v1::DeleteResponse deleted;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kRpcTimeout));
  ASSERT_OK(FromGrpc(stub_->Delete(&context, request, &deleted), "Delete"));
  ASSERT_OK(WaitAcked(deleted.version(), kProgramTimeout));
  m = Maps();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->frontends.empty()) << *m;
  EXPECT_TRUE(m->slots.empty()) << *m;
  // Its endpoints are no longer listed: retired, kept only for flows
  // that may still be pinned to them (and for their return).
  for (const std::string& backend : m->backends) {
    EXPECT_TRUE(absl::EndsWith(
        backend, absl::StrCat(" state ", int{YARD_BACKEND_RETIRED})))
        << *m;
  }
  EXPECT_TRUE(m->rev_nat.empty()) << *m;

  // Nothing serves the address now: the node has no route for it, so the
  // connect ends in an error (unreachable, or at worst the timeout).
  const sockaddr_in service = SockAddr(*ip, kTcpPort);
  absl::StatusOr<e2e::ConnectResult> refused =
      client_.ns->Run([&]() -> absl::StatusOr<e2e::ConnectResult> {
        return e2e::ConnectTcp(service, kConnectTimeout);
      });
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_NE(refused->error, 0) << "connected to a deleted service";
  std::cout << "[ info   ] connect to the deleted service: "
            << strerror(refused->error) << " after " << refused->took << "\n";
  EXPECT_TRUE(agent_->Running());
  EXPECT_TRUE(controller_->Running());
}

// Watches the TCP frontend of `ip` by path while the agent restarts: the
// pin must never vanish, never point at another map, never lose a
// backend. Stopped and joined on destruction.
class FrontendWatcher {
 public:
  FrontendWatcher(std::string pin_dir, const std::string& ip, uint32_t map_id,
                  uint16_t count)
      : pin_dir_(std::move(pin_dir)),
        key_(kernel::ServiceKey(Ip(ip), htons(kTcpPort), IPPROTO_TCP)),
        map_id_(map_id),
        count_(count),
        thread_([this] { Watch(); }) {}
  ~FrontendWatcher() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int checks() const { return checks_; }
  // Waits until n more checks have run from now.
  absl::Status WaitForChecks(int n) {
    const int target = checks_ + n;
    const absl::Time deadline = absl::Now() + absl::Seconds(2);
    while (checks_ < target) {
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError("the frontend watcher is stuck");
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
    return absl::OkStatus();
  }
  int bad() const { return bad_; }
  const std::string& first_problem() const { return first_problem_; }

 private:
  // A bound on its own, should the test's Stop() never come.
  static constexpr absl::Duration kMaxWatch = absl::Seconds(30);

  void Watch() {
    const absl::Time give_up = absl::Now() + kMaxWatch;
    while (!stop_ && absl::Now() < give_up) {
      std::string problem = Check();
      ++checks_;
      if (!problem.empty()) {
        if (bad_++ == 0) first_problem_ = problem;
      }
      absl::SleepFor(absl::Microseconds(500));
    }
  }

  std::string Check() {
    absl::StatusOr<kernel::DatapathMaps> maps =
        kernel::DatapathMaps::OpenPinned(pin_dir_);
    if (!maps.ok()) return maps.status().ToString();
    absl::StatusOr<uint32_t> id = MapId(maps->svc4_fd());
    if (!id.ok()) return id.status().ToString();
    if (*id != map_id_) return absl::StrCat("svc4 map is now id ", *id);
    absl::StatusOr<std::optional<yard_svc_value>> value =
        maps->LookupFrontend(key_);
    if (!value.ok()) return value.status().ToString();
    if (!value->has_value()) return "frontend missing";
    if ((*value)->count != count_) {
      return absl::StrCat("frontend count ", (*value)->count);
    }
    return "";
  }

  const std::string pin_dir_;
  const yard_svc4_key key_;
  const uint32_t map_id_;
  const uint16_t count_;
  std::atomic<bool> stop_{false};
  std::atomic<int> checks_{0};
  std::atomic<int> bad_{0};
  std::string first_problem_;  // written by the thread, read after Stop()
  std::thread thread_;
};

// Waits until `path` holds `needle`: how the test knows the restarted
// agent has programmed its first snapshot (its ack names a version the
// controller already had acked, so the node table cannot tell).
absl::Status WaitForLog(const std::string& path, absl::string_view needle,
                        absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!absl::StrContains(ReadFile(path), needle)) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("'", needle, "' not in ", path));
    }
    absl::SleepFor(kPoll);
  }
  return absl::OkStatus();
}

// 3. The agent dies and comes back: forwarding never stops, the maps are
// adopted as they are, and the new agent programs later changes.
TEST_F(ControlPlaneTest, AgentRestartKeepsMapsAndConnections) {
  absl::StatusOr<std::string> ip = ApplyWeb({0, 1});
  ASSERT_TRUE(ip.ok()) << ip.status();
  absl::StatusOr<MapContents> before = Maps();
  ASSERT_TRUE(before.ok()) << before.status();
  absl::StatusOr<kernel::DatapathMaps> handle =
      kernel::DatapathMaps::OpenPinned(pin_dir_);
  ASSERT_TRUE(handle.ok()) << handle.status();
  absl::StatusOr<uint32_t> map_id = MapId(handle->svc4_fd());
  ASSERT_TRUE(map_id.ok()) << map_id.status();

  absl::StatusOr<ScopedFd> conn = OpenConnection(*ip);
  ASSERT_TRUE(conn.ok()) << conn.status();
  absl::StatusOr<Reply> first = Exchange(conn->get(), "hello\n");
  ASSERT_TRUE(first.ok()) << first.status();
  const int kept = first->identity == Identity(0) ? 0 : 1;
  ASSERT_EQ(first->identity, Identity(kept));
  auto established_works = [&](absl::string_view when) {
    absl::StatusOr<Reply> reply = Exchange(conn->get(), "again\n");
    ASSERT_TRUE(reply.ok()) << when << ": " << reply.status();
    EXPECT_EQ(reply->identity, Identity(kept)) << when;
  };

  FrontendWatcher watcher(pin_dir_, *ip, *map_id, 2);
  const absl::Time killed = absl::Now();
  absl::StatusOr<int> status = agent_->Stop(SIGKILL, absl::Seconds(5));
  ASSERT_TRUE(status.ok()) << status.status();
  // The watcher must have looked while no agent existed at all.
  ASSERT_OK(watcher.WaitForChecks(3));

  // Nothing runs the control plane on the node now.
  established_works("agent down");
  absl::StatusOr<Hits> hits = TcpHits(*ip, 5);
  ASSERT_TRUE(hits.ok()) << "new connections, agent down: " << hits.status();

  ASSERT_OK(StartAgent());
  ASSERT_OK(WaitForLog(AgentLog(), "applied version", kProgramTimeout));
  const absl::Duration gap = absl::Now() - killed;
  // ... and after the new agent reconciled its first snapshot.
  ASSERT_OK(watcher.WaitForChecks(3));
  watcher.Stop();
  std::cout << "[ timing ] agent SIGKILL -> new agent programmed its snapshot "
            << gap << "; frontend checked " << watcher.checks()
            << " times meanwhile\n";
  EXPECT_EQ(watcher.bad(), 0) << "first problem: " << watcher.first_problem();

  absl::StatusOr<MapContents> after = Maps();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, *before) << "before:\n" << *before << "after:\n" << *after;
  established_works("agent restarted");

  // The other backend leaves: programmed by the new agent, the kept
  // connection unaffected.
  absl::StatusOr<v1::ApplyResponse> applied = Apply({WebSlice({kept})});
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_OK(WaitAcked(applied->version(), kProgramTimeout));
  absl::StatusOr<MapContents> changed = Maps();
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->by_frontend[TcpFrontend(*ip)].count, 1) << *changed;
  hits = TcpHits(*ip, 10);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_EQ(*hits, (Hits{{Identity(kept), 10}}));
  established_works("after the change");
}

// 3b. The stack bypass switched off and on again by restarting the agent,
// under a live TCP connection and UDP flow: both keep their endpoint
// through every switch, and the pinned counters show the bypass carrying
// them only while it is on.
TEST_F(ControlPlaneTest, StackBypassSwitchedAtRestartKeepsFlows) {
  if (const char* off = getenv("YARD_DATAPATH_FEATURES_OFF");
      off != nullptr && *off != '\0') {
    GTEST_SKIP() << "features forced off by the environment: " << off;
  }
  absl::StatusOr<std::string> ip = ApplyWeb({0, 1});
  ASSERT_TRUE(ip.ok()) << ip.status();
  absl::StatusOr<ScopedFd> tcp = OpenConnection(*ip);
  ASSERT_TRUE(tcp.ok()) << tcp.status();
  absl::StatusOr<ScopedFd> udp =
      client_.ns->Run([&] { return e2e::UdpConnect(SockAddr(*ip, kUdpPort)); });
  ASSERT_TRUE(udp.ok()) << udp.status();
  std::string tcp_identity, udp_identity;
  auto exchange = [&](absl::string_view when) {
    absl::StatusOr<Reply> t = Exchange(tcp->get(), "again\n");
    ASSERT_TRUE(t.ok()) << when << ", TCP: " << t.status();
    absl::StatusOr<Reply> u = e2e::UdpExchange(udp->get(), "again");
    ASSERT_TRUE(u.ok()) << when << ", UDP: " << u.status();
    if (tcp_identity.empty()) {
      tcp_identity = t->identity;
      udp_identity = u->identity;
    }
    EXPECT_EQ(t->identity, tcp_identity) << when;
    EXPECT_EQ(u->identity, udp_identity) << when;
  };
  // Packets sent straight into a pod so far (pinned: every agent's).
  auto bypassed = [&]() -> uint64_t {
    absl::StatusOr<kernel::DatapathMaps> maps =
        kernel::DatapathMaps::OpenPinned(pin_dir_);
    EXPECT_TRUE(maps.ok()) << maps.status();
    if (!maps.ok()) return 0;
    absl::StatusOr<yard_counter> c =
        maps->ReasonCounter(YARD_REASON_BYPASS_PEER);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? c->packets : 0;
  };
  auto restart = [&](const std::string& features_off) {
    absl::StatusOr<int> status = agent_->Stop(SIGKILL, absl::Seconds(5));
    ASSERT_TRUE(status.ok()) << status.status();
    ASSERT_OK(StartAgent("", features_off));
    ASSERT_OK(WaitForLog(AgentLog(), "applied version", kProgramTimeout));
  };

  ASSERT_NO_FATAL_FAILURE(exchange("bypass on"));
  const uint64_t on = bypassed();
  EXPECT_GE(on, 4u) << "request and reply, TCP and UDP, into the pods";

  ASSERT_NO_FATAL_FAILURE(restart("stack_bypass"));
  const uint64_t off_before = bypassed();
  ASSERT_NO_FATAL_FAILURE(exchange("bypass switched off"));
  absl::StatusOr<Hits> hits = TcpHits(*ip, 4);
  ASSERT_TRUE(hits.ok()) << "bypass off: " << hits.status();
  EXPECT_EQ(bypassed(), off_before) << "bypassed although off";

  ASSERT_NO_FATAL_FAILURE(restart(""));
  const uint64_t on_again = bypassed();
  ASSERT_NO_FATAL_FAILURE(exchange("bypass switched on again"));
  EXPECT_GE(bypassed(), on_again + 4);
}

// 4. The controller restarts on its state dir: state, allocations and the
// agent's stream all come back.
TEST_F(ControlPlaneTest, ControllerRestartKeepsStateAndAgentReconnects) {
  absl::StatusOr<std::string> ip = ApplyWeb({0, 1});
  ASSERT_TRUE(ip.ok()) << ip.status();
  absl::StatusOr<v1::ListNodeSyncResponse> list = ListNodeSync();
  ASSERT_TRUE(list.ok()) << list.status();
  const uint64_t version = list->version();

  const absl::Time stopping = absl::Now();
  absl::StatusOr<int> status = controller_->Stop(SIGTERM, absl::Seconds(5));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << "controller " << netns::DescribeWaitStatus(*status) << " on SIGTERM";
  std::cout << "[ timing ] controller SIGTERM -> exited "
            << absl::Now() - stopping << "\n";

  const absl::Time restarted = absl::Now();
  ASSERT_OK(StartController());
  absl::StatusOr<v1::GetResponse> got = GetWeb();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->object().service().spec().cluster_ip(), *ip);
  EXPECT_EQ(got->version(), version);

  // The agent finds it again through its backoff, resumes, and acks.
  ASSERT_OK(WaitAcked(version, kReconnectTimeout));
  std::cout << "[ timing ] controller restart -> agent resynced "
            << absl::Now() - restarted << "\n";
  // A clean stop continues the history: the agent resumed, no snapshot.
  const std::string log =
      ReadFile(LogPath(absl::StrCat("controller-", controller_starts_)));
  EXPECT_TRUE(absl::StrContains(
      log, absl::StrCat("watching from version ", version, ": resumed")))
      << log;
  EXPECT_FALSE(absl::StrContains(log, "did not close cleanly")) << log;

  // Allocations were restored too: a new service gets another address.
  v1::Object other = WebService();
  other.mutable_service()->mutable_metadata()->set_name("web2");
  absl::StatusOr<v1::ApplyResponse> applied =
      Apply({std::move(other), WebSlice({0})});
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_GT(applied->version(), version);
  const std::string other_ip =
      applied->objects(0).service().spec().cluster_ip();
  EXPECT_NE(other_ip, *ip);
  ASSERT_OK(WaitAcked(applied->version(), kProgramTimeout));
  absl::StatusOr<MapContents> m = Maps();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->by_frontend[TcpFrontend(*ip)].count, 1) << *m;
  // web2 has no slice: its ports exist and reject.
  EXPECT_TRUE(m->by_frontend.contains(TcpFrontend(other_ip))) << *m;
  absl::StatusOr<Hits> hits = TcpHits(*ip, 10);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_EQ(*hits, (Hits{{Identity(0), 10}}));
}

// 5. The controller is away for a while: the dataplane keeps forwarding on
// its own, and the agent catches up once it is back.
TEST_F(ControlPlaneTest, DataplaneForwardsWhileControllerIsAway) {
  absl::StatusOr<std::string> ip = ApplyWeb({0, 1});
  ASSERT_TRUE(ip.ok()) << ip.status();

  absl::StatusOr<int> status = controller_->Stop(SIGKILL, absl::Seconds(5));
  ASSERT_TRUE(status.ok()) << status.status();
  const absl::Time gone = absl::Now();
  int connections = 0;
  Hits while_away;
  while (absl::Now() - gone < kControllerAway) {
    absl::StatusOr<Hits> hits = TcpHits(*ip, 1);
    ASSERT_TRUE(hits.ok()) << "connection " << connections
                           << " with the controller away: " << hits.status();
    for (const auto& [identity, n] : *hits) while_away[identity] += n;
    ++connections;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_GE(connections, 5);
  EXPECT_TRUE(agent_->Running());
  // Writes fail meanwhile, quickly and plainly.
  absl::StatusOr<v1::ApplyResponse> refused = Apply({WebSlice({0})});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable)
      << refused.status();

  const absl::Time back = absl::Now();
  ASSERT_OK(StartController());
  absl::StatusOr<v1::ApplyResponse> applied = Apply({WebSlice({1})});
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_OK(WaitAcked(applied->version(), kReconnectTimeout));
  // Killed, it may have streamed versions that never reached its disk:
  // it begins a new history, and the agent resyncs from a snapshot.
  const std::string log =
      ReadFile(LogPath(absl::StrCat("controller-", controller_starts_)));
  EXPECT_TRUE(absl::StrContains(log, "did not close cleanly")) << log;
  EXPECT_TRUE(absl::StrContains(log, "resumes from another controller's state"))
      << log;
  std::cout << "[ timing ] controller away " << back - gone << " ("
            << connections << " connections served); back -> change acked "
            << absl::Now() - back << "\n";
  absl::StatusOr<MapContents> m = Maps();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(ChosenBackends(*m, TcpFrontend(*ip)),
            (std::set<std::string>{BackendAddress(1, kTcpTargetPort)}))
      << *m;
  absl::StatusOr<Hits> hits = TcpHits(*ip, 10);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_EQ(*hits, (Hits{{Identity(1), 10}}));
}

// 6. A write the controller rejects changes nothing, anywhere; the
// rejection names the field, and the batch is all or nothing.
TEST_F(ControlPlaneTest, RejectedWriteChangesNothing) {
  absl::StatusOr<std::string> ip = ApplyWeb({0, 1});
  ASSERT_TRUE(ip.ok()) << ip.status();
  absl::StatusOr<v1::ListNodeSyncResponse> list = ListNodeSync();
  ASSERT_TRUE(list.ok()) << list.status();
  const uint64_t version = list->version();
  absl::StatusOr<MapContents> before = Maps();
  ASSERT_TRUE(before.ok()) << before.status();

  // A valid slice change batched with an invalid service.
  v1::Object bad = WebService(*ip);
  bad.mutable_service()->mutable_spec()->mutable_ports(0)->set_port(70000);
  absl::StatusOr<v1::ApplyResponse> applied = Apply({WebSlice({0}), bad});
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInvalidArgument)
      << applied.status();
  EXPECT_TRUE(
      absl::StrContains(applied.status().message(), "spec.ports[0].port"))
      << applied.status();
  EXPECT_TRUE(absl::StrContains(applied.status().message(), "70000"))
      << applied.status();

  list = ListNodeSync();
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->version(), version);
  absl::StatusOr<v1::GetResponse> got = GetWeb();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->object().service().spec().ports(0).port(), kTcpPort);

  // Were anything sent, the agent would have it well within this.
  absl::SleepFor(absl::Milliseconds(300));
  absl::StatusOr<v1::NodeSync> node = NodeSync();
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ(node->acked_version(), version);
  EXPECT_EQ(node->rejected_version(), 0u) << node->rejected_error();
  absl::StatusOr<MapContents> after = Maps();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, *before) << "before:\n" << *before << "after:\n" << *after;
  absl::StatusOr<Hits> hits = TcpHits(*ip, 20);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_EQ(hits->size(), 2u);
}

// 7. Two controllers with their own state dirs hold the same objects (as
// two replicas would); the agent watches A and A is killed. The agent
// moves to B at once; B, with another state id, sends a snapshot, which
// is reconciled without a single map write: nothing is flushed, the
// frontend never looks wrong, connections carry on. B's next change is
// programmed: no update is lost across the move.
TEST_F(ControlPlaneTest, FailoverToASecondControllerKeepsMapsAndConnections) {
  absl::StatusOr<std::string> ip = ApplyWeb({0, 1});
  ASSERT_TRUE(ip.ok()) << ip.status();

  // Controller B, given the same objects (the same ClusterIP); the agent,
  // restarted to watch A then B, adopts its maps and resyncs from A.
  absl::StatusOr<SecondController> second = StartSecondController(*ip);
  ASSERT_TRUE(second.ok()) << second.status();
  const std::string address_b = second->address;
  std::unique_ptr<netns::ChildProcess>& b = second->process;
  std::unique_ptr<v1::ClusterState::Stub>& stub_b = second->stub;
  const v1::ApplyResponse* on_b = &second->applied;
  absl::StatusOr<MapContents> before = Maps();
  ASSERT_TRUE(before.ok()) << before.status();
  absl::StatusOr<kernel::DatapathMaps> handle =
      kernel::DatapathMaps::OpenPinned(pin_dir_);
  ASSERT_TRUE(handle.ok()) << handle.status();
  absl::StatusOr<uint32_t> map_id = MapId(handle->svc4_fd());
  ASSERT_TRUE(map_id.ok()) << map_id.status();
  absl::StatusOr<ScopedFd> conn = OpenConnection(*ip);
  ASSERT_TRUE(conn.ok()) << conn.status();
  absl::StatusOr<Reply> first = Exchange(conn->get(), "hello\n");
  ASSERT_TRUE(first.ok()) << first.status();
  const int kept = first->identity == Identity(0) ? 0 : 1;

  FrontendWatcher watcher(pin_dir_, *ip, *map_id, 2);
  const absl::Time killed = absl::Now();
  absl::StatusOr<int> status = controller_->Stop(SIGKILL, absl::Seconds(5));
  ASSERT_TRUE(status.ok()) << status.status();
  controller_ = std::move(b);
  stub_ = std::move(stub_b);
  ASSERT_OK(WaitAcked(on_b->version(), kReconnectTimeout));
  const absl::Duration took = absl::Now() - killed;
  ASSERT_OK(watcher.WaitForChecks(3));
  watcher.Stop();
  std::cout << "[ timing ] controller A SIGKILL -> agent acked B's snapshot "
            << took << "\n";
  EXPECT_EQ(watcher.bad(), 0) << "first problem: " << watcher.first_problem();

  // What the agent did once it moved: B's snapshot, fully reconciled,
  // with no map write at all.
  const std::string agent_log = ReadFile(AgentLog());
  const size_t moved = agent_log.find(absl::StrCat("; watching ", address_b));
  ASSERT_NE(moved, std::string::npos) << agent_log;
  const size_t applied_at = agent_log.find("applied version", moved);
  ASSERT_NE(applied_at, std::string::npos) << agent_log;
  const std::string applied_line = agent_log.substr(
      applied_at, agent_log.find('\n', applied_at) - applied_at);
  EXPECT_TRUE(absl::StartsWith(
      applied_line,
      absl::StrCat("applied version ", on_b->version(), " (full)")))
      << applied_line;
  EXPECT_TRUE(absl::StrContains(applied_line, ": 0 map writes;"))
      << applied_line;
  EXPECT_TRUE(absl::StrContains(ReadFile(LogPath("controller-b")),
                                "resumes from another controller's state"));
  absl::StatusOr<MapContents> after = Maps();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, *before) << "before:\n" << *before << "after:\n" << *after;
  absl::StatusOr<Reply> again = Exchange(conn->get(), "again\n");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->identity, Identity(kept));

  // B's changes reach the maps.
  absl::StatusOr<v1::ApplyResponse> applied = Apply({WebSlice({kept})});
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_OK(WaitAcked(applied->version(), kProgramTimeout));
  absl::StatusOr<Hits> hits = TcpHits(*ip, 10);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_EQ(*hits, (Hits{{Identity(kept), 10}}));
}

// A controller that stops answering without closing anything (its machine
// hung or cut off: here SIGSTOP, so the socket stays open and silent) is
// noticed by the agent's keepalive pings, and the agent moves to the other
// controller within about 15 s, connections untouched.
TEST_F(ControlPlaneTest, FailoverFromAControllerThatHangsSilently) {
  absl::StatusOr<std::string> ip = ApplyWeb({0, 1});
  ASSERT_TRUE(ip.ok()) << ip.status();
  // Controller B, given the same objects (the same ClusterIP); the agent,
  // restarted to watch A then B, adopts its maps and resyncs from A.
  absl::StatusOr<SecondController> second = StartSecondController(*ip);
  ASSERT_TRUE(second.ok()) << second.status();
  const std::string address_b = second->address;
  std::unique_ptr<netns::ChildProcess>& b = second->process;
  std::unique_ptr<v1::ClusterState::Stub>& stub_b = second->stub;
  const v1::ApplyResponse* on_b = &second->applied;
  absl::StatusOr<ScopedFd> conn = OpenConnection(*ip);
  ASSERT_TRUE(conn.ok()) << conn.status();
  absl::StatusOr<Reply> first = Exchange(conn->get(), "hello\n");
  ASSERT_TRUE(first.ok()) << first.status();

  const absl::Time hung = absl::Now();
  const pid_t a = controller_->pid();
  ASSERT_EQ(kill(a, SIGSTOP), 0);
  // Whatever happens below, the stopped controller is let go (and killed
  // with `b`, which holds it after the swap).
  absl::Cleanup resume = [a] { kill(a, SIGCONT); };
  std::swap(controller_, b);
  stub_ = std::move(stub_b);
  ASSERT_OK(WaitAcked(on_b->version(), absl::Seconds(30)));
  const absl::Duration took = absl::Now() - hung;
  std::cout << "[ timing ] controller A stopped (SIGSTOP) -> agent acked B's "
               "snapshot "
            << took << "\n";
  EXPECT_TRUE(absl::StrContains(ReadFile(AgentLog()),
                                absl::StrCat("; watching ", address_b)));
  absl::StatusOr<Reply> again = Exchange(conn->get(), "again\n");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->identity, first->identity);
}

}  // namespace
}  // namespace switchyard
