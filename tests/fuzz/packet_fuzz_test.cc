// SPDX-License-Identifier: Apache-2.0
// Packet fuzzing: random and mutated frames through every datapath program
// (yard_from_pod, yard_to_pod, yard_from_outside (XDP),
// yard_outside_ingress, yard_to_outside) with BPF_PROG_TEST_RUN, on the
// real object loaded by Datapath::Load and a small cluster in its maps.
//
// Frames start from valid ones the packet builder makes (to a service, a
// reply from an endpoint, ICMP errors quoting either, frames between
// addresses no service uses, other EtherTypes and L4 protocols, VLAN tags,
// IP options, fragments) and are then mutated: cut short, bits flipped,
// an odd IHL, a wrong total length, fragment bits, bytes overwritten.
// Checked on every run:
//   - the run returns without error: nothing the verifier approved fails
//     on any input;
//   - a frame in which no address the datapath knows appears (no service,
//     endpoint, node, or hairpin address anywhere in its bytes) leaves
//     exactly as it came whenever the verdict is "pass": nothing else is
//     the datapath's to touch;
//   - a whole TCP/UDP frame with valid checksums that the datapath
//     changes leaves with valid IPv4 and L4 checksums, recomputed from
//     scratch by control/packet; sent to a service port, it leaves for one
//     of that cluster's endpoints; sent from an endpoint, it leaves from a
//     service address.
//
// Seeded and reproducible: the seed is printed (YARD_PACKET_FUZZ_SEED sets
// it) and a failure prints the frame in hex. YARD_PACKET_FUZZ_FRAMES sets
// how many frames (default 200,000, a few seconds; bounded to
// YARD_PACKET_FUZZ_SECONDS, default 20); longer runs:
//   sudo YARD_PACKET_FUZZ_FRAMES=1000000 YARD_PACKET_FUZZ_SECONDS=3600
//     build/tests/fuzz/yard_packet_fuzz_test
//
// The suite runs in a network namespace of its own, so the XDP program's
// FIB lookups see an empty table rather than the host's.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "control/common/scoped_fd.h"
#include "control/kernel/datapath.h"
#include "control/kernel/datapath_maps.h"
#include "control/kernel/node_programs.h"
#include "control/packet/icmp_quote.h"
#include "control/packet/packet_builder.h"
#include "control/packet/packet_decoder.h"
#include "control/packet/packet_types.h"
#include "gtest/gtest.h"
#include "tests/packet/prog_run.h"
#include "yard_abi.h"

namespace switchyard {
namespace {

using packet::Bytes;
using packet::IpBe;
using packet::PacketBuilder;
using packet::PortBe;

constexpr int kTcPass = 0;   // TC_ACT_OK
constexpr int kXdpPass = 2;  // XDP_PASS

enum class Prog { kFromPod, kToPod, kFromOutside, kOutsideIngress, kToOutside };
constexpr Prog kProgs[] = {Prog::kFromPod, Prog::kToPod, Prog::kFromOutside,
                           Prog::kOutsideIngress, Prog::kToOutside};
const char* ProgName(Prog p) {
  switch (p) {
    case Prog::kFromPod:
      return "yard_from_pod";
    case Prog::kToPod:
      return "yard_to_pod";
    case Prog::kFromOutside:
      return "yard_from_outside";
    case Prog::kOutsideIngress:
      return "yard_outside_ingress";
    case Prog::kToOutside:
      return "yard_to_outside";
  }
  return "?";
}
bool Forward(Prog p) {
  return p == Prog::kFromPod || p == Prog::kFromOutside ||
         p == Prog::kOutsideIngress;
}

// The cluster. Pods see the ClusterIP; outside clients the node's
// NodePorts and an external IP.
constexpr const char* kClusterIp = "10.96.0.10";
constexpr const char* kEmptyIp = "10.96.0.20";  // a port without endpoints
constexpr const char* kNode = "172.31.0.11";
constexpr const char* kExternalIp = "203.0.113.10";
constexpr const char* kHairpin = "169.254.42.1";  // the datapath's default
constexpr const char* kPodClient = "10.244.0.5";
constexpr const char* kOutsideClient = "198.51.100.7";

struct Endpoint {
  uint32_t id;
  const char* addr;
  uint16_t port;
};
constexpr Endpoint kEndpoints[] = {
    {1, "10.244.1.2", 8080}, {2, "10.244.1.3", 8080}, {3, "10.244.1.4", 5353}};

struct ServicePort {
  uint32_t id;
  const char* addr;
  uint16_t port;
  uint8_t proto;
  uint8_t scope;
  std::vector<uint32_t> endpoints;
};
const std::vector<ServicePort>& ServicePorts() {
  static const auto* ports = new std::vector<ServicePort>{
      {1, kClusterIp, 80, packet::kProtoTcp, YARD_SCOPE_INTERNAL, {1, 2}},
      {2, kClusterIp, 53, packet::kProtoUdp, YARD_SCOPE_INTERNAL, {3}},
      {3, kEmptyIp, 443, packet::kProtoTcp, YARD_SCOPE_INTERNAL, {}},
      {4, kNode, 30080, packet::kProtoTcp, YARD_SCOPE_EXTERNAL, {1, 2}},
      {5, kNode, 30053, packet::kProtoUdp, YARD_SCOPE_EXTERNAL, {3}},
      {6, kExternalIp, 80, packet::kProtoTcp, YARD_SCOPE_EXTERNAL, {1}},
  };
  return *ports;
}

// Addresses no service, endpoint or node uses: traffic between them is
// none of the datapath's business.
constexpr const char* kBystanders[] = {"10.250.0.1", "10.250.0.2", "192.0.2.33",
                                       "100.64.9.9"};

std::string Hex(const Bytes& frame) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : frame) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 0) : fallback;
}

class FrameMaker {
 public:
  explicit FrameMaker(uint64_t seed) : rng_(seed) {}

  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  bool Chance(uint32_t one_in) { return Below(one_in) == 0; }
  template <typename T, size_t N>
  const T& Pick(const T (&pool)[N]) {
    return pool[Below(N)];
  }
  uint16_t EphemeralPort() {
    return static_cast<uint16_t>(32768 + Below(28000));
  }

  // A valid frame for `prog`, then (mostly) mutated.
  Bytes Make(Prog prog) {
    Bytes frame = Base(prog);
    if (!Chance(4)) Mutate(frame);
    if (frame.size() < 14) frame.resize(14, 0);  // BPF_PROG_TEST_RUN's floor
    return frame;
  }

 private:
  PacketBuilder Headers(const char* from, const char* to) {
    PacketBuilder b;
    if (Chance(16)) b.Vlan(static_cast<uint16_t>(Below(4095)));
    b.Ipv4(from, to)
        .Id(static_cast<uint16_t>(rng_()))
        .Ttl(static_cast<uint8_t>(1 + Below(255)));
    if (Chance(8)) b.DontFragment();
    if (Chance(16)) b.IpOptions({0x01, 0x01, 0x01, 0x00});  // NOP NOP NOP EOL
    if (Chance(24)) b.MoreFragments();
    if (Chance(24)) b.FragmentOffset(static_cast<uint16_t>(1 + Below(100)));
    return b;
  }

  void L4(PacketBuilder& b, uint8_t proto, uint16_t sport, uint16_t dport) {
    static const uint8_t kFlags[] = {packet::kTcpSyn,
                                     packet::kTcpAck,
                                     packet::kTcpSyn | packet::kTcpAck,
                                     packet::kTcpFin | packet::kTcpAck,
                                     packet::kTcpRst,
                                     packet::kTcpPsh | packet::kTcpAck};
    if (proto == packet::kProtoTcp) {
      b.Tcp(sport, dport)
          .Flags(Pick(kFlags))
          .Seq(static_cast<uint32_t>(rng_()));
      if (Chance(4)) b.TcpOptions({0x02, 0x04, 0x05, 0xb4});
    } else if (proto == packet::kProtoUdp) {
      b.Udp(sport, dport);
      if (Chance(16)) b.NoUdpChecksum();
    } else if (proto == packet::kProtoIcmp) {
      b.Icmp(Chance(2) ? packet::kIcmpEcho : packet::kIcmpEchoReply, 0,
             static_cast<uint32_t>(rng_()));
    } else {
      b.Protocol(proto);
    }
    Bytes payload(Below(64));
    for (uint8_t& x : payload) x = static_cast<uint8_t>(rng_());
    b.Payload(payload);
  }

  uint8_t AnyProto() {
    static const uint8_t kProtos[] = {packet::kProtoTcp,
                                      packet::kProtoUdp,
                                      packet::kProtoIcmp,
                                      47 /* GRE */,
                                      132 /* SCTP */,
                                      0,
                                      255};
    return Pick(kProtos);
  }

  Bytes Base(Prog prog) {
    const char* client =
        Forward(prog) && prog != Prog::kFromPod ? kOutsideClient : kPodClient;
    const std::vector<ServicePort>& ports = ServicePorts();
    switch (Below(6)) {
      case 0:
      case 1: {  // to a service port (or its address, another port)
        const ServicePort& sp = ports[Below(ports.size())];
        uint8_t proto = Chance(5) ? AnyProto() : sp.proto;
        uint16_t dport =
            Chance(6) ? static_cast<uint16_t>(Below(65536)) : sp.port;
        PacketBuilder b = Headers(client, sp.addr);
        L4(b, proto, EphemeralPort(), dport);
        return b.Build();
      }
      case 2: {  // an endpoint's answer to a client
        const Endpoint& e = Pick(kEndpoints);
        PacketBuilder b = Headers(e.addr, client);
        L4(b, Chance(2) ? packet::kProtoTcp : packet::kProtoUdp, e.port,
           EphemeralPort());
        return b.Build();
      }
      case 3: {  // an ICMP error quoting a flow to a service or from one
        const ServicePort& sp = ports[Below(ports.size())];
        const Endpoint& e = Pick(kEndpoints);
        PacketBuilder quoted =
            Chance(2) ? Headers(client, sp.addr) : Headers(e.addr, client);
        L4(quoted, sp.proto, EphemeralPort(), sp.port);
        const char* from = Chance(2) ? e.addr : Pick(kBystanders);
        PacketBuilder b = Headers(from, client);
        b.Icmp(packet::kIcmpDestUnreach, static_cast<uint8_t>(Below(5)),
               Chance(2) ? 1400 : 0)
            .Payload(packet::Quote(quoted.Build()));
        return b.Build();
      }
      case 4: {  // between bystanders, ICMP errors about them included
        const char* from = Pick(kBystanders);
        const char* to = Pick(kBystanders);
        PacketBuilder b = Headers(from, to);
        if (Chance(4)) {
          PacketBuilder quoted = Headers(to, Pick(kBystanders));
          L4(quoted, Chance(2) ? packet::kProtoTcp : packet::kProtoUdp,
             EphemeralPort(), static_cast<uint16_t>(Below(65536)));
          b.Icmp(packet::kIcmpDestUnreach, static_cast<uint8_t>(Below(16)))
              .Payload(packet::Quote(quoted.Build()));
        } else {
          L4(b, AnyProto(), static_cast<uint16_t>(Below(65536)),
             static_cast<uint16_t>(Below(65536)));
        }
        return b.Build();
      }
      default: {  // not IPv4 at all, or random bytes after Ethernet
        static const uint16_t kTypes[] = {0x0806, 0x86dd, 0x88cc, 0x0800};
        Bytes payload(Below(80));
        for (uint8_t& x : payload) x = static_cast<uint8_t>(rng_());
        return PacketBuilder().EtherType(Pick(kTypes)).Payload(payload).Build();
      }
    }
  }

  void Mutate(Bytes& frame) {
    // Where the IPv4 header starts when there is one (a VLAN tag moves it).
    size_t ip =
        frame.size() > 13 && frame[12] == 0x81 && frame[13] == 0 ? 18 : 14;
    for (uint32_t n = 1 + Below(3); n > 0; --n) {
      switch (Below(8)) {
        case 0:  // cut short, often inside a header
          frame.resize(14 + Below(static_cast<uint32_t>(frame.size()) - 13));
          break;
        case 1:  // flip a few bits anywhere
          for (uint32_t k = 1 + Below(4); k > 0; --k) {
            frame[Below(frame.size())] ^= static_cast<uint8_t>(1u << Below(8));
          }
          break;
        case 2:  // an odd IHL (or version)
          if (frame.size() > ip) {
            frame[ip] = Chance(4) ? static_cast<uint8_t>(rng_())
                                  : static_cast<uint8_t>(0x40 | Below(16));
          }
          break;
        case 3:  // a wrong total length
          if (frame.size() > ip + 3) {
            frame[ip + 2] = static_cast<uint8_t>(rng_());
            frame[ip + 3] = static_cast<uint8_t>(rng_());
          }
          break;
        case 4:  // fragment bits and offset
          if (frame.size() > ip + 7) {
            frame[ip + 6] = static_cast<uint8_t>(rng_());
            frame[ip + 7] = static_cast<uint8_t>(rng_());
          }
          break;
        case 5:  // another L4 protocol in the header
          if (frame.size() > ip + 9) frame[ip + 9] = AnyProto();
          break;
        case 6:  // bytes overwritten after the IPv4 header
          for (uint32_t k = 1 + Below(8); k > 0 && frame.size() > ip + 20;
               --k) {
            frame[ip + 20 + Below(frame.size() - ip - 20)] =
                static_cast<uint8_t>(rng_());
          }
          break;
        case 7:  // trailing garbage (Ethernet padding or worse)
          for (uint32_t k = Below(32); k > 0; --k) {
            frame.push_back(static_cast<uint8_t>(rng_()));
          }
          break;
      }
      if (frame.size() < 14) frame.resize(14, 0);
    }
  }

  std::mt19937_64 rng_;
};

class PacketFuzzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (BPF_PROG_TEST_RUN)";
    // Our own network namespace for this thread: the XDP program's FIB
    // lookups must not read the host's routes.
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare: " << std::strerror(errno);
    kernel::DatapathConfig config;  // no pin_dir: nothing pinned
    config.max_frontends = 64;
    config.max_slots = 256;
    config.max_backends = 64;
    config.max_ct_entries = 4096;
    config.max_source_ranges = 64;
    config.snat_addr_be = IpBe(kNode);
    absl::StatusOr<std::unique_ptr<kernel::Datapath>> dp =
        kernel::Datapath::Load(config);
    ASSERT_TRUE(dp.ok()) << dp.status();
    dp_ = *std::move(dp);
    ASSERT_NO_FATAL_FAILURE(FindToOutside());
    ASSERT_NO_FATAL_FAILURE(InstallCluster());
  }

  // Datapath has no accessor for yard_to_outside: find the loaded program
  // of that name that uses this datapath's conntrack map.
  void FindToOutside() {
    bpf_map_info map = {};
    uint32_t len = sizeof(map);
    ASSERT_EQ(bpf_obj_get_info_by_fd(dp_->maps().ct4_fd(), &map, &len), 0);
    uint32_t id = 0;
    while (bpf_prog_get_next_id(id, &id) == 0) {
      absl::StatusOr<kernel::ProgramInfo> info = kernel::ReadProgramInfo(id);
      if (!info.ok() || info->name != "yard_to_outside") continue;
      if (std::find(info->map_ids.begin(), info->map_ids.end(), map.id) ==
          info->map_ids.end()) {
        continue;
      }
      to_outside_ = ScopedFd(bpf_prog_get_fd_by_id(id));
      ASSERT_TRUE(to_outside_.valid());
      return;
    }
    FAIL() << "yard_to_outside of this datapath not found";
  }

  void InstallCluster() {
    kernel::DatapathMaps& maps = dp_->maps();
    for (const Endpoint& e : kEndpoints) {
      yard_backend4 value = {};
      value.addr = IpBe(e.addr);
      value.port = PortBe(e.port);
      value.state = YARD_BACKEND_ACTIVE;
      ASSERT_TRUE(maps.PutBackend(e.id, value).ok());
    }
    std::set<std::pair<std::string, uint8_t>> wildcards;
    for (const ServicePort& sp : ServicePorts()) {
      for (size_t i = 0; i < sp.endpoints.size(); ++i) {
        ASSERT_TRUE(maps.PutSlot({sp.id, static_cast<uint32_t>(i + 1)},
                                 {sp.endpoints[i]})
                        .ok());
      }
      yard_rnat4 rnat = {};
      rnat.addr = IpBe(sp.addr);
      rnat.port = PortBe(sp.port);
      ASSERT_TRUE(maps.PutRevNat(sp.id, rnat).ok());
      yard_svc_value value = {};
      value.svc_id = sp.id;
      value.rev_nat_id = sp.id;
      value.count = static_cast<uint16_t>(sp.endpoints.size());
      value.policy = YARD_POLICY_RANDOM;
      ASSERT_TRUE(
          maps.PutFrontend(kernel::ServiceKey(IpBe(sp.addr), PortBe(sp.port),
                                              sp.proto, sp.scope),
                           value)
              .ok());
      wildcards.insert({sp.addr, sp.scope});
    }
    for (const auto& [addr, scope] : wildcards) {
      if (std::string(addr) == kNode) continue;  // the node's own ports
      yard_svc_value value = {};
      value.flags = YARD_SVC_F_WILDCARD;
      ASSERT_TRUE(
          maps.PutFrontend(kernel::WildcardKey(IpBe(addr), scope), value).ok());
    }
  }

  int Fd(Prog p) const {
    switch (p) {
      case Prog::kFromPod:
        return dp_->from_pod_fd();
      case Prog::kToPod:
        return dp_->to_pod_fd();
      case Prog::kFromOutside:
        return dp_->from_outside_fd();
      case Prog::kOutsideIngress:
        return dp_->outside_ingress_fd();
      case Prog::kToOutside:
        return to_outside_.get();
    }
    return -1;
  }

  std::unique_ptr<kernel::Datapath> dp_;
  ScopedFd to_outside_{-1};
};

// Whether any address the datapath acts on appears anywhere in `frame`.
bool MentionsKnownAddress(const Bytes& frame) {
  static const std::vector<uint32_t>* known = [] {
    auto* out = new std::vector<uint32_t>;
    for (const char* a : {kClusterIp, kEmptyIp, kNode, kExternalIp, kHairpin}) {
      out->push_back(IpBe(a));
    }
    for (const Endpoint& e : kEndpoints) out->push_back(IpBe(e.addr));
    return out;
  }();
  for (size_t i = 0; i + 4 <= frame.size(); ++i) {
    uint32_t word;
    std::memcpy(&word, &frame[i], 4);
    if (std::find(known->begin(), known->end(), word) != known->end()) {
      return true;
    }
  }
  return false;
}

// BPF_PROG_TEST_RUN itself refuses (EINVAL) a tc frame whose EtherType
// promises an IPv4 or IPv6 header the frame is too short to hold: the
// kernel checks its test input before any program runs. Such frames never
// reach a program from a real device either (the stack drops them first).
bool KernelRefusesInput(Prog prog, const Bytes& frame) {
  if (prog == Prog::kFromOutside || frame.size() < 14) return false;
  const uint16_t type = static_cast<uint16_t>(frame[12] << 8 | frame[13]);
  const size_t l3 = frame.size() - 14;
  return (type == 0x0800 && l3 < 20) || (type == 0x86dd && l3 < 40);
}

// A whole, unfragmented TCP or UDP datagram whose checksums are right.
bool WholeValidTcpUdp(const Bytes& frame, const packet::DecodedFrame& d) {
  return d.ip.has_value() && d.incomplete.empty() && d.ip->version == 4 &&
         d.ip->ihl >= 5 && !d.ip->mf && d.ip->frag_offset == 0 &&
         (d.tcp.has_value() || d.udp.has_value()) &&
         packet::VerifyChecksums(frame).ok();
}

TEST_F(PacketFuzzTest, RandomAndMutatedFramesKeepTheInvariants) {
  const uint64_t seed =
      EnvOr("YARD_PACKET_FUZZ_SEED",
            static_cast<uint64_t>(
                std::chrono::system_clock::now().time_since_epoch().count()));
  const uint64_t frames = EnvOr("YARD_PACKET_FUZZ_FRAMES", 200000);
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::seconds(EnvOr("YARD_PACKET_FUZZ_SECONDS", 20));
  std::printf("packet fuzz seed %llu (YARD_PACKET_FUZZ_SEED=%llu repeats it)\n",
              static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  FrameMaker maker(seed);

  std::set<uint32_t> endpoint_addrs, service_addrs;
  for (const Endpoint& e : kEndpoints) endpoint_addrs.insert(IpBe(e.addr));
  for (const ServicePort& sp : ServicePorts())
    service_addrs.insert(IpBe(sp.addr));
  auto is_frontend = [](const packet::DecodedFrame& d, bool outside) {
    for (const ServicePort& sp : ServicePorts()) {
      uint16_t dport = d.tcp ? d.tcp->dport : d.udp->dport;
      uint8_t scope = outside ? YARD_SCOPE_EXTERNAL : YARD_SCOPE_INTERNAL;
      if (IpBe(sp.addr) == htonl(d.ip->daddr) && sp.port == dport &&
          sp.proto == d.ip->protocol && sp.scope == scope &&
          !sp.endpoints.empty()) {
        return true;
      }
    }
    return false;
  };

  uint64_t runs = 0, refused = 0, bystanders_passed = 0, changed_checked = 0,
           translated_checked = 0;
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0;
       i < frames && std::chrono::steady_clock::now() < deadline; ++i) {
    // Now and then start over with no flows, as a fresh node would.
    if (i % 1000 == 999) {
      ASSERT_TRUE(dp_->maps().ClearCt().ok());
    }
    const Prog prog = kProgs[maker.Below(5)];
    const Bytes frame = maker.Make(prog);
    const std::string where =
        absl::StrCat("frame ", i, " (seed ", seed, ") through ", ProgName(prog),
                     ": ", Hex(frame), "\n", packet::Describe(frame));
    absl::StatusOr<packet::ProgRun> run = packet::RunProg(Fd(prog), frame);
    ++runs;
    if (!run.ok() && KernelRefusesInput(prog, frame) &&
        absl::IsInvalidArgument(run.status())) {
      ++refused;  // the kernel's check of the test input, not the program
      continue;
    }
    ASSERT_TRUE(run.ok()) << run.status() << "\n" << where;
    const int pass = prog == Prog::kFromOutside ? kXdpPass : kTcPass;
    if (run->verdict != pass) continue;
    if (run->output == frame) {
      if (!MentionsKnownAddress(frame)) ++bystanders_passed;
      continue;
    }

    ASSERT_TRUE(MentionsKnownAddress(frame))
        << "a frame for no service was changed\n"
        << where << "\noutput: " << Hex(run->output) << "\n"
        << packet::DiffFrames(frame, run->output);
    ++changed_checked;

    const packet::DecodedFrame in = packet::Decode(frame);
    if (!WholeValidTcpUdp(frame, in)) continue;
    ++translated_checked;
    absl::Status sums = packet::VerifyChecksums(run->output);
    ASSERT_TRUE(sums.ok()) << sums << "\n"
                           << where << "\noutput: " << Hex(run->output) << "\n"
                           << packet::Describe(run->output);
    const packet::DecodedFrame out = packet::Decode(run->output);
    ASSERT_TRUE(out.ip.has_value()) << where;
    if (Forward(prog) && is_frontend(in, prog != Prog::kFromPod)) {
      EXPECT_TRUE(endpoint_addrs.contains(htonl(out.ip->daddr)))
          << "translated to no endpoint: " << packet::FormatIp(out.ip->daddr)
          << "\n"
          << where << "\noutput: " << Hex(run->output);
    }
    if (!Forward(prog) && endpoint_addrs.contains(htonl(in.ip->saddr))) {
      EXPECT_TRUE(service_addrs.contains(htonl(out.ip->saddr)))
          << "a reply not from a service address: "
          << packet::FormatIp(out.ip->saddr) << "\n"
          << where;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf(
      "%llu runs in %.1f s (%.0f/s), %llu refused by the kernel as "
      "test input; %llu frames for no service passed unchanged; %llu "
      "changed frames checked, %llu of them whole TCP/UDP with "
      "checksums recomputed\n",
      static_cast<unsigned long long>(runs), seconds, runs / seconds,
      static_cast<unsigned long long>(refused),
      static_cast<unsigned long long>(bystanders_passed),
      static_cast<unsigned long long>(changed_checked),
      static_cast<unsigned long long>(translated_checked));
}

}  // namespace
}  // namespace switchyard
