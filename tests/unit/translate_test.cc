// SPDX-License-Identifier: Apache-2.0
// Cluster state -> desired entries, without a kernel.
#include "control/translate/translate.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <tuple>

#include "control/common/ipv4.h"
#include "gtest/gtest.h"
#include "yard_abi.h"

namespace switchyard::translate {
namespace {

uint32_t Ip(const char* text) { return *ParseIpv4(text); }
BackendAddr Be(const char* ip, int port) {
  return {Ip(ip), htons(static_cast<uint16_t>(port))};
}
FrontendKey Fe(const char* ip, int port, uint8_t proto) {
  return {Ip(ip), htons(static_cast<uint16_t>(port)), proto};
}
// The same frontend as outside clients see it (XDP on external devices).
FrontendKey Outside(const char* ip, int port, uint8_t proto) {
  return {Ip(ip), htons(static_cast<uint16_t>(port)), proto,
          YARD_SCOPE_EXTERNAL};
}

v1::Service MakeService(const std::string& name, const std::string& ip) {
  v1::Service s;
  s.mutable_metadata()->set_name(name);
  s.mutable_metadata()->set_namespace_("default");
  s.mutable_spec()->set_type("ClusterIP");
  s.mutable_spec()->set_cluster_ip(ip);
  return s;
}

v1::ServicePort* AddPort(v1::Service& s, const std::string& name, int port,
                         const std::string& protocol = "TCP") {
  v1::ServicePort* p = s.mutable_spec()->add_ports();
  p->set_name(name);
  p->set_port(port);
  p->set_protocol(protocol);
  return p;
}

v1::EndpointSlice MakeSlice(const std::string& name,
                            const std::string& service) {
  v1::EndpointSlice e;
  e.mutable_metadata()->set_name(name);
  e.mutable_metadata()->set_namespace_("default");
  (*e.mutable_metadata()->mutable_labels())[kServiceNameLabel] = service;
  e.set_address_type("IPv4");
  return e;
}

v1::Endpoint* AddEndpoint(v1::EndpointSlice& e, const std::string& ip,
                          const std::string& node = "node-a") {
  v1::Endpoint* ep = e.add_endpoints();
  ep->add_addresses(ip);
  ep->set_node_name(node);
  return ep;
}

void AddSlicePort(v1::EndpointSlice& e, const std::string& name, int port,
                  const std::string& protocol = "TCP") {
  v1::EndpointPort* p = e.add_ports();
  p->set_name(name);
  p->set_port(port);
  p->set_protocol(protocol);
}

struct Result {
  DesiredState desired;
  std::vector<std::string> skipped;
};

class TranslateTest : public ::testing::Test {
 protected:
  void Put(const v1::Service& s) {
    *snapshot_.add_upserts()->mutable_service() = s;
  }
  void Put(const v1::EndpointSlice& e) {
    *snapshot_.add_upserts()->mutable_endpoint_slice() = e;
  }
  void PutNode(const std::string& name, const std::string& zone) {
    v1::Node* node = snapshot_.add_upserts()->mutable_node();
    node->mutable_metadata()->set_name(name);
    if (!zone.empty()) {
      (*node->mutable_metadata()->mutable_labels())[kZoneLabel] = zone;
    }
  }
  Result Run(const std::string& node = "node-a",
             std::vector<uint32_t> node_port_addrs = {}) {
    ClusterState state;
    snapshot_.set_snapshot(true);
    snapshot_.set_version(1);
    EXPECT_TRUE(state.Apply(snapshot_).ok());
    DesiredStateCache cache;
    cache.Rebuild(state, NodeContext{node, node_port_addrs});
    return {cache.desired(), cache.skipped()};
  }
  std::vector<HealthCheck> Checks(const std::string& node) {
    ClusterState state;
    snapshot_.set_snapshot(true);
    snapshot_.set_version(1);
    EXPECT_TRUE(state.Apply(snapshot_).ok());
    return HealthChecks(state, NodeContext{node, {}});
  }
  v1::WatchResponse snapshot_;
};

TEST_F(TranslateTest, ClusterIpWithEndpointsGivesPortAndWildcardEntries) {
  v1::Service svc = MakeService("web", "10.96.0.10");
  AddPort(svc, "http", 80)->mutable_target_port()->set_number(8080);
  Put(svc);
  v1::EndpointSlice slice = MakeSlice("web-1", "web");
  AddSlicePort(slice, "http", 8080);
  AddEndpoint(slice, "10.244.1.3");
  AddEndpoint(slice, "10.244.1.2");
  Put(slice);

  Result t = Run();
  ASSERT_EQ(t.desired.frontends.size(), 2u);
  const Frontend& port =
      t.desired.frontends.at(Fe("10.96.0.10", 80, IPPROTO_TCP));
  EXPECT_EQ(port.flags, 0);
  EXPECT_EQ(port.service, "default/web:80/TCP");
  const Frontend& wildcard =
      t.desired.frontends.at(FrontendKey{Ip("10.96.0.10"), 0, 0});
  EXPECT_EQ(wildcard.flags, YARD_SVC_F_WILDCARD);
  EXPECT_TRUE(wildcard.set.empty());
  const BackendSet& set = t.desired.sets.at(port.set);
  // Sorted, so equal cluster states translate to equal desired states.
  EXPECT_EQ(set.eligible, (std::vector<BackendAddr>{Be("10.244.1.2", 8080),
                                                    Be("10.244.1.3", 8080)}));
  EXPECT_TRUE(set.draining.empty());
}

TEST_F(TranslateTest, NamedTargetPortResolvedPerSlice) {
  v1::Service svc = MakeService("web", "10.96.0.10");
  AddPort(svc, "http", 80)->mutable_target_port()->set_name("web-port");
  Put(svc);
  // Two pod templates whose "web-port" differs: each slice carries its own.
  v1::EndpointSlice a = MakeSlice("web-a", "web");
  AddSlicePort(a, "http", 8080);
  AddEndpoint(a, "10.244.1.2");
  Put(a);
  v1::EndpointSlice b = MakeSlice("web-b", "web");
  AddSlicePort(b, "http", 9090);
  AddEndpoint(b, "10.244.2.2");
  Put(b);
  // A slice that does not name the port cannot resolve a named targetPort.
  v1::EndpointSlice c = MakeSlice("web-c", "web");
  AddEndpoint(c, "10.244.3.2");
  Put(c);

  Result t = Run();
  const Frontend& fe =
      t.desired.frontends.at(Fe("10.96.0.10", 80, IPPROTO_TCP));
  EXPECT_EQ(t.desired.sets.at(fe.set).eligible,
            (std::vector<BackendAddr>{Be("10.244.1.2", 8080),
                                      Be("10.244.2.2", 9090)}));
}

// The store keeps slices whose Service is missing and slice ports whose
// name the Service lacks (cluster_store.h); translation leaves them unused.
TEST_F(TranslateTest, SlicesOfMissingServicesAndUnmatchedPortsAreNotUsed) {
  v1::Service svc = MakeService("web", "10.96.0.10");
  AddPort(svc, "http", 80)->mutable_target_port()->set_name("web-port");
  Put(svc);
  v1::EndpointSlice used = MakeSlice("web-1", "web");
  AddSlicePort(used, "http", 8080);
  AddEndpoint(used, "10.244.1.2");
  Put(used);
  // Its port was renamed in the Service: the old name matches nothing.
  v1::EndpointSlice stale = MakeSlice("web-2", "web");
  AddSlicePort(stale, "old-http", 8080);
  AddEndpoint(stale, "10.244.1.3");
  Put(stale);
  // Its Service does not exist (yet, or any more).
  v1::EndpointSlice orphan = MakeSlice("gone-1", "gone");
  AddSlicePort(orphan, "http", 8080);
  AddEndpoint(orphan, "10.244.9.9");
  Put(orphan);

  Result t = Run();
  EXPECT_EQ(t.desired.frontends.size(), 2u);  // web's port and wildcard
  const Frontend& fe =
      t.desired.frontends.at(Fe("10.96.0.10", 80, IPPROTO_TCP));
  EXPECT_EQ(t.desired.sets.at(fe.set).eligible,
            (std::vector<BackendAddr>{Be("10.244.1.2", 8080)}));
  for (const auto& [name, set] : t.desired.sets) {
    for (const BackendAddr& addr : set.eligible) {
      EXPECT_NE(addr.addr_be, Ip("10.244.9.9")) << name;
    }
  }
}

TEST_F(TranslateTest, TcpAndUdpOnOnePortAreSeparate) {
  v1::Service svc = MakeService("dns", "10.96.0.53");
  AddPort(svc, "dns-tcp", 53, "TCP");
  AddPort(svc, "dns-udp", 53, "UDP");
  Put(svc);
  v1::EndpointSlice slice = MakeSlice("dns-1", "dns");
  AddSlicePort(slice, "dns-tcp", 5353, "TCP");
  AddSlicePort(slice, "dns-udp", 5354, "UDP");
  AddEndpoint(slice, "10.244.1.9");
  Put(slice);

  Result t = Run();
  const Frontend& tcp =
      t.desired.frontends.at(Fe("10.96.0.53", 53, IPPROTO_TCP));
  const Frontend& udp =
      t.desired.frontends.at(Fe("10.96.0.53", 53, IPPROTO_UDP));
  EXPECT_NE(tcp.set, udp.set);
  EXPECT_EQ(t.desired.sets.at(tcp.set).eligible[0], Be("10.244.1.9", 5353));
  EXPECT_EQ(t.desired.sets.at(udp.set).eligible[0], Be("10.244.1.9", 5354));
}

TEST_F(TranslateTest, EligibilityFollowsConditions) {
  v1::Service svc = MakeService("web", "10.96.0.10");
  AddPort(svc, "", 80);
  Put(svc);
  v1::EndpointSlice slice = MakeSlice("web-1", "web");
  AddSlicePort(slice, "", 8080);
  AddEndpoint(slice, "10.244.1.1");  // unknown conditions: ready
  v1::Endpoint* not_ready = AddEndpoint(slice, "10.244.1.2");
  not_ready->mutable_conditions()->set_ready(false);
  not_ready->mutable_conditions()->set_serving(false);
  v1::Endpoint* draining = AddEndpoint(slice, "10.244.1.3");
  draining->mutable_conditions()->set_ready(false);
  draining->mutable_conditions()->set_serving(true);
  draining->mutable_conditions()->set_terminating(true);
  v1::Endpoint* gone = AddEndpoint(slice, "10.244.1.4");
  gone->mutable_conditions()->set_ready(false);
  gone->mutable_conditions()->set_serving(false);
  gone->mutable_conditions()->set_terminating(true);
  Put(slice);

  Result t = Run();
  const BackendSet& set = t.desired.sets.begin()->second;
  EXPECT_EQ(set.eligible, std::vector<BackendAddr>{Be("10.244.1.1", 8080)});
  // Still serving while terminating: kept for its connections, not chosen.
  EXPECT_EQ(set.draining, std::vector<BackendAddr>{Be("10.244.1.3", 8080)});
}

TEST_F(TranslateTest, ServingTerminatingIsTheFallbackWhenNoneIsReady) {
  v1::Service svc = MakeService("web", "10.96.0.10");
  AddPort(svc, "", 80);
  Put(svc);
  v1::EndpointSlice slice = MakeSlice("web-1", "web");
  AddSlicePort(slice, "", 8080);
  v1::Endpoint* draining = AddEndpoint(slice, "10.244.1.3");
  draining->mutable_conditions()->set_ready(false);
  draining->mutable_conditions()->set_serving(true);
  draining->mutable_conditions()->set_terminating(true);
  Put(slice);

  Result t = Run();
  const BackendSet& set = t.desired.sets.begin()->second;
  EXPECT_EQ(set.eligible, std::vector<BackendAddr>{Be("10.244.1.3", 8080)});
}

TEST_F(TranslateTest, PublishNotReadyAddressesUsesEveryEndpoint) {
  v1::Service svc = MakeService("db", "10.96.0.20");
  svc.mutable_spec()->set_publish_not_ready_addresses(true);
  AddPort(svc, "", 5432);
  Put(svc);
  v1::EndpointSlice slice = MakeSlice("db-1", "db");
  AddSlicePort(slice, "", 5432);
  AddEndpoint(slice, "10.244.1.1")->mutable_conditions()->set_ready(false);
  Put(slice);

  Result t = Run();
  EXPECT_EQ(t.desired.sets.begin()->second.eligible.size(), 1u);
}

TEST_F(TranslateTest, InternalTrafficPolicyLocalUsesThisNodesEndpoints) {
  v1::Service svc = MakeService("web", "10.96.0.10");
  svc.mutable_spec()->set_internal_traffic_policy("Local");
  AddPort(svc, "", 80);
  Put(svc);
  v1::EndpointSlice slice = MakeSlice("web-1", "web");
  AddSlicePort(slice, "", 8080);
  AddEndpoint(slice, "10.244.1.1", "node-a");
  AddEndpoint(slice, "10.244.2.1", "node-b");
  Put(slice);

  Result a = Run("node-a");
  const Frontend& fe =
      a.desired.frontends.at(Fe("10.96.0.10", 80, IPPROTO_TCP));
  EXPECT_EQ(a.desired.sets.at(fe.set).eligible,
            std::vector<BackendAddr>{Be("10.244.1.1", 8080)});
  Result c = Run("node-c");
  const Frontend& fe_c =
      c.desired.frontends.at(Fe("10.96.0.10", 80, IPPROTO_TCP));
  EXPECT_TRUE(c.desired.sets.at(fe_c.set).eligible.empty());
}

TEST_F(TranslateTest, HeadlessExternalNameAndSctpAreNotProgrammed) {
  v1::Service headless = MakeService("headless", "None");
  AddPort(headless, "", 80);
  Put(headless);
  v1::Service external = MakeService("ext", "");
  external.mutable_spec()->set_type("ExternalName");
  external.mutable_spec()->set_external_name("example.com");
  Put(external);
  v1::Service sctp = MakeService("sctp", "10.96.0.30");
  AddPort(sctp, "", 9999, "SCTP");
  Put(sctp);

  Result t = Run();
  // Only the SCTP service's address exists (its wildcard rejects probes).
  ASSERT_EQ(t.desired.frontends.size(), 1u);
  EXPECT_TRUE(t.desired.frontends.begin()->first.is_wildcard());
  ASSERT_EQ(t.skipped.size(), 1u);
  EXPECT_NE(t.skipped[0].find("SCTP"), std::string::npos);
}

TEST_F(TranslateTest, ExternalAndLoadBalancerAddressesServePods) {
  v1::Service svc = MakeService("web", "10.96.0.10");
  svc.mutable_spec()->set_type("LoadBalancer");
  svc.mutable_spec()->add_external_ips("192.0.2.10");
  svc.mutable_status()->add_load_balancer_ingress()->set_ip("198.51.100.7");
  AddPort(svc, "", 80)->set_node_port(30080);
  Put(svc);

  Result t = Run();
  EXPECT_TRUE(t.desired.frontends.contains(Fe("192.0.2.10", 80, IPPROTO_TCP)));
  EXPECT_TRUE(
      t.desired.frontends.contains(Fe("198.51.100.7", 80, IPPROTO_TCP)));
  EXPECT_TRUE(
      t.desired.frontends.contains(FrontendKey{Ip("198.51.100.7"), 0, 0}));
  // The same addresses for outside clients (the external scope), with
  // their wildcards: 6 entries for pods, 4 for outside clients.
  EXPECT_TRUE(t.desired.frontends.contains(FrontendKey{
      Ip("198.51.100.7"), htons(80), IPPROTO_TCP, YARD_SCOPE_EXTERNAL}));
  EXPECT_TRUE(t.desired.frontends.contains(
      FrontendKey{Ip("192.0.2.10"), 0, 0, YARD_SCOPE_EXTERNAL}));
  EXPECT_EQ(t.desired.frontends.size(), 10u);
}

TEST_F(TranslateTest, ExternalAddressClaimedTwiceGoesToTheFirstService) {
  v1::Service a = MakeService("a", "10.96.0.1");
  a.mutable_spec()->add_external_ips("192.0.2.1");
  AddPort(a, "", 80);
  Put(a);
  v1::Service b = MakeService("b", "10.96.0.2");
  b.mutable_spec()->add_external_ips("192.0.2.1");
  AddPort(b, "", 80);
  Put(b);
  Result t = Run();
  EXPECT_EQ(t.desired.frontends.at(Fe("192.0.2.1", 80, IPPROTO_TCP)).service,
            "default/a:80/TCP");
  // Claimed in both scopes: pods' and outside clients'.
  ASSERT_EQ(t.skipped.size(), 2u);
  for (const std::string& line : t.skipped) {
    EXPECT_NE(line.find("already belongs to default/a"), std::string::npos);
  }
}

// A service with endpoints on two nodes, seen from node-a whose NodePort
// addresses are 172.31.0.11 and 192.0.2.11.
class NorthSouthTest : public TranslateTest {
 protected:
  v1::Service Service(const std::string& type, const std::string& policy) {
    v1::Service svc = MakeService("shop", "10.96.0.40");
    svc.mutable_spec()->set_type(type);
    svc.mutable_spec()->set_external_traffic_policy(policy);
    AddPort(svc, "http", 80)->set_node_port(30080);
    return svc;
  }
  void PutEndpoints() {
    v1::EndpointSlice slice = MakeSlice("shop-1", "shop");
    AddSlicePort(slice, "http", 8080);
    AddEndpoint(slice, "10.244.1.2", "node-a");
    AddEndpoint(slice, "10.244.2.2", "node-b");
    Put(slice);
  }
  Result RunOnNodeA() {
    return Run("node-a", {Ip("172.31.0.11"), Ip("192.0.2.11")});
  }
};

TEST_F(NorthSouthTest, NodePortOnEveryNodeAddressForPodsAndOutside) {
  Put(Service("NodePort", "Cluster"));
  PutEndpoints();
  Result t = RunOnNodeA();
  for (const char* node_addr : {"172.31.0.11", "192.0.2.11"}) {
    const Frontend& outside =
        t.desired.frontends.at(Outside(node_addr, 30080, IPPROTO_TCP));
    EXPECT_EQ(t.desired.sets.at(outside.set).eligible.size(), 2u);
    EXPECT_TRUE(
        t.desired.frontends.contains(Fe(node_addr, 30080, IPPROTO_TCP)));
    // The node's own other ports are not the service's: no wildcard.
    EXPECT_FALSE(t.desired.frontends.contains(
        FrontendKey{Ip(node_addr), 0, 0, YARD_SCOPE_EXTERNAL}));
    EXPECT_FALSE(
        t.desired.frontends.contains(FrontendKey{Ip(node_addr), 0, 0}));
  }
  // The ClusterIP is the pods' only: outside clients cannot reach it.
  EXPECT_FALSE(
      t.desired.frontends.contains(Outside("10.96.0.40", 80, IPPROTO_TCP)));
}

TEST_F(NorthSouthTest, ClusterIpServiceGetsNoNodePort) {
  Put(Service("ClusterIP", ""));
  PutEndpoints();
  Result t = RunOnNodeA();
  EXPECT_FALSE(
      t.desired.frontends.contains(Outside("172.31.0.11", 30080, IPPROTO_TCP)));
  EXPECT_FALSE(
      t.desired.frontends.contains(Fe("172.31.0.11", 30080, IPPROTO_TCP)));
}

TEST_F(NorthSouthTest, LocalPolicyServesOutsideFromThisNodesEndpointsOnly) {
  v1::Service svc = Service("LoadBalancer", "Local");
  svc.mutable_status()->add_load_balancer_ingress()->set_ip("172.31.1.10");
  Put(svc);
  PutEndpoints();
  Result t = RunOnNodeA();
  for (FrontendKey key : {Outside("172.31.1.10", 80, IPPROTO_TCP),
                          Outside("172.31.0.11", 30080, IPPROTO_TCP)}) {
    const Frontend& fe = t.desired.frontends.at(key);
    EXPECT_EQ(t.desired.sets.at(fe.set).eligible,
              (std::vector<BackendAddr>{Be("10.244.1.2", 8080)}));
  }
  // Pods reaching the same addresses are served from every endpoint.
  for (FrontendKey key : {Fe("172.31.1.10", 80, IPPROTO_TCP),
                          Fe("172.31.0.11", 30080, IPPROTO_TCP),
                          Fe("10.96.0.40", 80, IPPROTO_TCP)}) {
    const Frontend& fe = t.desired.frontends.at(key);
    EXPECT_EQ(t.desired.sets.at(fe.set).eligible.size(), 2u);
  }
  // A node without a local endpoint has the frontend, with none: it
  // refuses rather than forwarding and losing the client's address.
  Result c = Run("node-c", {Ip("172.31.0.31")});
  const Frontend& fe =
      c.desired.frontends.at(Outside("172.31.0.31", 30080, IPPROTO_TCP));
  EXPECT_TRUE(c.desired.sets.at(fe.set).eligible.empty());
}

TEST_F(NorthSouthTest, SourceRangesGuardLoadBalancerAddressesFromOutside) {
  v1::Service svc = Service("LoadBalancer", "Cluster");
  svc.mutable_status()->add_load_balancer_ingress()->set_ip("172.31.1.30");
  svc.mutable_spec()->add_load_balancer_source_ranges("172.31.0.200/32");
  svc.mutable_spec()->add_load_balancer_source_ranges("10.1.2.3/8");
  svc.mutable_spec()->add_load_balancer_source_ranges("10.0.0.0/8");
  svc.mutable_spec()->add_load_balancer_source_ranges("fd00::/8");
  Put(svc);
  PutEndpoints();
  Result t = RunOnNodeA();
  const Frontend& lb =
      t.desired.frontends.at(Outside("172.31.1.30", 80, IPPROTO_TCP));
  EXPECT_TRUE(lb.flags & YARD_SVC_F_SOURCE_RANGES);
  // Host bits cleared, duplicates merged, sorted.
  EXPECT_EQ(lb.source_ranges,
            (std::vector<SourceRange>{{Ip("10.0.0.0"), 8},
                                      {Ip("172.31.0.200"), 32}}));
  // NodePorts and the pods' view are not guarded, as in kube-proxy.
  EXPECT_EQ(
      t.desired.frontends.at(Outside("172.31.0.11", 30080, IPPROTO_TCP)).flags,
      0);
  EXPECT_EQ(t.desired.frontends.at(Fe("172.31.1.30", 80, IPPROTO_TCP)).flags,
            0);
  ASSERT_EQ(t.skipped.size(), 1u);
  EXPECT_NE(t.skipped[0].find("fd00::/8"), std::string::npos);
}

TEST_F(NorthSouthTest, HealthChecksCountReadyEndpointsOnThisNode) {
  v1::Service svc = Service("LoadBalancer", "Local");
  svc.mutable_spec()->set_health_check_node_port(30079);
  Put(svc);
  v1::EndpointSlice slice = MakeSlice("shop-1", "shop");
  AddSlicePort(slice, "http", 8080);
  AddEndpoint(slice, "10.244.1.2", "node-a");
  AddEndpoint(slice, "10.244.1.3", "node-a");
  AddEndpoint(slice, "10.244.1.4", "node-a")
      ->mutable_conditions()
      ->set_ready(false);
  AddEndpoint(slice, "10.244.2.2", "node-b");
  Put(slice);
  // The same address in a second slice counts once.
  v1::EndpointSlice again = MakeSlice("shop-2", "shop");
  AddSlicePort(again, "http", 8080);
  AddEndpoint(again, "10.244.1.2", "node-a");
  Put(again);
  // Cluster policy: kube-proxy serves no health check for it.
  v1::Service other = MakeService("other", "10.96.0.41");
  other.mutable_spec()->set_type("LoadBalancer");
  other.mutable_spec()->set_health_check_node_port(30078);
  AddPort(other, "http", 80)->set_node_port(30081);
  Put(other);

  EXPECT_EQ(Checks("node-a"),
            (std::vector<HealthCheck>{{"default/shop", 30079, 2}}));
  EXPECT_EQ(Checks("node-c"),
            (std::vector<HealthCheck>{{"default/shop", 30079, 0}}));
}

TEST_F(NorthSouthTest, ClientIpAffinityMarksEveryFrontendOfThePort) {
  v1::Service svc = Service("LoadBalancer", "Cluster");
  svc.mutable_spec()->set_session_affinity("ClientIP");
  svc.mutable_spec()
      ->mutable_session_affinity_config()
      ->set_client_ip_timeout_seconds(30);
  svc.mutable_spec()->add_external_ips("192.0.2.50");
  svc.mutable_status()->add_load_balancer_ingress()->set_ip("198.51.100.7");
  Put(svc);
  PutEndpoints();

  Result t = RunOnNodeA();
  int ports = 0;
  for (const auto& [key, fe] : t.desired.frontends) {
    if (key.is_wildcard()) {
      EXPECT_EQ(fe.flags, YARD_SVC_F_WILDCARD);
      EXPECT_EQ(fe.aff_timeout_s, 0u);
      continue;
    }
    ++ports;
    EXPECT_TRUE(fe.flags & YARD_SVC_F_AFFINITY) << fe.service;
    EXPECT_EQ(fe.aff_timeout_s, 30u) << fe.service;
  }
  // ClusterIP; external and load-balancer IPs and two node addresses, for
  // pods and for outside clients.
  EXPECT_EQ(ports, 1 + 2 * 4);
  EXPECT_TRUE(t.skipped.empty());
}

TEST_F(TranslateTest, AffinityTimeoutFollowsKubernetesDefaults) {
  ServiceSpec spec;
  EXPECT_EQ(AffinityTimeoutSeconds(spec), 0u);
  spec.session_affinity = "None";
  spec.aff_timeout_s = 60;
  EXPECT_EQ(AffinityTimeoutSeconds(spec), 0u);
  spec.session_affinity = "ClientIP";
  EXPECT_EQ(AffinityTimeoutSeconds(spec), 60u);
  spec.aff_timeout_s = 0;
  EXPECT_EQ(AffinityTimeoutSeconds(spec), 10800u);
  spec.aff_timeout_s = 100000;
  EXPECT_EQ(AffinityTimeoutSeconds(spec), 86400u);
}

TEST_F(TranslateTest, AffinityOffLeavesFrontendsPlain) {
  v1::Service svc = MakeService("web", "10.96.0.10");
  svc.mutable_spec()->set_session_affinity("None");
  AddPort(svc, "", 80);
  Put(svc);
  Result t = Run();
  const Frontend& fe =
      t.desired.frontends.at(Fe("10.96.0.10", 80, IPPROTO_TCP));
  EXPECT_EQ(fe.flags, 0);
  EXPECT_EQ(fe.aff_timeout_s, 0u);
}

// Topology: three endpoints, two in zone-a and one in zone-b.
class TopologyTest : public TranslateTest {
 protected:
  // hinted: each endpoint carries hints.forZones of its own zone, as the
  // EndpointSlice controller writes for PreferClose; otherwise only zone.
  void PutService(const std::string& distribution, bool hinted,
                  const std::string& itp = "Cluster") {
    v1::Service svc = MakeService("web", "10.96.0.10");
    svc.mutable_spec()->set_traffic_distribution(distribution);
    svc.mutable_spec()->set_internal_traffic_policy(itp);
    AddPort(svc, "", 80);
    Put(svc);
    v1::EndpointSlice slice = MakeSlice("web-1", "web");
    AddSlicePort(slice, "", 8080);
    for (auto [ip, node, zone] : {std::tuple{"10.244.1.1", "node-a", "zone-a"},
                                  {"10.244.2.1", "node-b", "zone-a"},
                                  {"10.244.3.1", "node-c", "zone-b"}}) {
      v1::Endpoint* ep = AddEndpoint(slice, ip, node);
      ep->set_zone(zone);
      if (hinted) ep->mutable_hints()->add_for_zones()->set_name(zone);
    }
    Put(slice);
  }
  const BackendSet& SetOn(const Result& r) {
    return r.desired.sets.at(
        r.desired.frontends.at(Fe("10.96.0.10", 80, IPPROTO_TCP)).set);
  }
  const std::vector<BackendAddr> kZoneA = {Be("10.244.1.1", 8080),
                                           Be("10.244.2.1", 8080)};
  const std::vector<BackendAddr> kAll = {
      Be("10.244.1.1", 8080), Be("10.244.2.1", 8080), Be("10.244.3.1", 8080)};
};

TEST_F(TopologyTest, HintsKeepNewFlowsInTheNodesZone) {
  PutNode("node-a", "zone-a");
  PutService("PreferClose", true);
  Result t = Run("node-a");
  EXPECT_EQ(SetOn(t).eligible, kZoneA);
  // The other zone's endpoint keeps the flows it has.
  EXPECT_EQ(SetOn(t).draining,
            std::vector<BackendAddr>{Be("10.244.3.1", 8080)});
}

TEST_F(TopologyTest, ANodeOfTheOtherZoneUsesItsOwnZone) {
  PutNode("node-c", "zone-b");
  PutService("PreferClose", true);
  EXPECT_EQ(SetOn(Run("node-c")).eligible,
            std::vector<BackendAddr>{Be("10.244.3.1", 8080)});
}

TEST_F(TopologyTest, PreferCloseWithoutHintsUsesTheEndpointsZones) {
  PutNode("node-a", "zone-a");
  PutService("PreferClose", false);
  EXPECT_EQ(SetOn(Run("node-a")).eligible, kZoneA);
}

TEST_F(TopologyTest, HintsAreHonouredWhateverTheServiceSays) {
  PutNode("node-a", "zone-a");
  PutService("", true);
  EXPECT_EQ(SetOn(Run("node-a")).eligible, kZoneA);
}

TEST_F(TopologyTest, ZonesWithoutHintsOrPreferCloseMeanNothing) {
  PutNode("node-a", "zone-a");
  PutService("", false);
  EXPECT_EQ(SetOn(Run("node-a")).eligible, kAll);
}

TEST_F(TopologyTest, AZoneWithoutEndpointsUsesEveryEndpoint) {
  PutNode("node-d", "zone-c");
  PutService("PreferClose", true);
  EXPECT_EQ(SetOn(Run("node-d")).eligible, kAll);
  EXPECT_TRUE(SetOn(Run("node-d")).draining.empty());
}

TEST_F(TopologyTest, ANodeWithoutAZoneUsesEveryEndpoint) {
  PutNode("node-a", "");
  PutService("PreferClose", true);
  EXPECT_EQ(SetOn(Run("node-a")).eligible, kAll);
}

TEST_F(TopologyTest, OneReadyEndpointWithoutHintsTurnsHintsOff) {
  PutNode("node-a", "zone-a");
  PutService("PreferClose", true);
  v1::EndpointSlice more = MakeSlice("web-2", "web");
  AddSlicePort(more, "", 8080);
  AddEndpoint(more, "10.244.4.1", "node-d");  // no hints, no zone
  Put(more);
  Result t = Run("node-a");
  std::vector<BackendAddr> all = kAll;
  all.push_back(Be("10.244.4.1", 8080));
  EXPECT_EQ(SetOn(t).eligible, all);
}

TEST_F(TopologyTest, AnUnreadyEndpointWithoutHintsDoesNotCount) {
  PutNode("node-a", "zone-a");
  PutService("PreferClose", true);
  v1::EndpointSlice more = MakeSlice("web-2", "web");
  AddSlicePort(more, "", 8080);
  AddEndpoint(more, "10.244.4.1", "node-d")
      ->mutable_conditions()
      ->set_ready(false);
  Put(more);
  EXPECT_EQ(SetOn(Run("node-a")).eligible, kZoneA);
}

TEST_F(TopologyTest, InternalTrafficPolicyLocalIgnoresZones) {
  PutNode("node-c", "zone-b");
  PutNode("node-a", "zone-a");
  PutService("PreferClose", true, "Local");
  EXPECT_EQ(SetOn(Run("node-a")).eligible,
            std::vector<BackendAddr>{Be("10.244.1.1", 8080)});
  // node-b is in zone-b, its endpoint in zone-a: Local keeps to it.
  PutNode("node-b", "zone-b");
  EXPECT_EQ(SetOn(Run("node-b")).eligible,
            std::vector<BackendAddr>{Be("10.244.2.1", 8080)});
}

// Service-by-service updates must give exactly what a full rebuild gives.
TEST(DesiredStateCacheTest, IncrementalUpdatesMatchARebuild) {
  ClusterState state;
  DesiredStateCache cache;
  NodeContext node{"node-a"};
  v1::WatchResponse snap;
  snap.set_snapshot(true);
  snap.set_version(1);
  for (int i = 0; i < 5; ++i) {
    v1::Service s = MakeService("s" + std::to_string(i),
                                "10.96.0." + std::to_string(i + 1));
    s.mutable_spec()->add_external_ips("192.0.2.1");  // shared by all
    AddPort(s, "http", 80);
    *snap.add_upserts()->mutable_service() = s;
  }
  ASSERT_TRUE(state.Apply(snap).ok());
  cache.Rebuild(state, node);

  std::vector<v1::WatchResponse> deltas(4);
  // A slice appears for s1.
  v1::EndpointSlice e = MakeSlice("s1-a", "s1");
  AddSlicePort(e, "http", 8080);
  AddEndpoint(e, "10.244.1.1");
  *deltas[0].add_upserts()->mutable_endpoint_slice() = e;
  // The slice moves to s2 (relabelled): both services change.
  (*e.mutable_metadata()->mutable_labels())[kServiceNameLabel] = "s2";
  *deltas[1].add_upserts()->mutable_endpoint_slice() = e;
  // s0, the external IP's owner, goes: s1 takes it over.
  v1::ObjectRef* ref = deltas[2].add_deletes();
  ref->set_kind(v1::KIND_SERVICE);
  ref->set_name("s0");
  // The slice goes.
  ref = deltas[3].add_deletes();
  ref->set_kind(v1::KIND_ENDPOINT_SLICE);
  ref->set_name("s1-a");
  for (size_t i = 0; i < deltas.size(); ++i) {
    deltas[i].set_version(i + 2);
    std::set<std::string> affected = state.AffectedServices(deltas[i]);
    ASSERT_TRUE(state.Apply(deltas[i]).ok());
    cache.Update(state, node, affected);
    DesiredStateCache fresh;
    fresh.Rebuild(state, node);
    EXPECT_EQ(cache.desired(), fresh.desired()) << "after delta " << i;
  }
}

// A claimant that sorts before the owner takes a shared frontend over
// when it arrives and hands it back when it goes; the losers' claims are
// reported against whoever owns it at the time.
TEST(DesiredStateCacheTest, EarlierClaimantTakesOverAndHandsBack) {
  ClusterState state;
  DesiredStateCache cache;
  NodeContext node{"node-a"};
  auto shared = [](const std::string& name, const std::string& ip) {
    v1::Service s = MakeService(name, ip);
    s.mutable_spec()->add_external_ips("192.0.2.1");
    AddPort(s, "http", 80);
    return s;
  };
  v1::WatchResponse snap;
  snap.set_snapshot(true);
  snap.set_version(1);
  *snap.add_upserts()->mutable_service() = shared("m", "10.96.0.1");
  *snap.add_upserts()->mutable_service() = shared("z", "10.96.0.2");
  ASSERT_TRUE(state.Apply(snap).ok());
  cache.Rebuild(state, node);

  std::vector<v1::WatchResponse> deltas(3);
  *deltas[0].add_upserts()->mutable_service() = shared("a", "10.96.0.3");
  v1::ObjectRef* ref = deltas[1].add_deletes();
  ref->set_kind(v1::KIND_SERVICE);
  ref->set_name("a");
  ref = deltas[2].add_deletes();
  ref->set_kind(v1::KIND_SERVICE);
  ref->set_name("m");
  const std::vector<std::string> owners = {
      "default/a:80/TCP", "default/m:80/TCP", "default/z:80/TCP"};
  const std::vector<size_t> skipped = {4, 2, 0};  // two scopes each
  for (size_t i = 0; i < deltas.size(); ++i) {
    deltas[i].set_version(i + 2);
    std::set<std::string> affected = state.AffectedServices(deltas[i]);
    ASSERT_TRUE(state.Apply(deltas[i]).ok());
    cache.Update(state, node, affected);
    DesiredStateCache fresh;
    fresh.Rebuild(state, node);
    EXPECT_EQ(cache.desired(), fresh.desired()) << "after delta " << i;
    EXPECT_EQ(cache.skipped(), fresh.skipped()) << "after delta " << i;
    EXPECT_EQ(cache.skipped().size(), skipped[i]) << "after delta " << i;
    EXPECT_EQ(
        cache.desired().frontends.at(Fe("192.0.2.1", 80, IPPROTO_TCP)).service,
        owners[i])
        << "after delta " << i;
  }
}

TEST(ClusterStateTest, DeltaBeforeSnapshotIsRefused) {
  ClusterState state;
  v1::WatchResponse delta;
  delta.set_version(3);
  EXPECT_FALSE(state.Apply(delta).ok());
}

TEST(ClusterStateTest, DeltasUpsertAndDelete) {
  ClusterState state;
  v1::WatchResponse snap;
  snap.set_snapshot(true);
  snap.set_version(1);
  *snap.add_upserts()->mutable_service() = MakeService("a", "10.96.0.1");
  ASSERT_TRUE(state.Apply(snap).ok());
  v1::WatchResponse delta;
  delta.set_version(2);
  *delta.add_upserts()->mutable_service() = MakeService("b", "10.96.0.2");
  v1::ObjectRef* ref = delta.add_deletes();
  ref->set_kind(v1::KIND_SERVICE);
  ref->set_name("a");
  ASSERT_TRUE(state.Apply(delta).ok());
  EXPECT_EQ(state.version(), 2u);
  ASSERT_EQ(state.services().size(), 1u);
  EXPECT_EQ(state.services().begin()->first, "default/b");
}

}  // namespace
}  // namespace switchyard::translate
