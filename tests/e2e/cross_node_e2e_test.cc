// SPDX-License-Identifier: Apache-2.0
// ClusterIP across nodes, with the project's real binaries: two node
// namespaces joined by a bridge, one yard-agent in each, one
// yard-controller (mutual TLS on 172.31.254.1:7800 in the test's own
// namespace, which each node reaches over its mgmt0: control_network.h),
// and pods on both nodes talking through ClusterIPs.
//
//   fabric namespace: br0 ─┬─ yxa ══ eth0 node-a 172.31.0.1/24
//                          └─ yxb ══ eth0 node-b 172.31.0.2/24
//   node-a (pods 10.244.1.0/24, route 10.244.2.0/24 via 172.31.0.2):
//     client 10.244.1.10 ─ eth0 ══ yxclient    backend 10.244.1.11 ─ eth0 ══
//     yxbackend
//   node-b (pods 10.244.2.0/24, route 10.244.1.0/24 via 172.31.0.1):
//     client 10.244.2.10 ─ eth0 ══ yxclient    backend 10.244.2.11 ─ eth0 ══
//     yxbackend
//
// The client's node translates ClusterIP -> endpoint as the packet leaves
// the pod, plain routing carries it to the other node, and the replies are
// turned back into ClusterIP replies on the client's own veth (egress):
// the remote node keeps no state for the flow, and the backend sees the
// client pod's own address. Nothing here depends on scripts/yard-lab, and
// nothing is routed to or from the host's interfaces.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/common/scoped_fd.h"
#include "control/kernel/datapath_maps.h"
#include "control/kernel/features.h"
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
using e2e::RemoveOnExit;
using e2e::Reply;
using e2e::SockAddr;

using e2e::kProgramTimeout;
using e2e::kRpcTimeout;
using e2e::kStartTimeout;
constexpr absl::Duration kConnectTimeout = absl::Seconds(2);
constexpr absl::Duration kPoll = absl::Milliseconds(2);

constexpr char kNamespace[] = "default";
constexpr uint16_t kTcpPort = 80, kTcpTargetPort = 8080;
constexpr uint16_t kUdpPort = 53, kUdpTargetPort = 5353;
constexpr char kPodInterfaces[] = "yx*";

// Two nodes, each with a client pod and a backend pod. Index 0 is node-a.
struct NodeSpec {
  const char* name;         // v1 Node name and the agent's --node_name
  const char* ns;           // namespace name (after the process prefix)
  const char* fabric_ip;    // eth0 on the fabric, the Node's InternalIP
  const char* fabric_port;  // its veth peer, a port of the bridge
  const char* pod_cidr;
  const char* gateway;  // the node's address on every pod veth
  const char* client_ip;
  const char* backend_ip;
};
constexpr NodeSpec kNodes[2] = {
    {"node-a", "xn-node-a", "172.31.0.1", "yxa", "10.244.1.0/24", "10.244.1.1",
     "10.244.1.10", "10.244.1.11"},
    {"node-b", "xn-node-b", "172.31.0.2", "yxb", "10.244.2.0/24", "10.244.2.1",
     "10.244.2.10", "10.244.2.11"},
};

// What the backend on node i answers with.
std::string BackendIdentity(int i) {
  return absl::StrCat("backend-on-", kNodes[i].name);
}

// Scratch folders are "ysy<pid>-xn", named like the namespaces.
constexpr char kScratchTag[] = "xn";

// ---------------------------------------------------------------------------
// Cluster objects

v1::Object NodeObject(const NodeSpec& spec) {
  v1::Object object;
  v1::Node& node = *object.mutable_node();
  node.mutable_metadata()->set_name(spec.name);
  node.set_pod_cidr(spec.pod_cidr);
  node.add_pod_cidrs(spec.pod_cidr);
  v1::NodeAddress* address = node.add_addresses();
  address->set_type("InternalIP");
  address->set_address(spec.fabric_ip);
  return object;
}

// A service with TCP 80 -> 8080 and UDP 53 -> 5353, its ClusterIP
// allocated by the controller.
v1::Object ServiceObject(const std::string& name) {
  v1::Object object;
  v1::Service& service = *object.mutable_service();
  service.mutable_metadata()->set_name(name);
  service.mutable_metadata()->set_namespace_(kNamespace);
  service.mutable_spec()->set_type("ClusterIP");
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

// The slice of service `name`, listing the backends of the given nodes,
// each with the nodeName it runs on.
v1::Object SliceObject(const std::string& name, const std::vector<int>& nodes) {
  v1::Object object;
  v1::EndpointSlice& slice = *object.mutable_endpoint_slice();
  slice.mutable_metadata()->set_name(absl::StrCat(name, "-1"));
  slice.mutable_metadata()->set_namespace_(kNamespace);
  (*slice.mutable_metadata()->mutable_labels())["kubernetes.io/service-name"] =
      name;
  slice.set_address_type("IPv4");
  for (int i : nodes) {
    v1::Endpoint* endpoint = slice.add_endpoints();
    endpoint->add_addresses(kNodes[i].backend_ip);
    endpoint->mutable_conditions()->set_ready(true);
    endpoint->set_node_name(kNodes[i].name);
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

// ---------------------------------------------------------------------------

using Hits = std::map<std::string, int>;  // backend identity -> answers

struct Node {
  std::unique_ptr<netns::Namespace> ns;
  std::unique_ptr<netns::Namespace> client;
  std::unique_ptr<netns::Namespace> backend;
};

// Every test is its own process (gtest_discover_tests), so each gets a
// fresh topology, controller, agents, state and pins.
class CrossNodeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_OK(e2e::RemoveStaleLeftovers(kScratchTag));
  }

  void SetUp() override {
    work_dir_ = e2e::ScratchWorkDir(kScratchTag);
    pin_root_ = e2e::ScratchPinRoot(kScratchTag);
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
    absl::StatusOr<std::unique_ptr<pki::TestPki>> pki = e2e::MakeControlPki(
        {e2e::kTestControlIp}, {kNodes[0].name, kNodes[1].name});
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
    ASSERT_OK(BuildTopology());
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<std::unique_ptr<e2e::IdentityServer>> server =
          e2e::IdentityServer::Start(*nodes_[i].backend, BackendIdentity(i),
                                     kTcpTargetPort, kUdpTargetPort);
      ASSERT_TRUE(server.ok()) << server.status();
      servers_[i] = *std::move(server);
    }
    ASSERT_OK(StartController());
    for (int i = 0; i < 2; ++i) ASSERT_OK(StartAgent(i));
  }

  void TearDown() override {
    if (!HasFailure()) return;
    std::error_code ec;
    for (const auto& entry :
         std::filesystem::directory_iterator(work_dir_, ec)) {
      if (entry.path().extension() != ".log") continue;
      std::cerr << "---- last lines of " << entry.path().filename() << "\n"
                << e2e::Tail(ReadFile(entry.path()), 30) << "\n";
    }
  }

  // -- topology -------------------------------------------------------------

  absl::Status BuildTopology() {
    absl::StatusOr<std::unique_ptr<netns::Namespace>> fabric =
        netns::Namespace::Create("xn-fabric");
    if (!fabric.ok()) return fabric.status();
    fabric_ = *std::move(fabric);
    if (absl::Status s = fabric_->ExecOk(
            "ip link add br0 type bridge && ip link set br0 up");
        !s.ok()) {
      return s;
    }
    for (int i = 0; i < 2; ++i) {
      if (absl::Status s = AddNode(i); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status AddNode(int i) {
    const NodeSpec& spec = kNodes[i];
    const NodeSpec& other = kNodes[1 - i];
    Node& node = nodes_[i];
    absl::StatusOr<std::unique_ptr<netns::Namespace>> ns =
        e2e::CreateNode(spec.ns);
    if (!ns.ok()) return ns.status();
    node.ns = *std::move(ns);
    if (absl::Status s = control_network_->Join(*node.ns).status(); !s.ok()) {
      return s;
    }
    for (absl::Status s :
         {netns::CreateVeth(*node.ns, "eth0", *fabric_, spec.fabric_port),
          fabric_->ExecOk(
              absl::StrCat("ip link set ", spec.fabric_port, " master br0")),
          node.ns->AddAddress("eth0", absl::StrCat(spec.fabric_ip, "/24")),
          // The other node's pods are reached through it: plain routing,
          // no tunnel.
          node.ns->AddRoute(absl::StrCat(other.pod_cidr, " via ",
                                         other.fabric_ip, " dev eth0"))}) {
      if (!s.ok()) return s;
    }
    absl::StatusOr<std::unique_ptr<netns::Namespace>> client =
        AddPod(i, absl::StrCat(spec.ns, "-client"), "yxclient", spec.client_ip);
    if (!client.ok()) return client.status();
    node.client = *std::move(client);
    absl::StatusOr<std::unique_ptr<netns::Namespace>> backend = AddPod(
        i, absl::StrCat(spec.ns, "-backend"), "yxbackend", spec.backend_ip);
    if (!backend.ok()) return backend.status();
    node.backend = *std::move(backend);
    return absl::OkStatus();
  }

  // A pod on node i: eth0 with a /32, default route via the node; the
  // node's side (host_dev, matched by kPodInterfaces) with the gateway
  // address and a /32 route to the pod.
  absl::StatusOr<std::unique_ptr<netns::Namespace>> AddPod(
      int i, const std::string& name, const char* host_dev, const char* ip) {
    return e2e::CreatePod(*nodes_[i].ns, name, host_dev, ip, kNodes[i].gateway);
  }

  // -- processes ------------------------------------------------------------

  std::string LogPath(absl::string_view name) const {
    return absl::StrCat(work_dir_, "/", name, ".log");
  }

  // yard-controller in the test's own namespace.
  absl::Status StartController() {
    absl::StatusOr<std::unique_ptr<netns::ChildProcess>> child =
        netns::ChildProcess::Start({
            .argv = e2e::ControllerArgv(controller_address_,
                                        e2e::ControllerTls(*pki_),
                                        absl::StrCat(work_dir_, "/state")),
            .log_path = LogPath("controller"),
        });
    if (!child.ok()) return child.status();
    controller_ = *std::move(child);
    if (absl::Status s =
            e2e::WaitForControllerPort(controller_address_, *controller_,
                                       absl::Now() + kStartTimeout, kPoll);
        !s.ok()) {
      return s;
    }
    stub_ = v1::ClusterState::NewStub(
        e2e::ControllerChannel(controller_address_, e2e::WriterTls(*pki_)));
    return absl::OkStatus();
  }

  // yard-agent for node i, in its namespace, up once the controller sees
  // its watch stream.
  absl::Status StartAgent(int i) {
    absl::StatusOr<std::unique_ptr<netns::ChildProcess>> child =
        netns::ChildProcess::Start({
            .argv = e2e::AgentArgv({.node_name = kNodes[i].name,
                                    .controller = controller_address_,
                                    .tls = e2e::NodeTls(*pki_, kNodes[i].name),
                                    .bpffs_root = pin_root_,
                                    .pod_interfaces = kPodInterfaces}),
            .log_path = LogPath(absl::StrCat("agent-", kNodes[i].name)),
            .netns = nodes_[i].ns->name(),
        });
    if (!child.ok()) return child.status();
    agents_[i] = *std::move(child);
    return e2e::WaitAgentConnected(*stub_, *agents_[i], kNodes[i].name,
                                   absl::Now() + kStartTimeout, kPoll,
                                   kRpcTimeout);
  }

  // -- the controller's API -------------------------------------------------

  absl::StatusOr<v1::ListNodeSyncResponse> ListNodeSync() {
    return e2e::ListNodeSync(*stub_, kRpcTimeout);
  }

  // Waits until both agents have acknowledged `version`: then both
  // nodes' maps hold it (an agent acks after programming).
  absl::Status WaitAckedByBoth(uint64_t version) {
    const absl::Time deadline = absl::Now() + kProgramTimeout;
    std::string last;
    for (;;) {
      absl::StatusOr<v1::ListNodeSyncResponse> list = ListNodeSync();
      int acked = 0;
      if (list.ok()) {
        for (const v1::NodeSync& node : list->nodes()) {
          if (node.connected() && node.acked_version() >= version) ++acked;
        }
        last = list->ShortDebugString();
      } else {
        last = list.status().ToString();
      }
      if (acked == 2) return absl::OkStatus();
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "version ", version, " not acked by both nodes; last: ", last));
      }
      absl::SleepFor(kPoll);
    }
  }

  // Applies both Node objects and service `name` with the backends of the
  // given nodes, waits until both nodes have programmed it, and returns
  // its ClusterIP.
  absl::StatusOr<std::string> ApplyService(const std::string& name,
                                           const std::vector<int>& backends) {
    v1::ApplyRequest request;
    for (const NodeSpec& node : kNodes) {
      *request.add_objects() = NodeObject(node);
    }
    *request.add_objects() = ServiceObject(name);
    *request.add_objects() = SliceObject(name, backends);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kRpcTimeout));
    v1::ApplyResponse response;
    if (absl::Status s =
            FromGrpc(stub_->Apply(&context, request, &response), "Apply");
        !s.ok()) {
      return s;
    }
    if (absl::Status s = WaitAckedByBoth(response.version()); !s.ok()) {
      return s;
    }
    for (const v1::Object& object : response.objects()) {
      if (object.has_service()) return object.service().spec().cluster_ip();
    }
    return absl::InternalError("Apply returned no service");
  }

  // -- traffic --------------------------------------------------------------

  // n new TCP connections from node `from`'s client pod to ip:80, one
  // exchange each. Every backend must see the client pod's own address
  // and port: no source NAT on the way.
  absl::StatusOr<Hits> TcpHits(int from, const std::string& ip, int n) {
    const sockaddr_in service = SockAddr(ip, kTcpPort);
    return nodes_[from].client->Run([&]() -> absl::StatusOr<Hits> {
      Hits hits;
      for (int i = 0; i < n; ++i) {
        absl::StatusOr<ScopedFd> fd =
            e2e::MustConnect(service, kConnectTimeout);
        if (!fd.ok()) return fd.status();
        absl::StatusOr<std::string> local = e2e::SockName(fd->get());
        if (!local.ok()) return local.status();
        absl::StatusOr<Reply> reply = e2e::Exchange(fd->get(), "hello\n");
        if (!reply.ok()) {
          return absl::Status(reply.status().code(),
                              absl::StrCat("tcp connection ", i, ": ",
                                           reply.status().message()));
        }
        if (reply->peer != *local) {
          return absl::InternalError(
              absl::StrCat("tcp connection ", i, ": ", reply->identity, " saw ",
                           reply->peer, ", the client is ", *local));
        }
        ++hits[reply->identity];
      }
      return hits;
    });
  }

  // n UDP flows (fresh source ports) from node `from`'s client pod to
  // ip:53, one datagram each, with the same check on the source.
  absl::StatusOr<Hits> UdpHits(int from, const std::string& ip, int n) {
    const sockaddr_in service = SockAddr(ip, kUdpPort);
    return nodes_[from].client->Run([&]() -> absl::StatusOr<Hits> {
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
                           reply->peer, ", the client is ", *local));
        }
        ++hits[reply->identity];
      }
      return hits;
    });
  }

  // Packets node `node` sent out the route's device with the stack bypass
  // (to endpoints on the other node), from its agent's pinned counters.
  uint64_t BypassedToFabric(int node) {
    absl::StatusOr<kernel::DatapathMaps> maps =
        kernel::DatapathMaps::OpenPinned(
            absl::StrCat(pin_root_, "/", kNodes[node].name));
    EXPECT_TRUE(maps.ok()) << maps.status();
    if (!maps.ok()) return 0;
    absl::StatusOr<yard_counter> c =
        maps->ReasonCounter(YARD_REASON_BYPASS_NEIGH);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? c->packets : 0;
  }

  // Whether the agents run with the stack bypass (the fallbacks run turns
  // it off through the environment, as every agent reads it).
  static bool BypassOn() {
    const char* off = getenv("YARD_DATAPATH_FEATURES_OFF");
    if (off == nullptr) return true;
    absl::StatusOr<std::vector<kernel::Feature>> features =
        kernel::ParseFeatureList(off);
    return !features.ok() ||
           std::find(features->begin(), features->end(),
                     kernel::Feature::kStackBypass) == features->end();
  }

  // A client pod on node `from` reaches the backend on the other node,
  // and only it, through a service whose one endpoint lives there; with
  // the stack bypass on, the client's node sends the requests out the
  // fabric itself.
  void ExpectReachesOtherNode(int from) {
    const int to = 1 - from;
    absl::StatusOr<std::string> ip =
        ApplyService(absl::StrCat("on-", kNodes[to].name), {to});
    ASSERT_TRUE(ip.ok()) << ip.status();
    const uint64_t bypassed_before = BypassedToFabric(from);
    absl::StatusOr<Hits> tcp = TcpHits(from, *ip, 10);
    ASSERT_TRUE(tcp.ok()) << "TCP from " << kNodes[from].name << " to " << *ip
                          << ": " << tcp.status();
    EXPECT_EQ(*tcp, (Hits{{BackendIdentity(to), 10}}));
    absl::StatusOr<Hits> udp = UdpHits(from, *ip, 10);
    ASSERT_TRUE(udp.ok()) << "UDP from " << kNodes[from].name << " to " << *ip
                          << ": " << udp.status();
    EXPECT_EQ(*udp, (Hits{{BackendIdentity(to), 10}}));
    const uint64_t bypassed = BypassedToFabric(from) - bypassed_before;
    if (BypassOn()) {
      // At least SYN, ACK, data and FIN of each connection and each
      // datagram; the first packets towards a new next hop may take the
      // stack while it resolves the neighbour.
      EXPECT_GE(bypassed, 10u * 3 + 8) << "requests to the other node";
    } else {
      EXPECT_EQ(bypassed, 0u) << "bypassed although off";
    }
  }

  // Declared first: destroyed after every process and namespace below.
  RemoveOnExit cleanup_;
  std::string work_dir_, pin_root_, controller_address_;
  std::unique_ptr<e2e::ControlNetwork> control_network_;
  std::unique_ptr<pki::TestPki> pki_;
  // Namespaces before the servers and processes that live in them, so
  // those stop first.
  std::unique_ptr<netns::Namespace> fabric_;
  Node nodes_[2];
  std::unique_ptr<e2e::IdentityServer> servers_[2];
  std::unique_ptr<netns::ChildProcess> controller_;
  std::unique_ptr<netns::ChildProcess> agents_[2];
  std::unique_ptr<v1::ClusterState::Stub> stub_;
};

// A pod on node-a reaches the endpoint on node-b, TCP and UDP, and the
// endpoint sees the pod's own address.
TEST_F(CrossNodeTest, PodOnNodeAReachesEndpointOnNodeB) {
  ExpectReachesOtherNode(0);
}

// And the other way round: node-b's agent programs its own pods' veths.
TEST_F(CrossNodeTest, PodOnNodeBReachesEndpointOnNodeA) {
  ExpectReachesOtherNode(1);
}

// One service with an endpoint on each node: clients on both nodes reach
// both, the local one and the remote one.
TEST_F(CrossNodeTest, EndpointsOnBothNodesServeClientsOnBothNodes) {
  absl::StatusOr<std::string> ip = ApplyService("both", {0, 1});
  ASSERT_TRUE(ip.ok()) << ip.status();
  for (int from = 0; from < 2; ++from) {
    SCOPED_TRACE(absl::StrCat("client on ", kNodes[from].name));
    // P(20 uniform choices all missing one of two endpoints) = 2^-19.
    absl::StatusOr<Hits> tcp = TcpHits(from, *ip, 20);
    ASSERT_TRUE(tcp.ok()) << tcp.status();
    EXPECT_EQ(tcp->size(), 2u);
    EXPECT_GE((*tcp)[BackendIdentity(0)], 1);
    EXPECT_GE((*tcp)[BackendIdentity(1)], 1);
    absl::StatusOr<Hits> udp = UdpHits(from, *ip, 20);
    ASSERT_TRUE(udp.ok()) << udp.status();
    EXPECT_EQ(udp->size(), 2u);
    EXPECT_GE((*udp)[BackendIdentity(0)], 1);
    EXPECT_GE((*udp)[BackendIdentity(1)], 1);
  }
}

// A pod on node-a uploads 10 MB through the service to its endpoint on
// node-b, whose veth to the endpoint has a smaller MTU (1400) than the
// path so far (1500). Node-b, a router on that path, answers the first
// full-size segments with "fragmentation needed" from its own address,
// quoting them as translated (to the endpoint); the error crosses the
// fabric to node-a. Only once node-a gives the quote the service's
// address back does the pod's socket learn the path MTU; otherwise the
// upload stalls (a PMTU black hole).
TEST_F(CrossNodeTest,
       UploadToARemoteEndpointBehindASmallerMtuLearnsThePathMtu) {
  absl::StatusOr<std::string> ip = ApplyService("on-node-b", {1});
  ASSERT_TRUE(ip.ok()) << ip.status();
  ASSERT_OK(nodes_[1].ns->ExecOk("ip link set dev yxbackend mtu 1400"));
  constexpr size_t kRoundBytes = 1 << 20;
  const sockaddr_in service = SockAddr(*ip, kTcpPort);
  absl::Status status = nodes_[0].client->Run([&]() -> absl::Status {
    absl::StatusOr<ScopedFd> fd = e2e::MustConnect(service, kConnectTimeout);
    if (!fd.ok()) return fd.status();
    std::string upload(kRoundBytes, 'x');
    upload.back() = '\n';
    for (int round = 0; round < 10; ++round) {
      absl::StatusOr<Reply> reply = e2e::Exchange(fd->get(), upload);
      if (!reply.ok()) {
        return absl::Status(
            reply.status().code(),
            absl::StrCat("megabyte ", round, ": ", reply.status().message()));
      }
      if (reply->identity != BackendIdentity(1)) {
        return absl::InternalError(absl::StrCat(
            "megabyte ", round, ": answered by ", reply->identity));
      }
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
}

// A pod on node-a reaches the endpoint on node-b through the service,
// closes, then connects to that endpoint directly from the same source
// port: the direct connection's answers cross back to node-a and must
// arrive untranslated. TCP and UDP, 50 times each.
TEST_F(CrossNodeTest, DirectConnectionFromAServiceFlowsPortIsAnswered) {
  absl::StatusOr<std::string> ip = ApplyService("on-node-b", {1});
  ASSERT_TRUE(ip.ok()) << ip.status();
  const sockaddr_in endpoint_tcp =
      SockAddr(kNodes[1].backend_ip, kTcpTargetPort);
  const sockaddr_in endpoint_udp =
      SockAddr(kNodes[1].backend_ip, kUdpTargetPort);
  absl::Status done = nodes_[0].client->Run([&]() -> absl::Status {
    for (int i = 0; i < 50; ++i) {
      const uint16_t port = static_cast<uint16_t>(43000 + i);
      absl::StatusOr<Reply> r =
          e2e::TcpCall(SockAddr(*ip, kTcpPort), kConnectTimeout, port);
      if (!r.ok()) {
        return absl::InternalError(absl::StrCat(
            "round ", i, ", TCP via the service: ", r.status().ToString()));
      }
      r = e2e::TcpCall(endpoint_tcp, kConnectTimeout, port);
      if (!r.ok()) {
        return absl::InternalError(absl::StrCat("round ", i,
                                                ", TCP direct from port ", port,
                                                ": ", r.status().ToString()));
      }
      r = e2e::UdpCall(SockAddr(*ip, kUdpPort), port);
      if (!r.ok()) {
        return absl::InternalError(absl::StrCat(
            "round ", i, ", UDP via the service: ", r.status().ToString()));
      }
      r = e2e::UdpCall(endpoint_udp, port);
      if (!r.ok()) {
        return absl::InternalError(absl::StrCat("round ", i,
                                                ", UDP direct from port ", port,
                                                ": ", r.status().ToString()));
      }
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(done.ok()) << done;
}

}  // namespace
}  // namespace switchyard
