// SPDX-License-Identifier: Apache-2.0
// A new pod's first packets, with the real binaries: yard-controller and
// yard-agent in a node namespace, a ClusterIP service with one backend,
// and pods created the way a CNI creates them (veth, addresses, routes)
// that send a UDP datagram and a TCP SYN to the ClusterIP at once.
//
//   node namespace: yard-controller, yard-agent (--pod_interfaces=yf*);
//     the controller serves mutual TLS on the node's mgmt0, which the test
//     reaches from its own namespace (control_network.h)
//     be1  10.244.0.11  ─ eth0 ══ yfbe1 ┐ node (ip_forward,
//     pod  10.244.C.N   ─ eth0 ══ yfCN  ┘  10.244.0.1 on each veth)
//
// What is proven:
//   - the agent attaches a new interface as the kernel announces it (link
//     events), in milliseconds; the delay is printed;
//   - with link events alone, a pod that sends within 10 ms of its veth's
//     creation races the agent: the share of first packets translated is
//     printed, not asserted (the race is inherent);
//   - with yard-cni run as a container runtime runs a chained plugin
//     (CNI_* environment, the configuration with prevResult on stdin)
//     before the pod sends, every first packet is translated, even with
//     the agent stopped (SIGSTOP), so nothing but the plugin attached;
//   - and without the plugin, with the agent stopped, the same first
//     packets leave untranslated: the check above can fail.
//
// An untranslated packet to the ClusterIP finds no route in the node
// (it has none but the pods' /32s), so the pod gets "network unreachable"
// at once: the TCP connect fails, the connected UDP socket reports it.
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/common/scoped_fd.h"
#include "control/kernel/pod_program_pins.h"
#include "gtest/gtest.h"
#include "switchyard/v1/controller.grpc.pb.h"
#include "tests/e2e/pod_apps.h"
#include "tests/e2e/support/assert_ok.h"
#include "tests/e2e/support/control_network.h"
#include "tests/e2e/support/daemons.h"
#include "tests/e2e/support/fast_links.h"
#include "tests/e2e/support/scratch.h"
#include "tests/e2e/support/topology.h"
#include "tests/netns/netns.h"
#include "tests/netns/process.h"

namespace switchyard {
namespace {

using e2e::FromGrpc;
using e2e::kProgramTimeout;
using e2e::kRpcTimeout;
using e2e::kStartTimeout;
using e2e::ReadFile;

constexpr absl::Duration kPoll = absl::Milliseconds(5);
constexpr char kNodeName[] = "node-a";
constexpr char kGateway[] = "10.244.0.1";
constexpr char kBackendIp[] = "10.244.0.11";
constexpr char kIdentity[] = "backend-1";
constexpr uint16_t kTcpPort = 80, kTcpTargetPort = 8080;
constexpr uint16_t kUdpPort = 53, kUdpTargetPort = 5353;
constexpr char kScratchTag[] = "fp";

// The issue's bound: a pod that sends within this of its veth's creation.
constexpr absl::Duration kSendWithin = absl::Milliseconds(10);
// How often each case creates a pod; enough to see a rate, small enough
// for a quick test (each try is a namespace and a few `ip` runs).
constexpr int kTries = 20;
// A translated first packet is answered in well under a millisecond; an
// untranslated one is refused at once. This only bounds a lost one.
constexpr absl::Duration kConnectTimeout = absl::Seconds(1);

// ---------------------------------------------------------------------------
// The service: TCP 80 -> 8080 and UDP 53 -> 5353 on be1.

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

// What happened to one pod's first packets.
struct FirstPackets {
  bool udp_translated = false;
  bool tcp_translated = false;
  std::string udp_outcome, tcp_outcome;  // for the failure message
  // From just before the veth was created (with yard-cni: from ADD's
  // return, the earliest a pod can run) to the UDP send and the SYN.
  absl::Duration udp_sent_after, syn_sent_after;
};

struct Summary {
  int udp = 0, tcp = 0, tries = 0;
  // Tries whose datagram and SYN both left within kSendWithin of the
  // veth's creation, and how many of those had both translated.
  int in_window = 0, in_window_translated = 0;
  absl::Duration max_syn_after;
  void Add(const FirstPackets& p) {
    ++tries;
    udp += p.udp_translated;
    tcp += p.tcp_translated;
    max_syn_after = std::max(max_syn_after, p.syn_sent_after);
    if (p.syn_sent_after <= kSendWithin) {
      ++in_window;
      in_window_translated += p.udp_translated && p.tcp_translated;
    }
  }
  std::string Text() const {
    return absl::StrFormat(
        "first UDP datagram translated %d/%d, first TCP SYN translated "
        "%d/%d; %d tries sent both within %s (of the veth's creation; with "
        "yard-cni, of ADD's return), %d of "
        "them with both translated; SYN sent at most %s after",
        udp, tries, tcp, tries, in_window, absl::FormatDuration(kSendWithin),
        in_window_translated, absl::FormatDuration(max_syn_after));
  }
};

class FirstPacketTest : public ::testing::Test {
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
    absl::StatusOr<std::unique_ptr<netns::Namespace>> node =
        e2e::CreateNode("node");
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    absl::StatusOr<std::string> control_ip = control_network_->Join(*node_);
    ASSERT_TRUE(control_ip.ok()) << control_ip.status();
    controller_address_ = absl::StrCat(*control_ip, ":", e2e::kControllerPort);
    absl::StatusOr<std::unique_ptr<pki::TestPki>> pki =
        e2e::MakeControlPki({*control_ip}, {kNodeName});
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
    absl::StatusOr<std::unique_ptr<netns::Namespace>> backend =
        e2e::CreatePod(*node_, "be1", "yfbe1", kBackendIp, kGateway);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
    absl::StatusOr<std::unique_ptr<e2e::IdentityServer>> server =
        e2e::IdentityServer::Start(*backend_, kIdentity, kTcpTargetPort,
                                   kUdpTargetPort);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_OK(StartDaemons());
    ASSERT_OK(ApplyService());
  }

  void TearDown() override {
    if (HasFailure()) {
      for (const char* log : {"controller.log", "agent.log"}) {
        std::cerr << "---- " << log << "\n"
                  << e2e::Tail(ReadFile(absl::StrCat(work_dir_, "/", log)), 60)
                  << "\n";
      }
    }
    ResumeAgent();
    agent_.reset();
    controller_.reset();
    server_.reset();
    backend_.reset();
    node_.reset();
    control_network_.reset();
    pki_.reset();
    std::error_code ec;
    std::filesystem::remove_all(work_dir_, ec);
    std::filesystem::remove_all(pin_root_, ec);
  }

  absl::Status StartDaemons() {
    absl::StatusOr<std::unique_ptr<netns::ChildProcess>> controller =
        netns::ChildProcess::Start({
            .argv = e2e::ControllerArgv(controller_address_,
                                        e2e::ControllerTls(*pki_),
                                        absl::StrCat(work_dir_, "/state")),
            .log_path = absl::StrCat(work_dir_, "/controller.log"),
            .netns = node_->name(),
        });
    if (!controller.ok()) return controller.status();
    controller_ = *std::move(controller);
    const absl::Time deadline = absl::Now() + kStartTimeout;
    if (absl::Status s = e2e::WaitForControllerPort(
            controller_address_, *controller_, deadline, kPoll);
        !s.ok()) {
      return s;
    }
    stub_ = v1::ClusterState::NewStub(
        e2e::ControllerChannel(controller_address_, e2e::WriterTls(*pki_)));
    if (absl::Status s = e2e::FirstCall(*stub_, deadline); !s.ok()) return s;
    absl::StatusOr<std::unique_ptr<netns::ChildProcess>> agent =
        netns::ChildProcess::Start({
            .argv = e2e::AgentArgv({.node_name = kNodeName,
                                    .controller = controller_address_,
                                    .tls = e2e::NodeTls(*pki_, kNodeName),
                                    .bpffs_root = pin_root_,
                                    .pod_interfaces = "yf*"}),
            .log_path = absl::StrCat(work_dir_, "/agent.log"),
            .netns = node_->name(),
        });
    if (!agent.ok()) return agent.status();
    agent_ = *std::move(agent);
    return e2e::WaitAgentConnected(*stub_, *agent_, kNodeName,
                                   absl::Now() + kStartTimeout, kPoll,
                                   kRpcTimeout);
  }

  absl::Status ApplyService() {
    v1::ApplyRequest request;
    *request.add_objects() = WebService();
    *request.add_objects() = WebSlice();
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kRpcTimeout));
    v1::ApplyResponse applied;
    if (absl::Status s =
            FromGrpc(stub_->Apply(&context, request, &applied), "Apply");
        !s.ok()) {
      return s;
    }
    cluster_ip_ = applied.objects(0).service().spec().cluster_ip();
    const absl::Time deadline = absl::Now() + kProgramTimeout;
    for (;;) {
      absl::StatusOr<v1::NodeSync> node =
          e2e::FindNodeSync(*stub_, kNodeName, kRpcTimeout);
      if (node.ok() && node->acked_version() >= applied.version()) break;
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError("the agent did not ack");
      }
      absl::SleepFor(kPoll);
    }
    // The established path works before any first packet is judged.
    return backend_->Run([&]() -> absl::Status {
      absl::StatusOr<e2e::Reply> reply =
          e2e::UdpCall(e2e::SockAddr(cluster_ip_, kUdpPort));
      return reply.status();
    });
  }

  // The agent frozen: it neither reads link events nor rescans, so only
  // yard-cni can attach.
  void PauseAgent() {
    ASSERT_EQ(kill(agent_->pid(), SIGSTOP), 0);
    agent_paused_ = true;
  }
  void ResumeAgent() {
    if (agent_paused_ && agent_) kill(agent_->pid(), SIGCONT);
    agent_paused_ = false;
  }

  // yard-cni ADD (or CHECK) as a runtime runs a plugin chained after one
  // that made `host_dev` / eth0: the node's namespace, CNI_* set, the
  // configuration with prevResult on stdin. Its result must be prevResult.
  absl::Status RunYardCni(absl::string_view command,
                          const netns::Namespace& pod,
                          absl::string_view host_dev, absl::string_view ip) {
    const std::string netns_path = absl::StrCat("/run/netns/", pod.name());
    const std::string prev_result = absl::StrCat(
        R"({"cniVersion":"1.0.0","interfaces":[{"name":")", host_dev,
        R"("},{"name":"eth0","sandbox":")", netns_path,
        R"("}],"ips":[{"address":")", ip, R"(/32","interface":1}]})");
    const std::string config = absl::StrCat(
        R"({"cniVersion":"1.0.0","name":"yard-test","type":"yard-cni",)",
        R"("bpffsRoot":")", pin_root_, R"(","nodeName":")", kNodeName,
        R"(","prevResult":)", prev_result, "}");
    const std::string config_path = absl::StrCat(work_dir_, "/cni.json");
    std::ofstream(config_path) << config;
    // nsenter, not `ip netns exec`: the latter remounts /sys, which hides
    // the bpffs mounted below it (and with it the agent's pins).
    absl::StatusOr<netns::CommandResult> run = netns::RunCommand(
        {"nsenter", absl::StrCat("--net=/run/netns/", node_->name()), "sh",
         "-c",
         absl::StrCat("CNI_COMMAND=", command, " CNI_CONTAINERID=test-",
                      host_dev, " CNI_NETNS=", netns_path,
                      " CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin ", YARD_CNI_PATH,
                      " < ", config_path)},
        netns::kCommandTimeout);
    if (!run.ok()) return run.status();
    if (run->exit_code != 0) {
      return absl::InternalError(
          absl::StrCat("yard-cni ", command, " failed: ", run->output));
    }
    if (command == "ADD" && run->output.find(absl::StrCat(
                                "\"", host_dev, "\"")) == std::string::npos) {
      return absl::InternalError(absl::StrCat(
          "yard-cni ADD's result is not prevResult: ", run->output));
    }
    return absl::OkStatus();
  }

  // In the pod: the UDP datagram, then at once the SYN (non-blocking, so
  // it leaves before the datagram's answer is awaited), then both
  // outcomes. `created`: when the veth's creation began.
  absl::StatusOr<FirstPackets> SendFirstPackets(absl::Time created) {
    FirstPackets out;
    absl::StatusOr<ScopedFd> udp =
        e2e::UdpConnect(e2e::SockAddr(cluster_ip_, kUdpPort));
    if (!udp.ok()) return udp.status();
    if (send(udp->get(), "first", 5, 0) != 5) {
      return absl::InternalError(absl::StrCat("send: ", strerror(errno)));
    }
    out.udp_sent_after = absl::Now() - created;
    ScopedFd tcp(
        socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    const sockaddr_in to = e2e::SockAddr(cluster_ip_, kTcpPort);
    int rc =
        connect(tcp.get(), reinterpret_cast<const sockaddr*>(&to), sizeof(to));
    out.syn_sent_after = absl::Now() - created;
    int tcp_error = rc == 0 ? 0 : errno;
    if (tcp_error == EINPROGRESS) {
      pollfd p = {.fd = tcp.get(), .events = POLLOUT, .revents = 0};
      if (poll(&p, 1, absl::ToInt64Milliseconds(kConnectTimeout)) == 1) {
        socklen_t length = sizeof(tcp_error);
        getsockopt(tcp.get(), SOL_SOCKET, SO_ERROR, &tcp_error, &length);
      } else {
        tcp_error = ETIMEDOUT;
      }
    }
    out.tcp_translated = tcp_error == 0;
    out.tcp_outcome = tcp_error == 0 ? "connected" : strerror(tcp_error);
    char buffer[256];
    ssize_t n = recv(udp->get(), buffer, sizeof(buffer) - 1, 0);
    if (n < 0) {
      out.udp_outcome = strerror(errno);
    } else {
      absl::StatusOr<e2e::Reply> reply = e2e::ParseReply(
          absl::StripTrailingAsciiWhitespace(absl::string_view(buffer, n)));
      out.udp_translated = reply.ok() && reply->identity == kIdentity;
      out.udp_outcome =
          reply.ok() ? reply->identity : reply.status().ToString();
    }
    return out;
  }

  // One pod, made as a CNI makes it, sending at once. `with_cni`: yard-cni
  // ADD runs after the main plugin's part and before the pod sends, as in
  // a runtime's ADD sequence.
  absl::StatusOr<FirstPackets> CreatePodAndSend(int case_id, int i,
                                                bool with_cni) {
    const std::string host_dev = absl::StrCat("yf", case_id, "x", i);
    const std::string ip = absl::StrCat("10.244.", case_id, ".", 10 + i);
    absl::StatusOr<std::unique_ptr<netns::Namespace>> pod =
        netns::Namespace::Create(absl::StrCat("p", case_id, "x", i));
    if (!pod.ok()) return pod.status();
    const std::string pod_path = absl::StrCat("/run/netns/", (*pod)->name());
    // The main plugin's part, node side then pod side, over rtnetlink
    // from this process: well under a millisecond each.
    absl::StatusOr<absl::Time> created =
        node_->Run([&]() -> absl::StatusOr<absl::Time> {
          const absl::Time start = absl::Now();
          absl::StatusOr<int> ifindex =
              e2e::AddVethInto(host_dev, "eth0", pod_path);
          if (!ifindex.ok()) return ifindex.status();
          for (absl::Status s :
               {e2e::AddAddress(*ifindex, kGateway, 32),
                e2e::SetLinkUp(*ifindex), e2e::AddRoute(ip, 32, *ifindex)}) {
            if (!s.ok()) return s;
          }
          return start;
        });
    if (!created.ok()) return created.status();
    if (absl::Status s = (*pod)->Run([&]() -> absl::Status {
          int eth0 = static_cast<int>(if_nametoindex("eth0"));
          if (eth0 == 0) return absl::NotFoundError("no eth0 in the pod");
          for (absl::Status s :
               {e2e::AddAddress(eth0, ip, 32), e2e::SetLinkUp(eth0),
                e2e::AddRoute(kGateway, 32, eth0),
                e2e::AddRoute("0.0.0.0", 0, eth0, kGateway)}) {
            if (!s.ok()) return s;
          }
          return absl::OkStatus();
        });
        !s.ok()) {
      return s;
    }
    absl::Time since = *created;
    if (with_cni) {
      if (absl::Status s = RunYardCni("ADD", **pod, host_dev, ip); !s.ok()) {
        return s;
      }
      // A pod runs only once ADD has returned: that is when it may send.
      since = absl::Now();
    }
    return (*pod)->Run([&]() -> absl::StatusOr<FirstPackets> {
      return SendFirstPackets(since);
    });
  }

  std::string work_dir_, pin_root_, pin_dir_, controller_address_, cluster_ip_;
  std::unique_ptr<e2e::ControlNetwork> control_network_;
  std::unique_ptr<pki::TestPki> pki_;
  std::unique_ptr<netns::Namespace> node_, backend_;
  std::unique_ptr<e2e::IdentityServer> server_;
  std::unique_ptr<netns::ChildProcess> controller_, agent_;
  std::unique_ptr<v1::ClusterState::Stub> stub_;
  bool agent_paused_ = false;
};

// The agent attaches as the kernel announces the link: the delay from the
// veth's creation to both filters running the pinned programs, watched
// from inside the node by polling the filters.
TEST_F(FirstPacketTest, AgentAttachesOnLinkEventsWithinMilliseconds) {
  std::vector<absl::Duration> delays;
  for (int i = 0; i < kTries; ++i) {
    const std::string dev = absl::StrCat("yf9x", i);
    const absl::Time before = absl::Now();
    ASSERT_OK(netns::RunCommandOk({"ip", "-n", node_->name(), "link", "add",
                                   dev, "type", "veth", "peer", "name",
                                   absl::StrCat("yq9x", i)}));
    const absl::Time created = absl::Now();
    absl::StatusOr<absl::Time> attached =
        node_->Run([&]() -> absl::StatusOr<absl::Time> {
          const absl::Time deadline = absl::Now() + absl::Seconds(5);
          while (absl::Now() < deadline) {
            int index = static_cast<int>(if_nametoindex(dev.c_str()));
            if (index != 0 &&
                kernel::CheckPinnedPodPrograms(pin_dir_, index).ok()) {
              return absl::Now();
            }
            absl::SleepFor(absl::Microseconds(100));
          }
          return absl::DeadlineExceededError(
              absl::StrCat(dev, " not attached within 5 s"));
        });
    ASSERT_TRUE(attached.ok()) << attached.status();
    // Between the end of `ip link add` (a lower bound on the veth's age)
    // and its start (an upper bound).
    delays.push_back(*attached - created);
    std::cout << dev << ": attached "
              << absl::FormatDuration(*attached - created) << " to "
              << absl::FormatDuration(*attached - before)
              << " after its creation\n";
    ASSERT_OK(
        netns::RunCommandOk({"ip", "-n", node_->name(), "link", "del", dev}));
  }
  std::sort(delays.begin(), delays.end());
  std::cout << "attach delay with link events (after `ip link add` returned): "
            << "min " << absl::FormatDuration(delays.front()) << ", median "
            << absl::FormatDuration(delays[delays.size() / 2]) << ", max "
            << absl::FormatDuration(delays.back()) << "\n";
  RecordProperty("attach_delay_max_us",
                 static_cast<int>(absl::ToInt64Microseconds(delays.back())));
  // Polling once a second attached 250-710 ms after; an announcement is
  // acted on at once. Generous for two loaded cores.
  EXPECT_LT(delays.back(), absl::Milliseconds(200));
}

// Link events alone race a pod that sends at once: measured, not asserted.
TEST_F(FirstPacketTest, LinkEventsAloneRaceAPodThatSendsAtOnce) {
  Summary summary;
  for (int i = 0; i < kTries; ++i) {
    absl::StatusOr<FirstPackets> p = CreatePodAndSend(1, i, false);
    ASSERT_TRUE(p.ok()) << p.status();
    summary.Add(*p);
    std::cout << "try " << i << ": UDP " << p->udp_outcome << " (sent after "
              << absl::FormatDuration(p->udp_sent_after) << "), TCP "
              << p->tcp_outcome << " (SYN after "
              << absl::FormatDuration(p->syn_sent_after) << ")\n";
  }
  std::cout << "link events alone: " << summary.Text() << "\n";
  RecordProperty("udp_translated", summary.udp);
  RecordProperty("tcp_translated", summary.tcp);
  // The rates mean something only if most pods did send that early.
  EXPECT_GE(summary.in_window, kTries / 2)
      << "this machine is too slow to send within " << kSendWithin
      << "; the rates above say little";
}

// yard-cni attaches before the pod runs: every first packet translated,
// with the agent frozen so that nothing else can have attached.
TEST_F(FirstPacketTest, YardCniTranslatesEveryFirstPacket) {
  PauseAgent();
  Summary summary;
  for (int i = 0; i < kTries; ++i) {
    absl::StatusOr<FirstPackets> p = CreatePodAndSend(2, i, true);
    ASSERT_TRUE(p.ok()) << p.status();
    summary.Add(*p);
    std::cout << "try " << i << ": UDP " << p->udp_outcome << ", TCP "
              << p->tcp_outcome << " (SYN "
              << absl::FormatDuration(p->syn_sent_after)
              << " after yard-cni ADD returned)\n";
    EXPECT_TRUE(p->udp_translated) << "try " << i << ": " << p->udp_outcome;
    EXPECT_TRUE(p->tcp_translated) << "try " << i << ": " << p->tcp_outcome;
  }
  std::cout << "with yard-cni (agent stopped): " << summary.Text() << "\n";
  // CHECK agrees on a pod it attached.
  absl::StatusOr<std::unique_ptr<netns::Namespace>> pod =
      netns::Namespace::Create("pcheck");
  ASSERT_TRUE(pod.ok()) << pod.status();
  ASSERT_OK(netns::RunCommandOk({"ip", "-n", node_->name(), "link", "add",
                                 "yfcheck", "type", "veth", "peer", "name",
                                 "eth0", "netns", (*pod)->name()}));
  EXPECT_FALSE(RunYardCni("CHECK", **pod, "yfcheck", "10.244.3.1").ok());
  ASSERT_OK(RunYardCni("ADD", **pod, "yfcheck", "10.244.3.1"));
  ASSERT_OK(RunYardCni("CHECK", **pod, "yfcheck", "10.244.3.1"));
}

// The proof can fail: the same pods, the agent frozen, no yard-cni.
TEST_F(FirstPacketTest, WithoutYardCniFirstPacketsLeaveUntranslated) {
  PauseAgent();
  constexpr int kControlTries = 5;
  Summary summary;
  for (int i = 0; i < kControlTries; ++i) {
    absl::StatusOr<FirstPackets> p = CreatePodAndSend(4, i, false);
    ASSERT_TRUE(p.ok()) << p.status();
    summary.Add(*p);
    EXPECT_FALSE(p->udp_translated) << "try " << i;
    EXPECT_FALSE(p->tcp_translated) << "try " << i;
  }
  std::cout << "agent stopped, no yard-cni: " << summary.Text() << "\n";
}

}  // namespace
}  // namespace switchyard
