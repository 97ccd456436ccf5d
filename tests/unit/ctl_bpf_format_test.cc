// SPDX-License-Identifier: Apache-2.0
// `yardctl bpf` output from known map contents: the tables as people read
// them and the JSON schema README.md documents. Plain structs in, text out:
// no kernel.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>

#include "control/common/ipv4.h"
#include "control/ctl/bpf_format.h"
#include "tests/packet/map_keys.h"

namespace switchyard::ctl {
namespace {

using packet::CtKey;

constexpr uint64_t kSecond = 1000000000ull;
constexpr uint64_t kNow = 1000000 * kSecond;

uint32_t Ip(absl::string_view text) { return *ParseIpv4(text); }

yard_svc4_key Key(absl::string_view addr, uint16_t port, uint8_t proto) {
  yard_svc4_key key = {};
  key.addr = Ip(addr);
  key.port = htons(port);
  key.proto = proto;
  return key;
}

yard_svc_value Svc(uint32_t id, uint16_t count, uint8_t flags = 0) {
  yard_svc_value v = {};
  v.svc_id = id;
  v.rev_nat_id = id;
  v.count = count;
  v.flags = flags;
  return v;
}

yard_backend4 Be(absl::string_view addr, uint16_t port, uint8_t state) {
  yard_backend4 be = {};
  be.addr = Ip(addr);
  be.port = htons(port);
  be.state = state;
  return be;
}

// A service with a terminating endpoint past its count, its wildcard, a
// port whose slot names a backend id that is not written, and one without
// endpoints at an address that sorts first numerically but not as text.
ServicesView Services() {
  ServicesView view;
  view.node = "node-a";
  view.frontends = {
      {Key("10.96.0.10", 80, IPPROTO_TCP), Svc(1, 2)},
      {Key("10.96.0.20", 53, IPPROTO_UDP), Svc(2, 1)},
      {Key("10.96.0.10", 0, 0), Svc(0, 0, YARD_SVC_F_WILDCARD)},
      {Key("10.96.0.9", 443, IPPROTO_TCP), Svc(3, 0)},
  };
  view.slots = {
      {{1, 3}, {3}},
      {{1, 1}, {1}},
      {{1, 2}, {2}},
      {{2, 1}, {9}},
  };
  view.backends = {
      {2, Be("10.244.1.3", 8080, YARD_BACKEND_ACTIVE)},
      {1, Be("10.244.1.2", 8080, YARD_BACKEND_ACTIVE)},
      {3, Be("10.244.1.4", 8080, YARD_BACKEND_TERMINATING)},
  };
  return view;
}

TEST(BpfServices, OneRowPerBackendFrontendCellsOnTheFirst) {
  EXPECT_EQ(
      FormatServices(Services(), InspectOutput::kTable),
      R"(FRONTEND            FOR    TYPE                              SVC-ID   REV-NAT   COUNT   POLICY   SLOT   BACKEND-ID   BACKEND           STATE
10.96.0.9:443/TCP   pods   service (no endpoints: reject)    3        3         0       random   -      -            -                 -
10.96.0.10:*/*      pods   wildcard (reject unknown ports)   -        -         -       -        -      -            -                 -
10.96.0.10:80/TCP   pods   service                           1        1         2       random   1      1            10.244.1.2:8080   active
                                                                                                 2      2            10.244.1.3:8080   active
                                                                                                 3      3            10.244.1.4:8080   terminating (beyond count: unused)
10.96.0.20:53/UDP   pods   service                           2        2         1       random   1      9            -                 missing
)");
}

TEST(BpfServices, Json) {
  EXPECT_EQ(FormatServices(Services(), InspectOutput::kJson), R"({
    "node": "node-a",
    "services": [
        {
            "address": "10.96.0.9",
            "port": 443,
            "protocol": "TCP",
            "scope": "pods",
            "wildcard": false,
            "flags": [],
            "svc_id": 3,
            "rev_nat_id": 3,
            "count": 0,
            "policy": "random",
            "backends": []
        },
        {
            "address": "10.96.0.10",
            "port": 0,
            "protocol": "any",
            "scope": "pods",
            "wildcard": true,
            "flags": [
                "wildcard"
            ],
            "svc_id": 0,
            "rev_nat_id": 0,
            "count": 0,
            "policy": "random",
            "backends": []
        },
        {
            "address": "10.96.0.10",
            "port": 80,
            "protocol": "TCP",
            "scope": "pods",
            "wildcard": false,
            "flags": [],
            "svc_id": 1,
            "rev_nat_id": 1,
            "count": 2,
            "policy": "random",
            "backends": [
                {
                    "slot": 1,
                    "backend_id": 1,
                    "address": "10.244.1.2",
                    "port": 8080,
                    "state": "active",
                    "beyond_count": false
                },
                {
                    "slot": 2,
                    "backend_id": 2,
                    "address": "10.244.1.3",
                    "port": 8080,
                    "state": "active",
                    "beyond_count": false
                },
                {
                    "slot": 3,
                    "backend_id": 3,
                    "address": "10.244.1.4",
                    "port": 8080,
                    "state": "terminating",
                    "beyond_count": true
                }
            ]
        },
        {
            "address": "10.96.0.20",
            "port": 53,
            "protocol": "UDP",
            "scope": "pods",
            "wildcard": false,
            "flags": [],
            "svc_id": 2,
            "rev_nat_id": 2,
            "count": 1,
            "policy": "random",
            "backends": [
                {
                    "slot": 1,
                    "backend_id": 9,
                    "address": "0.0.0.0",
                    "port": 0,
                    "state": "missing",
                    "beyond_count": false
                }
            ]
        }
    ]
}
)");
}

// Least-connection frontends show each backend's active flows: a column
// of its own, there only when such a frontend is, and "-" on the rows of
// the others; in JSON, a key on their backends only.
TEST(BpfServices, LeastConnShowsActiveFlowsPerBackend) {
  ServicesView view = Services();
  view.frontends[0].second.policy = YARD_POLICY_LEAST_CONN;  // 10.96.0.10:80
  view.active_flows = {{1, 17}, {2, 18}, {9, 4}};
  EXPECT_EQ(
      FormatServices(view, InspectOutput::kTable),
      R"(FRONTEND            FOR    TYPE                              SVC-ID   REV-NAT   COUNT   POLICY       SLOT   BACKEND-ID   BACKEND           STATE                                ACTIVE
10.96.0.9:443/TCP   pods   service (no endpoints: reject)    3        3         0       random       -      -            -                 -                                    -
10.96.0.10:*/*      pods   wildcard (reject unknown ports)   -        -         -       -            -      -            -                 -                                    -
10.96.0.10:80/TCP   pods   service                           1        1         2       least-conn   1      1            10.244.1.2:8080   active                               17
                                                                                                     2      2            10.244.1.3:8080   active                               18
                                                                                                     3      3            10.244.1.4:8080   terminating (beyond count: unused)   0
10.96.0.20:53/UDP   pods   service                           2        2         1       random       1      9            -                 missing                              -
)");
  const std::string json = FormatServices(view, InspectOutput::kJson);
  EXPECT_NE(json.find(R"("policy": "least-conn")"), std::string::npos);
  EXPECT_NE(json.find(R"(                    "beyond_count": false,
                    "active_flows": 17
)"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"(                    "beyond_count": true,
                    "active_flows": 0
)"),
            std::string::npos)
      << json;
  // Backend 9 counts 4, but its frontend is random: not shown.
  EXPECT_EQ(json.find(R"("active_flows": 4)"), std::string::npos) << json;
}

TEST(BpfServices, EmptyTableIsEmptyJsonIsNot) {
  ServicesView empty{.node = "node-a"};
  EXPECT_EQ(FormatServices(empty, InspectOutput::kTable), "");
  EXPECT_EQ(FormatServices(empty, InspectOutput::kJson),
            "{\n    \"node\": \"node-a\",\n    \"services\": []\n}\n");
}

TEST(BpfServices, EachFrontendShowsItsPolicy) {
  ServicesView view = Services();
  for (auto& [key, value] : view.frontends) {
    if (key.port == htons(80)) value.policy = YARD_POLICY_MAGLEV;
    if (key.port == htons(53)) value.policy = YARD_POLICY_LEAST_CONN;
  }
  std::string table = FormatServices(view, InspectOutput::kTable);
  EXPECT_NE(table.find("2       maglev"), std::string::npos) << table;
  EXPECT_NE(table.find("1       least-conn"), std::string::npos) << table;
  std::string json = FormatServices(view, InspectOutput::kJson);
  EXPECT_NE(json.find("\"policy\": \"maglev\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"policy\": \"least-conn\""), std::string::npos) << json;
}

TEST(BpfBackends, TableAndJson) {
  const BackendEntries backends = Services().backends;
  EXPECT_EQ(FormatBackends("node-a", backends, InspectOutput::kTable),
            R"(ID    BACKEND           STATE
1     10.244.1.2:8080   active
2     10.244.1.3:8080   active
3     10.244.1.4:8080   terminating
)");
  EXPECT_EQ(FormatBackends("node-a", backends, InspectOutput::kJson),
            R"({
    "node": "node-a",
    "backends": [
        {
            "backend_id": 1,
            "address": "10.244.1.2",
            "port": 8080,
            "state": "active"
        },
        {
            "backend_id": 2,
            "address": "10.244.1.3",
            "port": 8080,
            "state": "active"
        },
        {
            "backend_id": 3,
            "address": "10.244.1.4",
            "port": 8080,
            "state": "terminating"
        }
    ]
}
)");
}

TEST(BpfRevNat, TableAndJson) {
  yard_rnat4 web = {Ip("10.96.0.10"), htons(80), 0};
  yard_rnat4 dns = {Ip("10.96.0.20"), htons(53), 0};
  const RevNatEntries revnat = {{2, dns}, {1, web}};
  EXPECT_EQ(FormatRevNat("node-a", revnat, InspectOutput::kTable),
            R"(ID    FRONTEND
1     10.96.0.10:80
2     10.96.0.20:53
)");
  EXPECT_EQ(FormatRevNat("node-a", revnat, InspectOutput::kJson),
            R"({
    "node": "node-a",
    "revnat": [
        {
            "rev_nat_id": 1,
            "address": "10.96.0.10",
            "port": 80
        },
        {
            "rev_nat_id": 2,
            "address": "10.96.0.20",
            "port": 53
        }
    ]
}
)");
}

yard_ct4_value Ct(uint64_t age_s, uint64_t idle_s, uint32_t backend_id,
                  uint32_t rev_nat_id, absl::string_view addr, uint16_t port,
                  uint64_t packets, uint64_t bytes, uint16_t flags) {
  yard_ct4_value v = {};
  v.created_ns = kNow - age_s * kSecond;
  v.last_seen_ns = kNow - idle_s * kSecond;
  v.packets = packets;
  v.bytes = bytes;
  v.backend_id = backend_id;
  v.rev_nat_id = rev_nat_id;
  v.addr = Ip(addr);
  v.port = htons(port);
  v.flags = flags;
  return v;
}

// A TCP flow and its reply entry, a UDP flow idle past the timeout and one
// with time left, a hairpinned flow; in hash order, not the shown order.
CtView Flows() {
  CtView view;
  view.node = "node-a";
  view.now_ns = kNow;
  view.timeouts.udp_s = 120;
  view.entries = {
      {CtKey("10.244.0.6", 5001, "10.96.0.20", 53, IPPROTO_UDP,
             YARD_CT_FORWARD),
       Ct(20, 20, 2, 2, "10.244.1.3", 5353, 1, 60, 0)},
      {CtKey("10.244.1.2", 8080, "10.244.0.5", 40000, IPPROTO_TCP,
             YARD_CT_REPLY),
       Ct(3725, 5, 1, 1, "10.244.0.5", 40000, 8, 900,
          YARD_CT_F_SEEN_REPLY | YARD_CT_F_CLOSING)},
      {CtKey("10.244.0.5", 40000, "10.96.0.10", 80, IPPROTO_TCP,
             YARD_CT_FORWARD),
       Ct(3725, 5, 1, 1, "10.244.1.2", 8080, 10, 1000, YARD_CT_F_CLOSING)},
      {CtKey("10.244.0.5", 5000, "10.96.0.20", 53, IPPROTO_UDP,
             YARD_CT_FORWARD),
       Ct(200, 130, 2, 2, "10.244.1.3", 5353, 3, 180, 0)},
      {CtKey("10.244.0.7", 41000, "10.96.0.30", 80, IPPROTO_TCP,
             YARD_CT_FORWARD),
       Ct(2 * 86400 + 7200, 0, 4, 3, "10.244.0.7", 8080, 2, 140,
          YARD_CT_F_HAIRPIN)},
  };
  return view;
}

TEST(BpfCt, TableGroupsEachFlowsEntries) {
  EXPECT_EQ(
      FormatCt(Flows(), InspectOutput::kTable),
      R"(PROTO   TUPLE                                 DIR       BACKEND                  REV-NAT   AGE     IDLE    TIME-LEFT   PACKETS   BYTES   FLAGS
UDP     10.244.0.5:5000 -> 10.96.0.20:53      forward   10.244.1.3:5353 (id 2)   2         3m20s   2m10s   expired     3         180     -
TCP     10.244.0.5:40000 -> 10.96.0.10:80     forward   10.244.1.2:8080 (id 1)   1         62m     5s      23h         10        1000    closing
TCP     10.244.1.2:8080 -> 10.244.0.5:40000   reply     10.244.1.2:8080 (id 1)   1         62m     5s      23h         8         900     closing,seen_reply
UDP     10.244.0.6:5001 -> 10.96.0.20:53      forward   10.244.1.3:5353 (id 2)   2         20s     20s     100s        1         60      -
TCP     10.244.0.7:41000 -> 10.96.0.30:80     forward   10.244.0.7:8080 (id 4)   3         2d2h    0s      24h         2         140     hairpin
)");
}

// The NAT view shows each flow as it enters and as it leaves: forward DNAT,
// reply source restored to the frontend, hairpin source rewritten; a reply
// whose frontend is gone is left out (the datapath drops it).
TEST(BpfNat, OriginalAndTranslated) {
  NatView view;
  view.node = "node-a";
  view.hairpin_addr_be = Ip("169.254.42.1");
  CtView flows = Flows();
  view.entries = flows.entries;
  yard_rnat4 web = {};
  web.addr = Ip("10.96.0.10");
  web.port = htons(80);
  view.rev_nat = {{1, web}};
  EXPECT_EQ(
      FormatNat(view, InspectOutput::kTable),
      R"(PROTO   KIND               ORIGINAL                              TRANSLATED                              PACKETS
TCP     forward            10.244.0.5:40000 -> 10.96.0.10:80     10.244.0.5:40000 -> 10.244.1.2:8080     10
TCP     forward, hairpin   10.244.0.7:41000 -> 10.96.0.30:80     169.254.42.1:41000 -> 10.244.0.7:8080   2
TCP     reply              10.244.1.2:8080 -> 10.244.0.5:40000   10.96.0.10:80 -> 10.244.0.5:40000       8
UDP     forward            10.244.0.5:5000 -> 10.96.0.20:53      10.244.0.5:5000 -> 10.244.1.3:5353      3
UDP     forward            10.244.0.6:5001 -> 10.96.0.20:53      10.244.0.6:5001 -> 10.244.1.3:5353      1
)");
  std::string json = FormatNat(view, InspectOutput::kJson);
  EXPECT_NE(json.find(R"("translated_src": "169.254.42.1:41000")"),
            std::string::npos)
      << json;
}

TEST(BpfCt, Json) {
  CtView view = Flows();
  view.entries.resize(2);  // the UDP flow with time left and a reply entry
  EXPECT_EQ(FormatCt(view, InspectOutput::kJson), R"({
    "node": "node-a",
    "udp_timeout_s": 120,
    "tcp_idle_timeout_s": 86400,
    "tcp_close_timeout_s": 10,
    "entries": [
        {
            "protocol": "TCP",
            "direction": "reply",
            "src_address": "10.244.1.2",
            "src_port": 8080,
            "dst_address": "10.244.0.5",
            "dst_port": 40000,
            "client_address": "10.244.0.5",
            "client_port": 40000,
            "backend_id": 1,
            "backend_address": "10.244.1.2",
            "backend_port": 8080,
            "rev_nat_id": 1,
            "age_ms": 3725000,
            "idle_ms": 5000,
            "time_left_ms": 86395000,
            "packets": 8,
            "bytes": 900,
            "flags": [
                "closing",
                "seen_reply"
            ]
        },
        {
            "protocol": "UDP",
            "direction": "forward",
            "src_address": "10.244.0.6",
            "src_port": 5001,
            "dst_address": "10.96.0.20",
            "dst_port": 53,
            "client_address": "10.244.0.6",
            "client_port": 5001,
            "backend_id": 2,
            "backend_address": "10.244.1.3",
            "backend_port": 5353,
            "rev_nat_id": 2,
            "age_ms": 20000,
            "idle_ms": 20000,
            "time_left_ms": 100000,
            "packets": 1,
            "bytes": 60,
            "flags": []
        }
    ]
}
)");
}

TEST(BpfCt, EntryNewerThanNowCountsAsZero) {
  CtView view = Flows();
  view.now_ns = 0;
  view.entries.resize(1);
  std::string json = FormatCt(view, InspectOutput::kJson);
  EXPECT_NE(json.find("\"age_ms\": 0,\n            \"idle_ms\": 0,\n"
                      "            \"time_left_ms\": 120000,"),
            std::string::npos)
      << json;
}

StatsView Stats() {
  StatsView view;
  view.node = "node-a";
  view.frontends = Services().frontends;
  view.per_frontend[1] = {{10, 1000}, {8, 900}};
  view.per_frontend[2] = {{3, 180}, {0, 0}};
  view.reasons[YARD_REASON_NOT_IPV4] = {5, 300};
  view.reasons[YARD_REASON_REJECT_NO_ENDPOINT] = {2, 148};
  return view;
}

TEST(BpfStats, FrontendsByAddressThenReasons) {
  EXPECT_EQ(
      FormatStats(Stats(), InspectOutput::kTable),
      R"(FRONTEND            REV-NAT   FWD-PACKETS   FWD-BYTES   REPLY-PACKETS   REPLY-BYTES
10.96.0.9:443/TCP   3         0             0           0               0
10.96.0.10:80/TCP   1         10            1000        8               900
10.96.0.20:53/UDP   2         3             180         0               0

REASON               ACTION   PACKETS   BYTES   MEANING
not_ipv4             pass     5         300     not IPv4 (ARP, IPv6): passed untouched
vlan                 pass     0         0       VLAN-tagged frame: passed untouched
truncated            drop     0         0       frame ends inside a header
bad_ip_header        drop     0         0       IPv4 header length or total length wrong
fragment             drop     0         0       IP fragment to a service address
unsupported_l4       drop     0         0       neither TCP nor UDP, to a service address
reject_no_endpoint   reject   2         148     service port has no endpoint: answered with RST or ICMP unreachable
reject_no_port       reject   0         0       service address without this port/protocol: answered the same way
reject_failed        drop     0         0       the reject answer could not be built
backend_gone         drop     0         0       the flow's endpoint was removed and the packet is not a new SYN
slot_missing         drop     0         0       the service's count names a slot not written (update order broken)
ct_full              drop     0         0       the new flow could not be recorded
revnat_missing       drop     0         0       reply whose frontend is gone
rewrite_failed       drop     0         0       a checksum or store helper failed
source_denied        drop     0         0       source outside the load balancer's loadBalancerSourceRanges
snat_exhausted       drop     0         0       no free source port to send the flow on to another node
no_route             drop     0         0       no route or neighbour towards endpoint or client
tuple_clash          drop     0         0       a pod's new direct connection has the real tuple of its live service flow
bypass_peer          pass     0         0       stack bypass: sent straight into a local pod (bpf_redirect_peer)
bypass_neigh         pass     0         0       stack bypass: sent out the route's device (bpf_redirect_neigh)
)");
}

TEST(BpfStats, Json) {
  StatsView view = Stats();
  view.frontends.resize(1);
  EXPECT_EQ(FormatStats(view, InspectOutput::kJson), R"({
    "node": "node-a",
    "frontends": [
        {
            "address": "10.96.0.10",
            "port": 80,
            "protocol": "TCP",
            "rev_nat_id": 1,
            "forward_packets": 10,
            "forward_bytes": 1000,
            "reply_packets": 8,
            "reply_bytes": 900
        }
    ],
    "reasons": [
        {
            "reason": "not_ipv4",
            "action": "pass",
            "packets": 5,
            "bytes": 300
        },
        {
            "reason": "vlan",
            "action": "pass",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "truncated",
            "action": "drop",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "bad_ip_header",
            "action": "drop",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "fragment",
            "action": "drop",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "unsupported_l4",
            "action": "drop",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "reject_no_endpoint",
            "action": "reject",
            "packets": 2,
            "bytes": 148
        },
        {
            "reason": "reject_no_port",
            "action": "reject",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "reject_failed",
            "action": "drop",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "backend_gone",
            "action": "drop",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "slot_missing",
            "action": "drop",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "ct_full",
            "action": "drop",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "revnat_missing",
            "action": "drop",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "rewrite_failed",
            "action": "drop",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "source_denied",
            "action": "drop",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "snat_exhausted",
            "action": "drop",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "no_route",
            "action": "drop",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "tuple_clash",
            "action": "drop",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "bypass_peer",
            "action": "pass",
            "packets": 0,
            "bytes": 0
        },
        {
            "reason": "bypass_neigh",
            "action": "pass",
            "packets": 0,
            "bytes": 0
        }
    ]
}
)");
}

TEST(InspectOutput, TableOrJsonOnly) {
  EXPECT_EQ(*ParseInspectOutput(""), InspectOutput::kTable);
  EXPECT_EQ(*ParseInspectOutput("json"), InspectOutput::kJson);
  absl::StatusOr<InspectOutput> yaml = ParseInspectOutput("yaml");
  ASSERT_FALSE(yaml.ok());
  EXPECT_EQ(yaml.status().message(),
            "unable to match a printer for output format \"yaml\"; this "
            "command prints a table or -o json");
}

}  // namespace
}  // namespace switchyard::ctl
