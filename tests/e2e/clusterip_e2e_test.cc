// SPDX-License-Identifier: Apache-2.0
// ClusterIP end to end: real sockets in pod namespaces, the datapath on the
// node side of every pod's veth, maps filled as the agent will fill them.
//
//   client 10.244.0.10 ─ eth0 ══ vclient ┐
//   be1    10.244.0.11 ─ eth0 ══ vbe1    ├ node (ip_forward, 10.244.0.1 on
//   be2    10.244.0.12 ─ eth0 ══ vbe2    ┘       every veth, /32 per pod)
//
// Service 10.96.0.10: TCP 80 -> be1,be2:8080; UDP 53 -> be1,be2:5353;
// TCP 81 and UDP 81 without endpoints; any other port rejected through the
// wildcard entry. Service 10.96.0.20 (hairpin): TCP 80 -> be1:8080 and
// UDP 53 -> be1:5353 only.
//
// Every test runs with transmit checksum offload on and off on all veths:
// on, packets reach tc as CHECKSUM_PARTIAL (the L4 checksum field holds
// only the pseudo-header sum); off, with full checksums. The rewrites must
// be right for both.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <initializer_list>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "control/common/errno_status.h"
#include "control/common/ipv4.h"
#include "control/common/scoped_fd.h"
#include "control/kernel/datapath.h"
#include "control/kernel/datapath_maps.h"
#include "control/names/reason_names.h"
#include "gtest/gtest.h"
#include "tests/e2e/pod_apps.h"
#include "tests/e2e/support/assert_ok.h"
#include "tests/e2e/support/topology.h"
#include "tests/netns/netns.h"

namespace switchyard {
namespace {

using e2e::ConnectResult;
using e2e::Exchange;
using e2e::Format;
using e2e::IdentityServer;
using e2e::ParseReply;
using e2e::Reply;
using e2e::SockAddr;
using e2e::SockName;
using e2e::UdpConnect;

// Bounds on every socket operation (e2e::kIoTimeout for sends and
// receives): generous for two loaded cores, far below what a test run may
// take.
constexpr absl::Duration kConnectTimeout = absl::Seconds(3);
// A reject must arrive as an answer, not as a timeout: this is far below
// the connect timeout and far above a veth round trip.
constexpr absl::Duration kRejectWithin = absl::Seconds(1);

constexpr int kTcpConnections = 100;
constexpr int kUdpFlows = 40;
constexpr int kUdpDatagramsPerFlow = 3;

constexpr char kGateway[] = "10.244.0.1";  // node's address on every veth
constexpr char kServiceIp[] = "10.96.0.10";
constexpr char kHairpinServiceIp[] = "10.96.0.20";

constexpr uint16_t kTcpPort = 80, kTcpTargetPort = 8080;
constexpr uint16_t kUdpPort = 53, kUdpTargetPort = 5353;
constexpr uint16_t kEmptyPort = 81;  // TCP and UDP, no endpoints
constexpr uint16_t kUndefinedTcpPort = 8081, kUndefinedUdpPort = 9999;

struct PodSpec {
  const char* name;      // namespace name (after the process prefix)
  const char* ip;        // eth0 address (/32)
  const char* host_dev;  // node side of its veth, where tc programs go
  const char* identity;  // what its servers answer with
};
constexpr PodSpec kClientPod = {"client", "10.244.0.10", "vclient", ""};
constexpr PodSpec kBackendPods[2] = {
    {"be1", "10.244.0.11", "vbe1", "backend-1"},
    {"be2", "10.244.0.12", "vbe2", "backend-2"},
};

// Map ids. Backend ids index yard_be4 (0 is never used); svc ids key slots;
// rev-NAT ids index yard_rnat4 (0 is never used).
enum BackendId : uint32_t { kBe1Tcp = 1, kBe2Tcp, kBe1Udp, kBe2Udp };
enum SvcId : uint32_t {
  kSvcTcp = 1,
  kSvcUdp,
  kSvcTcpEmpty,
  kSvcUdpEmpty,
  kSvcHairpinTcp,
  kSvcHairpinUdp,
};
enum RevNatId : uint32_t {
  kRevNatTcp = 1,
  kRevNatUdp,
  kRevNatTcpEmpty,
  kRevNatUdpEmpty,
  kRevNatHairpinTcp,
  kRevNatHairpinUdp,
  kRevNatWildcard,
  kRevNatHairpinWildcard,
};

uint32_t Ip(absl::string_view text) { return ParseIpv4(text).value(); }

// The source a pod sees when it reaches itself through a service (the
// datapath's default, which this test does not override).
std::string HairpinSource() {
  return FormatIpv4(htonl(YARD_DEFAULT_HAIRPIN_ADDR_HOST));
}

absl::StatusOr<std::string> PeerName(int fd) {
  sockaddr_in sa = {};
  socklen_t len = sizeof(sa);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    return ErrnoStatus(errno, "getpeername");
  }
  return Format(sa);
}

// ---------------------------------------------------------------------------
// Client side: each runs on a thread inside the client's namespace, or on
// any thread with a socket made there.

// The shared clients (tests/e2e/pod_apps.h) with this test's connect
// timeout.
absl::StatusOr<ConnectResult> ConnectTcp(const sockaddr_in& to) {
  return e2e::ConnectTcp(to, kConnectTimeout);
}

absl::StatusOr<ScopedFd> MustConnect(const sockaddr_in& to) {
  return e2e::MustConnect(to, kConnectTimeout);
}

struct DatagramResult {
  int error = 0;     // errno of the receive (ECONNREFUSED, EAGAIN), or 0
  std::string from;  // source of the reply
  std::string text;  // the reply, without its newline
};

absl::StatusOr<DatagramResult> UdpRoundTrip(int fd, absl::string_view request) {
  if (send(fd, request.data(), request.size(), 0) !=
      static_cast<ssize_t>(request.size())) {
    return ErrnoStatus(errno, "send udp");
  }
  DatagramResult result;
  char buf[512];
  sockaddr_in from = {};
  socklen_t len = sizeof(from);
  ssize_t n = recvfrom(fd, buf, sizeof(buf), 0,
                       reinterpret_cast<sockaddr*>(&from), &len);
  if (n < 0) {
    result.error = errno;
    return result;
  }
  result.from = Format(from);
  result.text.assign(buf, n);
  if (!result.text.empty() && result.text.back() == '\n')
    result.text.pop_back();
  return result;
}

// Runs steps in order and stops at the first failure: for map writes, a
// later step must never run when an earlier one it depends on failed.
absl::Status InOrder(
    std::initializer_list<std::function<absl::Status()>> steps) {
  for (const std::function<absl::Status()>& step : steps) {
    if (absl::Status s = step(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Map contents, written as the agent will: backends, then slots, then the
// reverse NAT entry, then the frontend whose count makes it all reachable.

absl::Status PutBackend(kernel::DatapathMaps& maps, uint32_t id,
                        absl::string_view ip, uint16_t port) {
  yard_backend4 be = {};
  be.addr = Ip(ip);
  be.port = htons(port);
  be.state = YARD_BACKEND_ACTIVE;
  return maps.PutBackend(id, be);
}

yard_svc4_key FrontendKey(absl::string_view ip, uint16_t port, uint8_t proto) {
  return kernel::ServiceKey(Ip(ip), htons(port), proto);
}

absl::Status PutFrontend(kernel::DatapathMaps& maps, const yard_svc4_key& key,
                         uint32_t svc_id, uint32_t rev_nat_id, uint16_t count,
                         uint8_t flags = 0) {
  yard_svc_value value = {};
  value.svc_id = svc_id;
  value.rev_nat_id = rev_nat_id;
  value.count = count;
  value.flags = flags;
  value.policy = YARD_POLICY_RANDOM;
  return maps.PutFrontend(key, value);
}

// Slots 1..n of svc_id, the reverse NAT entry, then the frontend.
absl::Status InstallServicePort(kernel::DatapathMaps& maps,
                                absl::string_view ip, uint16_t port,
                                uint8_t proto, uint32_t svc_id,
                                uint32_t rev_nat_id,
                                const std::vector<uint32_t>& backend_ids) {
  for (size_t i = 0; i < backend_ids.size(); ++i) {
    yard_slot_key key = {};
    key.svc_id = svc_id;
    key.slot = static_cast<uint32_t>(i + 1);
    yard_slot_value value = {};
    value.backend_id = backend_ids[i];
    if (absl::Status s = maps.PutSlot(key, value); !s.ok()) return s;
  }
  yard_rnat4 rnat = {};
  rnat.addr = Ip(ip);
  rnat.port = htons(port);
  if (absl::Status s = maps.PutRevNat(rev_nat_id, rnat); !s.ok()) return s;
  return PutFrontend(maps, FrontendKey(ip, port, proto), svc_id, rev_nat_id,
                     static_cast<uint16_t>(backend_ids.size()));
}

// Marks ip as a service address, so ports it does not define are rejected.
absl::Status InstallWildcard(kernel::DatapathMaps& maps, absl::string_view ip,
                             uint32_t rev_nat_id) {
  yard_rnat4 rnat = {};
  rnat.addr = Ip(ip);  // port 0: never used to translate, but not "unused"
  if (absl::Status s = maps.PutRevNat(rev_nat_id, rnat); !s.ok()) return s;
  return PutFrontend(maps, kernel::WildcardKey(Ip(ip)), /*svc_id=*/0,
                     rev_nat_id, /*count=*/0, YARD_SVC_F_WILDCARD);
}

// ---------------------------------------------------------------------------

struct Pod {
  const PodSpec* spec = nullptr;
  std::unique_ptr<netns::Namespace> ns;
};

// Parameter: transmit checksum offload on every veth end.
class ClusterIpTest : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<int> removed = netns::CleanupStaleNamespaces();
    ASSERT_TRUE(removed.ok()) << removed.status();
  }

  void SetUp() override {
    ASSERT_OK(BuildTopology());
    ASSERT_OK(LoadAndAttach());
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<std::unique_ptr<IdentityServer>> server =
          IdentityServer::Start(*backends_[i].ns, kBackendPods[i].identity,
                                kTcpTargetPort, kUdpTargetPort);
      ASSERT_TRUE(server.ok()) << server.status();
      servers_[i] = *std::move(server);
    }
    ASSERT_OK(InstallServices());
  }

  void TearDown() override {
    if (HasFailure() && datapath_ != nullptr) {
      std::cerr << "datapath counters at failure:\n" << Counters();
    }
  }

  absl::Status BuildTopology() {
    absl::StatusOr<std::unique_ptr<netns::Namespace>> node =
        e2e::CreateNode("node");
    if (!node.ok()) return node.status();
    node_ = *std::move(node);
    client_.spec = &kClientPod;
    for (int i = 0; i < 2; ++i) backends_[i].spec = &kBackendPods[i];
    for (Pod* pod : {&client_, &backends_[0], &backends_[1]}) {
      if (absl::Status s = AddPod(*pod); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // The pod's namespace, its veth, and routes both ways through the node.
  absl::Status AddPod(Pod& pod) {
    const PodSpec& spec = *pod.spec;
    absl::StatusOr<std::unique_ptr<netns::Namespace>> ns =
        e2e::CreatePod(*node_, spec.name, spec.host_dev, spec.ip, kGateway);
    if (!ns.ok()) return ns.status();
    pod.ns = *std::move(ns);
    const bool offload = GetParam();
    return InOrder({
        [&] { return node_->SetTxChecksum(spec.host_dev, offload); },
        [&] { return pod.ns->SetTxChecksum("eth0", offload); },
    });
  }

  absl::Status LoadAndAttach() {
    kernel::DatapathConfig config;  // unpinned: gone with the test
    config.max_frontends = 64;
    config.max_slots = 256;
    config.max_backends = 64;
    config.max_ct_entries = 4096;
    // The suite runs a second time with the fallbacks (tests/e2e/
    // CMakeLists.txt), as the agent would with the same variable.
    if (const char* off = getenv("YARD_DATAPATH_FEATURES_OFF")) {
      absl::StatusOr<std::vector<kernel::Feature>> features =
          kernel::ParseFeatureList(off);
      if (!features.ok()) return features.status();
      config.features_off = *features;
    }
    absl::StatusOr<std::unique_ptr<kernel::Datapath>> datapath =
        kernel::Datapath::Load(config);
    if (!datapath.ok()) return datapath.status();
    datapath_ = *std::move(datapath);
    // tc attach talks netlink in the calling thread's namespace.
    return node_->Run([this]() -> absl::Status {
      for (const Pod* pod : {&client_, &backends_[0], &backends_[1]}) {
        unsigned ifindex = if_nametoindex(pod->spec->host_dev);
        if (ifindex == 0) {
          return ErrnoStatus(errno,
                             absl::StrCat("ifindex of ", pod->spec->host_dev));
        }
        if (absl::Status s = datapath_->AttachPodInterface(ifindex); !s.ok()) {
          return s;
        }
      }
      return absl::OkStatus();
    });
  }

  absl::Status InstallServices() {
    kernel::DatapathMaps& m = maps();
    const char* be1 = kBackendPods[0].ip;
    const char* be2 = kBackendPods[1].ip;
    return InOrder({
        [&] { return PutBackend(m, kBe1Tcp, be1, kTcpTargetPort); },
        [&] { return PutBackend(m, kBe2Tcp, be2, kTcpTargetPort); },
        [&] { return PutBackend(m, kBe1Udp, be1, kUdpTargetPort); },
        [&] { return PutBackend(m, kBe2Udp, be2, kUdpTargetPort); },
        [&] {
          return InstallServicePort(m, kServiceIp, kTcpPort, IPPROTO_TCP,
                                    kSvcTcp, kRevNatTcp, {kBe1Tcp, kBe2Tcp});
        },
        [&] {
          return InstallServicePort(m, kServiceIp, kUdpPort, IPPROTO_UDP,
                                    kSvcUdp, kRevNatUdp, {kBe1Udp, kBe2Udp});
        },
        [&] {
          return InstallServicePort(m, kServiceIp, kEmptyPort, IPPROTO_TCP,
                                    kSvcTcpEmpty, kRevNatTcpEmpty, {});
        },
        [&] {
          return InstallServicePort(m, kServiceIp, kEmptyPort, IPPROTO_UDP,
                                    kSvcUdpEmpty, kRevNatUdpEmpty, {});
        },
        [&] { return InstallWildcard(m, kServiceIp, kRevNatWildcard); },
        [&] {
          return InstallServicePort(m, kHairpinServiceIp, kTcpPort, IPPROTO_TCP,
                                    kSvcHairpinTcp, kRevNatHairpinTcp,
                                    {kBe1Tcp});
        },
        [&] {
          return InstallServicePort(m, kHairpinServiceIp, kUdpPort, IPPROTO_UDP,
                                    kSvcHairpinUdp, kRevNatHairpinUdp,
                                    {kBe1Udp});
        },
        [&] {
          return InstallWildcard(m, kHairpinServiceIp, kRevNatHairpinWildcard);
        },
    });
  }

  kernel::DatapathMaps& maps() { return datapath_->maps(); }

  uint64_t ReasonPackets(yard_reason reason) {
    absl::StatusOr<yard_counter> c = maps().ReasonCounter(reason);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? c->packets : 0;
  }

  // Every non-zero drop/reject counter and the number of tracked flows.
  std::string Counters() {
    std::string out;
    for (int r = YARD_REASON_NONE + 1; r < YARD_REASON_MAX; ++r) {
      absl::StatusOr<yard_counter> c =
          maps().ReasonCounter(static_cast<yard_reason>(r));
      if (!c.ok()) {
        absl::StrAppend(&out, "  reason ", r, ": ", c.status().ToString(),
                        "\n");
      } else if (c->packets != 0) {
        absl::StrAppend(&out, "  ", names::DescribeReason(r).name, ": ",
                        c->packets, " packets\n");
      }
    }
    absl::StatusOr<std::vector<std::pair<yard_ct4_key, yard_ct4_value>>> ct =
        maps().DumpCt();
    if (ct.ok()) absl::StrAppend(&out, "  ct entries: ", ct->size(), "\n");
    return out;
  }

  std::string BackendIdentity(int i) { return kBackendPods[i].identity; }

  std::unique_ptr<netns::Namespace> node_;
  Pod client_;
  Pod backends_[2];
  std::unique_ptr<kernel::Datapath> datapath_;
  std::unique_ptr<IdentityServer> servers_[2];
};

using Hits = std::map<std::string, int>;

TEST_P(ClusterIpTest, TcpConnectionsReachBothBackends) {
  const sockaddr_in service = SockAddr(kServiceIp, kTcpPort);
  const std::string service_text = Format(service);
  absl::StatusOr<Hits> hits = client_.ns->Run([&]() -> absl::StatusOr<Hits> {
    Hits hits;
    for (int i = 0; i < kTcpConnections; ++i) {
      absl::StatusOr<ScopedFd> fd = MustConnect(service);
      if (!fd.ok()) return fd.status();
      absl::StatusOr<std::string> peer = PeerName(fd->get());
      absl::StatusOr<std::string> local = SockName(fd->get());
      if (!peer.ok()) return peer.status();
      if (!local.ok()) return local.status();
      if (*peer != service_text) {
        return absl::InternalError(absl::StrCat(
            "connection ", i, ": peer is ", *peer, ", want ", service_text));
      }
      absl::StatusOr<Reply> reply = Exchange(fd->get(), "hello\n");
      if (!reply.ok()) {
        return absl::Status(
            reply.status().code(),
            absl::StrCat("connection ", i, ": ", reply.status().message()));
      }
      // No source NAT: the backend sees exactly the client's socket.
      if (reply->peer != *local) {
        return absl::InternalError(
            absl::StrCat("connection ", i, ": ", reply->identity, " saw ",
                         reply->peer, ", client is ", *local));
      }
      ++hits[reply->identity];
    }
    return hits;
  });
  ASSERT_TRUE(hits.ok()) << hits.status();
  // Uniform choice over 2: P(fewer than 20 of 100) is about 1e-9.
  EXPECT_GE((*hits)[BackendIdentity(0)], 20);
  EXPECT_GE((*hits)[BackendIdentity(1)], 20);
  EXPECT_EQ(hits->size(), 2u);
}

TEST_P(ClusterIpTest, UdpFlowsReachBothBackendsAndStick) {
  const sockaddr_in service = SockAddr(kServiceIp, kUdpPort);
  const std::string service_text = Format(service);
  absl::StatusOr<Hits> hits = client_.ns->Run([&]() -> absl::StatusOr<Hits> {
    Hits hits;
    for (int i = 0; i < kUdpFlows; ++i) {
      absl::StatusOr<ScopedFd> fd = UdpConnect(service);
      if (!fd.ok()) return fd.status();
      absl::StatusOr<std::string> local = SockName(fd->get());
      if (!local.ok()) return local.status();
      std::string first_identity;
      for (int d = 0; d < kUdpDatagramsPerFlow; ++d) {
        absl::StatusOr<DatagramResult> r = UdpRoundTrip(fd->get(), "hello");
        if (!r.ok()) return r.status();
        if (r->error != 0) {
          return ErrnoStatus(r->error, absl::StrCat("flow ", i, " datagram ", d,
                                                    " from ", *local));
        }
        if (r->from != service_text) {
          return absl::InternalError(absl::StrCat(
              "flow ", i, ": reply from ", r->from, ", want ", service_text));
        }
        absl::StatusOr<Reply> reply = ParseReply(r->text);
        if (!reply.ok()) return reply.status();
        if (reply->peer != *local) {
          return absl::InternalError(
              absl::StrCat("flow ", i, ": ", reply->identity, " saw ",
                           reply->peer, ", client is ", *local));
        }
        if (d == 0) {
          first_identity = reply->identity;
          ++hits[reply->identity];
        } else if (reply->identity != first_identity) {
          return absl::InternalError(
              absl::StrCat("flow ", i, " moved from ", first_identity, " to ",
                           reply->identity, " at datagram ", d));
        }
      }
    }
    return hits;
  });
  ASSERT_TRUE(hits.ok()) << hits.status();
  // P(fewer than 5 of 40) is about 1e-7.
  EXPECT_GE((*hits)[BackendIdentity(0)], 5);
  EXPECT_GE((*hits)[BackendIdentity(1)], 5);
  EXPECT_EQ(hits->size(), 2u);
}

// How a TCP connect and a UDP exchange to (ip, port) end, from the client.
struct Refusal {
  int tcp_error = 0;
  absl::Duration tcp_took;
  int udp_error = 0;
};

absl::StatusOr<Refusal> ProbeRefusal(const netns::Namespace& client,
                                     absl::string_view ip, uint16_t tcp_port,
                                     uint16_t udp_port) {
  return client.Run([&]() -> absl::StatusOr<Refusal> {
    Refusal refusal;
    absl::StatusOr<ConnectResult> c = ConnectTcp(SockAddr(ip, tcp_port));
    if (!c.ok()) return c.status();
    refusal.tcp_error = c->error;
    refusal.tcp_took = c->took;
    absl::StatusOr<ScopedFd> udp = UdpConnect(SockAddr(ip, udp_port));
    if (!udp.ok()) return udp.status();
    absl::StatusOr<DatagramResult> r = UdpRoundTrip(udp->get(), "hello");
    if (!r.ok()) return r.status();
    refusal.udp_error = r->error;
    return refusal;
  });
}

TEST_P(ClusterIpTest, PortWithoutEndpointsIsRefused) {
  absl::StatusOr<Refusal> refusal =
      ProbeRefusal(*client_.ns, kServiceIp, kEmptyPort, kEmptyPort);
  ASSERT_TRUE(refusal.ok()) << refusal.status();
  EXPECT_EQ(refusal->tcp_error, ECONNREFUSED) << strerror(refusal->tcp_error);
  EXPECT_LT(refusal->tcp_took, kRejectWithin);
  EXPECT_EQ(refusal->udp_error, ECONNREFUSED) << strerror(refusal->udp_error);
  EXPECT_GE(ReasonPackets(YARD_REASON_REJECT_NO_ENDPOINT), 2u);
  EXPECT_EQ(ReasonPackets(YARD_REASON_REJECT_FAILED), 0u);
}

TEST_P(ClusterIpTest, PortTheServiceDoesNotDefineIsRefused) {
  absl::StatusOr<Refusal> refusal = ProbeRefusal(
      *client_.ns, kServiceIp, kUndefinedTcpPort, kUndefinedUdpPort);
  ASSERT_TRUE(refusal.ok()) << refusal.status();
  EXPECT_EQ(refusal->tcp_error, ECONNREFUSED) << strerror(refusal->tcp_error);
  EXPECT_LT(refusal->tcp_took, kRejectWithin);
  EXPECT_EQ(refusal->udp_error, ECONNREFUSED) << strerror(refusal->udp_error);
  EXPECT_GE(ReasonPackets(YARD_REASON_REJECT_NO_PORT), 2u);
  EXPECT_EQ(ReasonPackets(YARD_REASON_REJECT_FAILED), 0u);
}

// Large writes: with offload on, the pod sends TSO segments (up to 64 KiB,
// CHECKSUM_PARTIAL) that the datapath translates whole.
TEST_P(ClusterIpTest, BulkUploadIsTranslated) {
  constexpr size_t kUploadBytes = 1 << 20;
  const sockaddr_in service = SockAddr(kServiceIp, kTcpPort);
  absl::Status status = client_.ns->Run([&]() -> absl::Status {
    absl::StatusOr<ScopedFd> fd = MustConnect(service);
    if (!fd.ok()) return fd.status();
    absl::StatusOr<std::string> local = SockName(fd->get());
    if (!local.ok()) return local.status();
    std::string upload(kUploadBytes, 'x');
    upload.back() = '\n';
    for (int round = 0; round < 3; ++round) {
      absl::StatusOr<Reply> reply = Exchange(fd->get(), upload);
      if (!reply.ok()) {
        return absl::Status(
            reply.status().code(),
            absl::StrCat("upload ", round, ": ", reply.status().message()));
      }
      if (reply->peer != *local) {
        return absl::InternalError(
            absl::StrCat("upload ", round, ": backend saw ", reply->peer));
      }
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
}

// The node forwards to the endpoints over a link with a smaller MTU (1400)
// than the pod's (1500): the node answers the pod's first full-size
// segments with "fragmentation needed", quoting them as translated (to the
// endpoint). Only once the quote names the service does the pod's socket
// learn the path MTU; otherwise the upload stalls (a PMTU black hole).
// 10 MB on one connection.
TEST_P(ClusterIpTest, UploadThroughASmallerMtuHopLearnsThePathMtu) {
  for (const PodSpec& backend : kBackendPods) {
    ASSERT_OK(node_->ExecOk(
        absl::StrCat("ip link set dev ", backend.host_dev, " mtu 1400")));
  }
  constexpr size_t kRoundBytes = 1 << 20;
  const sockaddr_in service = SockAddr(kServiceIp, kTcpPort);
  absl::Status status = client_.ns->Run([&]() -> absl::Status {
    absl::StatusOr<ScopedFd> fd = MustConnect(service);
    if (!fd.ok()) return fd.status();
    std::string upload(kRoundBytes, 'x');
    upload.back() = '\n';
    for (int round = 0; round < 10; ++round) {
      absl::StatusOr<Reply> reply = Exchange(fd->get(), upload);
      if (!reply.ok()) {
        return absl::Status(
            reply.status().code(),
            absl::StrCat("megabyte ", round, ": ", reply.status().message()));
      }
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
}

TEST_P(ClusterIpTest, EstablishedConnectionSurvivesEndpointChurn) {
  const sockaddr_in service = SockAddr(kServiceIp, kTcpPort);
  absl::StatusOr<ScopedFd> conn = client_.ns->Run(
      [&]() -> absl::StatusOr<ScopedFd> { return MustConnect(service); });
  ASSERT_TRUE(conn.ok()) << conn.status();
  absl::StatusOr<std::string> local = SockName(conn->get());
  ASSERT_TRUE(local.ok()) << local.status();
  absl::StatusOr<Reply> first = Exchange(conn->get(), "hello\n");
  ASSERT_TRUE(first.ok()) << first.status();

  // The connection's backend stays; the other one leaves and comes back.
  const int kept = first->identity == BackendIdentity(0) ? 0 : 1;
  const int churned = 1 - kept;
  const uint32_t kept_id = kept == 0 ? kBe1Tcp : kBe2Tcp;
  const uint32_t churned_id = churned == 0 ? kBe1Tcp : kBe2Tcp;
  ASSERT_EQ(first->identity, BackendIdentity(kept));

  // The established connection answers from its own backend, as itself.
  auto still_pinned = [&](absl::string_view step) {
    SCOPED_TRACE(step);
    absl::StatusOr<Reply> reply = Exchange(conn->get(), "again\n");
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->identity, BackendIdentity(kept));
    EXPECT_EQ(reply->peer, *local);
  };
  // New connections made now: which backends they reach.
  auto new_connections = [&](int n) -> absl::StatusOr<Hits> {
    return client_.ns->Run([&]() -> absl::StatusOr<Hits> {
      Hits hits;
      for (int i = 0; i < n; ++i) {
        absl::StatusOr<ScopedFd> fd = MustConnect(service);
        if (!fd.ok()) return fd.status();
        absl::StatusOr<Reply> reply = Exchange(fd->get(), "hello\n");
        if (!reply.ok()) return reply.status();
        ++hits[reply->identity];
      }
      return hits;
    });
  };

  kernel::DatapathMaps& m = maps();
  yard_slot_key slot1 = {kSvcTcp, 1}, slot2 = {kSvcTcp, 2};
  const yard_svc4_key frontend = FrontendKey(kServiceIp, kTcpPort, IPPROTO_TCP);

  // Removal, in the reverse of the add order: the slots stop naming the
  // leaving backend (slot 1 takes the kept one, then the count shrinks so
  // slot 2 is out of range before it is deleted), and only then the
  // backend entry goes.
  ASSERT_OK(m.PutSlot(slot1, {kept_id}));
  still_pinned("slot 1 rewritten");
  ASSERT_OK(PutFrontend(m, frontend, kSvcTcp, kRevNatTcp, 1));
  still_pinned("count 1");
  ASSERT_OK(m.DeleteSlot(slot2));
  still_pinned("slot 2 deleted");
  ASSERT_OK(m.ClearBackend(churned_id));
  still_pinned("backend cleared");

  absl::StatusOr<Hits> during = new_connections(20);
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_EQ((*during)[BackendIdentity(kept)], 20);
  still_pinned("after new connections");

  // Back again: backend, slot, count.
  ASSERT_OK(
      PutBackend(m, churned_id, kBackendPods[churned].ip, kTcpTargetPort));
  still_pinned("backend re-added");
  ASSERT_OK(m.PutSlot(slot2, {churned_id}));
  still_pinned("slot 2 re-added");
  ASSERT_OK(PutFrontend(m, frontend, kSvcTcp, kRevNatTcp, 2));
  still_pinned("count 2");

  // P(30 new connections all missing the returned backend) = 2^-30.
  absl::StatusOr<Hits> after = new_connections(30);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_GE((*after)[BackendIdentity(churned)], 1);
  still_pinned("at the end");
  EXPECT_EQ(ReasonPackets(YARD_REASON_BACKEND_GONE), 0u);
  EXPECT_EQ(ReasonPackets(YARD_REASON_SLOT_MISSING), 0u);
}

TEST_P(ClusterIpTest, HairpinReachesItself) {
  const Pod& be1 = backends_[0];
  const sockaddr_in tcp_service = SockAddr(kHairpinServiceIp, kTcpPort);
  const sockaddr_in udp_service = SockAddr(kHairpinServiceIp, kUdpPort);
  absl::Status status = be1.ns->Run([&]() -> absl::Status {
    absl::StatusOr<ScopedFd> fd = MustConnect(tcp_service);
    if (!fd.ok()) return fd.status();
    absl::StatusOr<std::string> peer = PeerName(fd->get());
    absl::StatusOr<std::string> local = SockName(fd->get());
    if (!peer.ok()) return peer.status();
    if (!local.ok()) return local.status();
    if (*peer != Format(tcp_service)) {
      return absl::InternalError(absl::StrCat("tcp peer is ", *peer));
    }
    // The pod sees itself only as the hairpin address, same port.
    const std::string want_seen =
        absl::StrCat(HairpinSource(), local->substr(local->find(':')));
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<Reply> reply = Exchange(fd->get(), "hello\n");
      if (!reply.ok()) return reply.status();
      if (reply->identity != kBackendPods[0].identity ||
          reply->peer != want_seen) {
        return absl::InternalError(absl::StrCat(
            "tcp exchange ", i, ": ", reply->identity, " saw ", reply->peer,
            ", want ", kBackendPods[0].identity, " seeing ", want_seen));
      }
    }

    absl::StatusOr<ScopedFd> udp = UdpConnect(udp_service);
    if (!udp.ok()) return udp.status();
    absl::StatusOr<std::string> udp_local = SockName(udp->get());
    if (!udp_local.ok()) return udp_local.status();
    const std::string udp_want_seen =
        absl::StrCat(HairpinSource(), udp_local->substr(udp_local->find(':')));
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<DatagramResult> r = UdpRoundTrip(udp->get(), "hello");
      if (!r.ok()) return r.status();
      if (r->error != 0) return ErrnoStatus(r->error, "udp hairpin");
      if (r->from != Format(udp_service)) {
        return absl::InternalError(absl::StrCat("udp reply from ", r->from));
      }
      absl::StatusOr<Reply> reply = ParseReply(r->text);
      if (!reply.ok()) return reply.status();
      if (reply->identity != kBackendPods[0].identity ||
          reply->peer != udp_want_seen) {
        return absl::InternalError(absl::StrCat(
            "udp exchange ", i, ": ", reply->identity, " saw ", reply->peer,
            ", want ", kBackendPods[0].identity, " seeing ", udp_want_seen));
      }
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
}

// A pod reaches an endpoint through the service, closes, then connects to
// that endpoint directly from the same source port: the direct connection
// has the service flow's real tuple and must get plain answers from the
// endpoint. TCP and UDP, 50 times each, every one answered.
TEST_P(ClusterIpTest, DirectConnectionFromAServiceFlowsPortIsAnswered) {
  constexpr int kRounds = 50;
  std::map<std::string, std::string> ip_of = {
      {kBackendPods[0].identity, kBackendPods[0].ip},
      {kBackendPods[1].identity, kBackendPods[1].ip}};
  absl::Status done = client_.ns->Run([&]() -> absl::Status {
    for (int i = 0; i < kRounds; ++i) {
      const uint16_t port = static_cast<uint16_t>(42000 + i);
      absl::StatusOr<Reply> via_service =
          e2e::TcpCall(SockAddr(kServiceIp, kTcpPort), kConnectTimeout, port);
      if (!via_service.ok()) {
        return absl::InternalError(absl::StrCat(
            "round ", i,
            ", TCP via the service: ", via_service.status().ToString()));
      }
      const std::string endpoint = ip_of[via_service->identity];
      absl::StatusOr<Reply> direct = e2e::TcpCall(
          SockAddr(endpoint, kTcpTargetPort), kConnectTimeout, port);
      if (!direct.ok()) {
        return absl::InternalError(absl::StrCat(
            "round ", i, ", TCP direct to ", endpoint, " from port ", port,
            ": ", direct.status().ToString()));
      }
      if (direct->identity != via_service->identity) {
        return absl::InternalError("direct TCP answered by another endpoint");
      }
      absl::StatusOr<Reply> udp_service =
          e2e::UdpCall(SockAddr(kServiceIp, kUdpPort), port);
      if (!udp_service.ok()) {
        return absl::InternalError(absl::StrCat(
            "round ", i,
            ", UDP via the service: ", udp_service.status().ToString()));
      }
      const std::string udp_endpoint = ip_of[udp_service->identity];
      absl::StatusOr<Reply> udp_direct =
          e2e::UdpCall(SockAddr(udp_endpoint, kUdpTargetPort), port);
      if (!udp_direct.ok()) {
        return absl::InternalError(absl::StrCat(
            "round ", i, ", UDP direct to ", udp_endpoint, " from port ", port,
            ": ", udp_direct.status().ToString()));
      }
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(done.ok()) << done;
}

// A connection-heavy client (tcp_tw_reuse on, ephemeral ports chosen by
// the kernel per destination) alternating between the service and its
// endpoints directly for 30 s: not one connection may fail.
TEST_P(ClusterIpTest, AlternatingServiceAndDirectConnectionsNeverFail) {
  if (GetParam()) GTEST_SKIP() << "checksum offload plays no part: run once";
  ASSERT_OK(client_.ns->ExecOk("sysctl -qw net.ipv4.tcp_tw_reuse=1"));
  constexpr absl::Duration kFor = absl::Seconds(30);
  struct Counts {
    int service = 0, direct = 0;
    std::vector<std::string> failures;
  };
  absl::StatusOr<Counts> counts =
      client_.ns->Run([&]() -> absl::StatusOr<Counts> {
        Counts c;
        const absl::Time end = absl::Now() + kFor;
        for (int i = 0; absl::Now() < end; ++i) {
          const bool direct = i % 2 == 1;
          const sockaddr_in to =
              direct ? SockAddr(kBackendPods[(i / 2) % 2].ip, kTcpTargetPort)
                     : SockAddr(kServiceIp, kTcpPort);
          absl::StatusOr<Reply> r = e2e::TcpCall(to, kConnectTimeout);
          if (!r.ok()) {
            if (c.failures.size() < 5) {
              c.failures.push_back(
                  absl::StrCat(Format(to), ": ", r.status().ToString()));
            } else {
              c.failures.push_back("");
            }
          } else {
            ++(direct ? c.direct : c.service);
          }
          // A paced loop: the client's TIME_WAIT sockets stay well
          // within the ephemeral range.
          absl::SleepFor(absl::Milliseconds(2));
        }
        return c;
      });
  ASSERT_TRUE(counts.ok()) << counts.status();
  std::cerr << "alternating for " << absl::FormatDuration(kFor) << ": "
            << counts->service << " via the service, " << counts->direct
            << " direct, " << counts->failures.size() << " failed\n";
  EXPECT_TRUE(counts->failures.empty())
      << counts->failures.size() << " failed, first: "
      << absl::StrJoin(counts->failures.begin(),
                       counts->failures.begin() +
                           std::min<size_t>(5, counts->failures.size()),
                       "; ");
  EXPECT_GT(counts->service, 1000);
  EXPECT_GT(counts->direct, 1000);
}

// The stack bypass (YARD_FEATURE_STACK_BYPASS), on in the plain run and
// off in the fallbacks run: TCP and UDP through the ClusterIP to local
// endpoints, each way counted as sent straight into the pod when it is
// on (the request into the endpoint, the reply into the client) and
// never when it is off; a direct connection between pods, which no
// service flow tracks, keeps the stack either way.
TEST_P(ClusterIpTest, StackBypassCarriesServiceTrafficWhenOn) {
  const bool on = datapath_->features().on(kernel::Feature::kStackBypass);
  const uint64_t peer_before = ReasonPackets(YARD_REASON_BYPASS_PEER);
  absl::Status done = client_.ns->Run([&]() -> absl::Status {
    for (int i = 0; i < 10; ++i) {
      absl::StatusOr<Reply> tcp =
          e2e::TcpCall(SockAddr(kServiceIp, kTcpPort), kConnectTimeout);
      if (!tcp.ok()) return tcp.status();
      absl::StatusOr<Reply> udp = e2e::UdpCall(SockAddr(kServiceIp, kUdpPort));
      if (!udp.ok()) return udp.status();
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(done.ok()) << done;
  const uint64_t peer = ReasonPackets(YARD_REASON_BYPASS_PEER) - peer_before;
  if (on) {
    // A TCP call is at least SYN, ACK, data, FIN each way; a UDP call one
    // datagram each way.
    EXPECT_GE(peer, 10u * (2 * 4 + 2)) << Counters();
  } else {
    EXPECT_EQ(peer, 0u) << Counters();
  }
  // Local endpoints only: nothing goes out another device.
  EXPECT_EQ(ReasonPackets(YARD_REASON_BYPASS_NEIGH), 0u) << Counters();

  const uint64_t before_direct = ReasonPackets(YARD_REASON_BYPASS_PEER);
  absl::Status direct = client_.ns->Run([&]() -> absl::Status {
    for (int i = 0; i < 5; ++i) {
      absl::StatusOr<Reply> r = e2e::TcpCall(
          SockAddr(kBackendPods[0].ip, kTcpTargetPort), kConnectTimeout);
      if (!r.ok()) return r.status();
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(direct.ok()) << direct;
  EXPECT_EQ(ReasonPackets(YARD_REASON_BYPASS_PEER), before_direct)
      << "traffic between pods that no service flow tracks was bypassed";
}

INSTANTIATE_TEST_SUITE_P(TxChecksum, ClusterIpTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "OffloadOn" : "OffloadOff";
                         });

}  // namespace
}  // namespace switchyard
