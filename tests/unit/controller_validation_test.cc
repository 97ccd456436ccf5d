// SPDX-License-Identifier: Apache-2.0
// Writes the store must refuse: each case names the state before, the
// write, and the words the error has to contain. Every rejected write must
// leave the store exactly as it was (same version, same objects).
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "control/controller/cluster_store.h"
#include "control/controller/range_allocator.h"
#include "control/controller/validation.h"
#include "gtest/gtest.h"
#include "tests/unit/controller_store_test_util.h"

namespace switchyard::controller {
namespace {

using testing::Obj;
using testing::Objs;
using testing::Slice;
using testing::Svc;

struct BadWrite {
  const char* description;
  std::vector<std::string> before;  // applied first, must succeed
  std::vector<std::string> write;
  absl::StatusCode code;
  const char* error;  // a substring of the message
};

// gtest prints a failing parameter; the description says more than bytes.
void PrintTo(const BadWrite& write, std::ostream* os) {
  *os << write.description;
}

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

const std::string kNodePortA =
    Svc("a", "type: 'NodePort'", "ports { port: 80 node_port: 30100 }");
const std::string kWebTwoPorts =
    Svc("web", "",
        "ports { name: 'http' port: 80 } ports { name: 'dns' port: 53 }");

std::vector<BadWrite> BadWrites() {
  return {
      // Ports.
      {"port above 65535",
       {},
       {Svc("web", "",
            "ports { name: 'a' port: 80 } ports { name: 'b' port: 70000 }")},
       kInvalid,
       "Service default/web: spec.ports[1].port: 70000 is outside 1-65535"},
      {"port zero",
       {},
       {Svc("web", "", "ports { port: 0 }")},
       kInvalid,
       "spec.ports[0].port: 0 is outside 1-65535"},
      {"targetPort number out of range",
       {},
       {Svc("web", "", "ports { port: 80 target_port { number: 70000 } }")},
       kInvalid,
       "spec.ports[0].targetPort: 70000 is outside 1-65535"},
      {"targetPort name not an IANA name",
       {},
       {Svc("web", "", "ports { port: 80 target_port { name: 'Http_x' } }")},
       kInvalid,
       "spec.ports[0].targetPort: \"Http_x\" is not a valid port name"},
      {"protocol",
       {},
       {Svc("web", "", "ports { port: 80 protocol: 'HTTP' }")},
       kInvalid,
       "spec.ports[0].protocol: \"HTTP\" is not one of TCP, UDP, SCTP"},
      {"duplicate port and protocol",
       {},
       {Svc("web", "",
            "ports { name: 'a' port: 80 } ports { name: 'b' port: 80 protocol: "
            "'TCP' }")},
       kInvalid,
       "spec.ports[1]: duplicate port 80/TCP (also spec.ports[0])"},
      {"unnamed port among several",
       {},
       {Svc("web", "", "ports { name: 'a' port: 80 } ports { port: 81 }")},
       kInvalid,
       "spec.ports[1].name: is required when a service has several ports"},
      {"duplicate port name",
       {},
       {Svc("web", "",
            "ports { name: 'http' port: 80 } ports { name: 'http' port: 81 }")},
       kInvalid,
       "spec.ports[1].name: duplicate name \"http\" (also spec.ports[0])"},
      {"bad port name",
       {},
       {Svc("web", "", "ports { name: 'HTTP' port: 80 }")},
       kInvalid,
       "spec.ports[0].name: \"HTTP\" is not a valid port name"},
      {"no ports",
       {},
       {Svc("web", "", "")},
       kInvalid,
       "spec.ports: at least one port is required"},

      // Node ports.
      {"nodePort above 65535",
       {},
       {Svc("web", "type: 'NodePort'", "ports { port: 80 node_port: 70000 }")},
       kInvalid,
       "spec.ports[0].nodePort: 70000 is outside 1-65535"},
      {"nodePort outside the configured range",
       {},
       {Svc("web", "type: 'NodePort'", "ports { port: 80 node_port: 8080 }")},
       kInvalid,
       "spec.ports[0].nodePort: 8080 is outside the node port range "
       "30000-32767"},
      {"nodePort on a ClusterIP service",
       {},
       {Svc("web", "", "ports { port: 80 node_port: 30001 }")},
       kInvalid,
       "spec.ports[0].nodePort: may not be set when type is ClusterIP"},
      {"nodePort taken by another service",
       {kNodePortA},
       {Svc("b", "type: 'NodePort'", "ports { port: 80 node_port: 30100 }")},
       kInvalid,
       "Service default/b: spec.ports[0].nodePort: 30100 is already allocated "
       "to Service default/a"},
      {"nodePort asked for twice in one write",
       {},
       {Svc("b", "type: 'NodePort'", "ports { port: 80 node_port: 30200 }"),
        Svc("c", "type: 'NodePort'", "ports { port: 80 node_port: 30200 }")},
       kInvalid,
       "Service default/c: spec.ports[0].nodePort: 30200 is already allocated "
       "to Service default/b"},
      {"nodePort twice for one protocol",
       {},
       {Svc("web", "type: 'NodePort'",
            "ports { name: 'a' port: 80 node_port: 30100 } ports { name: 'b' "
            "port: 81 node_port: 30100 }")},
       kInvalid,
       "spec.ports[1].nodePort: duplicate nodePort 30100/TCP"},
      {"healthCheckNodePort above 65535",
       {},
       {Svc("web",
            "type: 'LoadBalancer' external_traffic_policy: 'Local' "
            "health_check_node_port: 70000")},
       kInvalid,
       "spec.healthCheckNodePort: 70000 is outside 1-65535"},
      {"healthCheckNodePort without Local",
       {},
       {Svc("web", "type: 'LoadBalancer' health_check_node_port: 30500")},
       kInvalid,
       "spec.healthCheckNodePort: may only be set when type is LoadBalancer "
       "and externalTrafficPolicy is Local"},
      {"healthCheckNodePort equal to a nodePort",
       {},
       {Svc("web",
            "type: 'LoadBalancer' external_traffic_policy: 'Local' "
            "health_check_node_port: 30600",
            "ports { port: 80 node_port: 30600 }")},
       kInvalid,
       "spec.healthCheckNodePort: 30600 is also one of the service's "
       "nodePorts"},
      {"healthCheckNodePort taken",
       {kNodePortA},
       {Svc("web",
            "type: 'LoadBalancer' external_traffic_policy: 'Local' "
            "health_check_node_port: 30100")},
       kInvalid,
       "spec.healthCheckNodePort: 30100 is already allocated to Service "
       "default/a"},

      // Cluster IPs.
      {"malformed clusterIP",
       {},
       {Svc("web", "cluster_ip: '10.96.0.300'")},
       kInvalid,
       "Service default/web: spec.clusterIP: '10.96.0.300' is not an IPv4 "
       "address"},
      {"clusterIP outside the service CIDR",
       {},
       {Svc("web", "cluster_ip: '10.0.0.1'")},
       kInvalid,
       "spec.clusterIP: 10.0.0.1 is not a usable address of the service CIDR "
       "10.96.0.0/12"},
      {"clusterIP is the network address",
       {},
       {Svc("web", "cluster_ip: '10.96.0.0'")},
       kInvalid,
       "is not a usable address of the service CIDR"},
      {"clusterIP is the broadcast address",
       {},
       {Svc("web", "cluster_ip: '10.111.255.255'")},
       kInvalid,
       "is not a usable address of the service CIDR"},
      {"clusterIP taken",
       {Svc("a", "cluster_ip: '10.96.0.10'")},
       {Svc("b", "cluster_ip: '10.96.0.10'")},
       kInvalid,
       "Service default/b: spec.clusterIP: 10.96.0.10 is already allocated to "
       "Service default/a"},
      {"clusterIP changed on update",
       {Svc("a", "cluster_ip: '10.96.0.10'")},
       {Svc("a", "cluster_ip: '10.96.0.11'")},
       kInvalid,
       "spec.clusterIP: is immutable: stored 10.96.0.10, requested 10.96.0.11"},
      {"headless service turned NodePort",
       {Svc("a", "cluster_ip: 'None'")},
       {Svc("a", "type: 'NodePort'")},
       kInvalid,
       "spec.clusterIP: the service is headless"},
      {"malformed clusterIPs entry",
       {},
       {Svc("web", "cluster_ips: '10.96.1'")},
       kInvalid,
       "'10.96.1' is not an IPv4 address"},
      {"clusterIPs disagreeing with clusterIP",
       {},
       {Svc("web", "cluster_ip: '10.96.0.5' cluster_ips: '10.96.0.6'")},
       kInvalid,
       "spec.clusterIPs[0]: \"10.96.0.6\" must equal spec.clusterIP"},
      {"dual-stack clusterIPs",
       {},
       {Svc("web", "cluster_ips: '10.96.0.5' cluster_ips: 'fd00::5'")},
       kInvalid,
       "spec.clusterIPs: dual-stack services are not supported yet"},
      {"headless NodePort",
       {},
       {Svc("web", "type: 'NodePort' cluster_ip: 'None'")},
       kInvalid,
       "spec.clusterIP: \"None\" (headless) is not allowed for NodePort "
       "services"},
      {"IPv6 family",
       {},
       {Svc("web", "ip_families: 'IPv6'")},
       kInvalid,
       "spec.ipFamilies[0]: IPv6 services are not supported yet"},

      // Other addresses.
      {"malformed externalIP",
       {},
       {Svc("web", "external_ips: '1.2.3'")},
       kInvalid,
       "spec.externalIPs[0]: '1.2.3' is not an IPv4 address"},
      {"loopback externalIP",
       {},
       {Svc("web", "external_ips: '127.0.0.1'")},
       kInvalid,
       "spec.externalIPs[0]: 127.0.0.1 is a loopback address"},
      {"malformed loadBalancerIP",
       {},
       {Svc("web", "type: 'LoadBalancer' load_balancer_ip: '300.1.1.1'")},
       kInvalid,
       "spec.loadBalancerIP: '300.1.1.1' is not an IPv4 address"},
      {"malformed ingress IP",
       {},
       {"service { metadata { name: 'web' } spec { type: 'LoadBalancer' ports "
        "{ port: 80 } } "
        "status { load_balancer_ingress { ip: '1.2.3.4.5' } } }"},
       kInvalid,
       "status.loadBalancer.ingress[0].ip: '1.2.3.4.5' is not an IPv4 address"},
      {"source range prefix too long",
       {},
       {Svc("web",
            "type: 'LoadBalancer' load_balancer_source_ranges: '10.0.0.0/33'")},
       kInvalid,
       "spec.loadBalancerSourceRanges[0]: '10.0.0.0/33' is not an IPv4 CIDR"},
      {"source range without prefix",
       {},
       {Svc("web",
            "type: 'LoadBalancer' load_balancer_source_ranges: '10.0.0.0'")},
       kInvalid,
       "spec.loadBalancerSourceRanges[0]: '10.0.0.0' is not an IPv4 CIDR"},
      {"source ranges on a NodePort service",
       {},
       {Svc("web",
            "type: 'NodePort' load_balancer_source_ranges: '10.0.0.0/8'")},
       kInvalid,
       "spec.loadBalancerSourceRanges: may only be set when type is "
       "LoadBalancer"},

      // Type, affinity, policies.
      {"unknown type",
       {},
       {Svc("web", "type: 'Foo'")},
       kInvalid,
       "spec.type: \"Foo\" is not one of ClusterIP, NodePort, LoadBalancer, "
       "ExternalName"},
      {"unknown session affinity",
       {},
       {Svc("web", "session_affinity: 'Sticky'")},
       kInvalid,
       "spec.sessionAffinity: \"Sticky\" is not None or ClientIP"},
      {"affinity timeout too long",
       {},
       {Svc("web",
            "session_affinity: 'ClientIP' session_affinity_config { "
            "client_ip_timeout_seconds: 86401 }")},
       kInvalid,
       "spec.sessionAffinityConfig.clientIP.timeoutSeconds: 86401 is outside "
       "1-86400"},
      {"affinity timeout negative",
       {},
       {Svc("web",
            "session_affinity: 'ClientIP' session_affinity_config { "
            "client_ip_timeout_seconds: -1 }")},
       kInvalid,
       "timeoutSeconds: -1 is outside 1-86400"},
      {"affinity timeout without ClientIP",
       {},
       {Svc("web",
            "session_affinity_config { client_ip_timeout_seconds: 60 }")},
       kInvalid,
       "spec.sessionAffinityConfig: may only be set when sessionAffinity is "
       "ClientIP"},
      {"unknown external traffic policy",
       {},
       {Svc("web", "type: 'NodePort' external_traffic_policy: 'Global'")},
       kInvalid,
       "spec.externalTrafficPolicy: \"Global\" is not Cluster or Local"},
      {"unknown internal traffic policy",
       {},
       {Svc("web", "internal_traffic_policy: 'Node'")},
       kInvalid,
       "spec.internalTrafficPolicy: \"Node\" is not Cluster or Local"},
      {"Local external policy on an internal service",
       {},
       {Svc("web", "external_traffic_policy: 'Local'")},
       kInvalid,
       "spec.externalTrafficPolicy: Local may only be set for NodePort"},
      {"ExternalName without a name",
       {},
       {Svc("web", "type: 'ExternalName'", "")},
       kInvalid,
       "spec.externalName: is required for ExternalName services"},
      {"ExternalName not a DNS name",
       {},
       {Svc("web", "type: 'ExternalName' external_name: 'Bad_Name'", "")},
       kInvalid,
       "spec.externalName: \"Bad_Name\" is not a DNS name"},
      {"ExternalName with a clusterIP",
       {},
       {Svc("web",
            "type: 'ExternalName' external_name: 'db.example.com' cluster_ip: "
            "'10.96.0.9'",
            "")},
       kInvalid,
       "spec.clusterIP: must not be set for ExternalName services"},

      // Names.
      {"missing service name",
       {},
       {"service { spec { ports { port: 80 } } }"},
       kInvalid,
       "Service default/<no name>: metadata.name: is required"},
      {"uppercase service name",
       {},
       {Svc("Web")},
       kInvalid,
       "Service default/Web: metadata.name: \"Web\" is not a valid name "
       "(DNS-1035 label"},
      {"service name starting with a digit",
       {},
       {Svc("1web")},
       kInvalid,
       "Service default/1web: metadata.name: \"1web\" is not a valid name "
       "(DNS-1035 label"},
      {"dotted service name",
       {},
       {Svc("web.v2")},
       kInvalid,
       "metadata.name: \"web.v2\" is not a valid name"},
      {"service name too long",
       {},
       {Svc(std::string(64, 'a'))},
       kInvalid,
       "is not a valid name"},
      {"bad namespace",
       {},
       {"service { metadata { name: 'web' namespace: 'Prod' } spec { ports { "
        "port: 80 } } }"},
       kInvalid,
       "metadata.namespace: \"Prod\" is not a valid namespace"},

      // EndpointSlices. How a slice relates to its Service (missing,
      // port names it lacks) is not refused: controller_slice_rules_test.cc.
      {"slice without service label",
       {Svc("web")},
       {"endpoint_slice { metadata { name: 'web-1' } address_type: 'IPv4' }"},
       kInvalid,
       "EndpointSlice default/web-1: "
       "metadata.labels[kubernetes.io/service-name]: is required"},
      {"slice IPv6",
       {Svc("web")},
       {"endpoint_slice { metadata { name: 'web-1' labels { key: "
        "'kubernetes.io/service-name' value: 'web' } } address_type: 'IPv6' }"},
       kInvalid,
       "addressType: IPv6 endpoints are not supported yet"},
      {"slice FQDN",
       {Svc("web")},
       {"endpoint_slice { metadata { name: 'web-1' labels { key: "
        "'kubernetes.io/service-name' value: 'web' } } address_type: 'FQDN' }"},
       kInvalid,
       "addressType: FQDN endpoints are not supported yet"},
      {"slice unknown address type",
       {Svc("web")},
       {"endpoint_slice { metadata { name: 'web-1' labels { key: "
        "'kubernetes.io/service-name' value: 'web' } } address_type: 'IPv5' }"},
       kInvalid,
       "addressType: \"IPv5\" is not one of IPv4, IPv6, FQDN"},
      {"slice without address type",
       {Svc("web")},
       {"endpoint_slice { metadata { name: 'web-1' labels { key: "
        "'kubernetes.io/service-name' value: 'web' } } }"},
       kInvalid,
       "addressType: is required"},
      {"malformed endpoint address",
       {Svc("web")},
       {Slice("web-1", "web",
              "endpoints { addresses: '10.1.0.1' } endpoints { addresses: "
              "'10.1.0' }")},
       kInvalid,
       "EndpointSlice default/web-1: endpoints[1].addresses[0]: '10.1.0' is "
       "not an IPv4 address"},
      {"loopback endpoint",
       {Svc("web")},
       {Slice("web-1", "web", "endpoints { addresses: '127.0.0.1' }")},
       kInvalid,
       "endpoints[0].addresses[0]: 127.0.0.1 is a loopback address"},
      {"link-local endpoint",
       {Svc("web")},
       {Slice("web-1", "web", "endpoints { addresses: '169.254.169.254' }")},
       kInvalid,
       "is a link-local address"},
      {"endpoint without address",
       {Svc("web")},
       {Slice("web-1", "web", "endpoints { node_name: 'n1' }")},
       kInvalid,
       "endpoints[0].addresses: at least one address is required"},
      {"endpoint port zero",
       {Svc("web")},
       {Slice("web-1", "web", "ports { port: 0 }")},
       kInvalid,
       "EndpointSlice default/web-1: ports[0].port: 0 is outside 1-65535"},
      {"endpoint port above 65535",
       {Svc("web")},
       {Slice("web-1", "web", "ports { port: 65536 }")},
       kInvalid,
       "ports[0].port: 65536 is outside 1-65535"},
      {"endpoint port protocol",
       {Svc("web")},
       {Slice("web-1", "web", "ports { port: 80 protocol: 'ICMP' }")},
       kInvalid,
       "ports[0].protocol: \"ICMP\" is not one of TCP, UDP, SCTP"},
      {"duplicate slice port names",
       {kWebTwoPorts},
       {Slice("web-1", "web",
              "ports { name: 'http' port: 1 } ports { name: 'http' port: 2 }")},
       kInvalid,
       "ports[1].name: duplicate name \"http\""},
      {"bad slice name",
       {Svc("web")},
       {Slice("Web_1", "web")},
       kInvalid,
       "EndpointSlice default/Web_1: metadata.name: \"Web_1\" is not a valid "
       "name (DNS-1123 subdomain"},

      // Nodes.
      {"node pod CIDR",
       {},
       {"node { metadata { name: 'n1' } pod_cidr: '10.244.0.0/40' }"},
       kInvalid,
       "Node n1: spec.podCIDR: '10.244.0.0/40' is not a CIDR"},
      {"node pod CIDRs entry",
       {},
       {"node { metadata { name: 'n1' } pod_cidrs: '10.244.0.0/24' pod_cidrs: "
        "'fd00::/300' }"},
       kInvalid,
       "Node n1: spec.podCIDRs[1]: 'fd00::/300' is not a CIDR"},
      {"node pod CIDRs disagreeing",
       {},
       {"node { metadata { name: 'n1' } pod_cidr: '10.244.0.0/24' pod_cidrs: "
        "'10.244.1.0/24' }"},
       kInvalid,
       "spec.podCIDRs[0]: \"10.244.1.0/24\" must equal spec.podCIDR"},
      {"node address",
       {},
       {"node { metadata { name: 'n1' } addresses { type: 'InternalIP' "
        "address: '10.0.0.300' } }"},
       kInvalid,
       "Node n1: status.addresses[0].address: '10.0.0.300' is not an IP "
       "address"},
      {"node address type",
       {},
       {"node { metadata { name: 'n1' } addresses { type: 'Internal' address: "
        "'10.0.0.3' } }"},
       kInvalid,
       "status.addresses[0].type: \"Internal\" is not one of"},
      {"node name",
       {},
       {"node { metadata { name: 'Node_1' } }"},
       kInvalid,
       "Node Node_1: metadata.name: \"Node_1\" is not a valid name"},

      // The write as a whole.
      {"same object twice",
       {},
       {Svc("web"), Svc("web", "session_affinity: 'ClientIP'")},
       kInvalid,
       "Service default/web: appears twice in one write (objects[0] and "
       "objects[1])"},
      {"object with no kind", {}, {""}, kInvalid, "objects[0]: no object set"},
      {"good objects then a bad one",
       {Svc("a")},
       {Svc("b"), Slice("b-1", "b"), "node { metadata { name: 'n1' } }",
        Svc("c", "", "ports { port: 99999 }")},
       kInvalid,
       "Service default/c: spec.ports[0].port: 99999 is outside 1-65535"},
  };
}

class BadWriteTest : public ::testing::TestWithParam<BadWrite> {};

TEST_P(BadWriteTest, IsRejectedAndChangesNothing) {
  const BadWrite& test = GetParam();
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie();
  ASSERT_NE(store, nullptr);
  if (!test.before.empty()) {
    absl::StatusOr<ApplyResult> before = store->Apply(Objs(test.before));
    ASSERT_TRUE(before.ok()) << before.status();
  }
  v1::WatchResponse snapshot = store->Snapshot();

  absl::StatusOr<ApplyResult> result = store->Apply(Objs(test.write));
  ASSERT_FALSE(result.ok()) << "accepted: " << test.description;
  EXPECT_EQ(result.status().code(), test.code) << result.status();
  EXPECT_NE(result.status().message().find(test.error), std::string::npos)
      << "message: " << result.status().message()
      << "\nexpected to contain: " << test.error;
  EXPECT_TRUE(testing::SameMessage(store->Snapshot(), snapshot));
}

INSTANTIATE_TEST_SUITE_P(Table, BadWriteTest, ::testing::ValuesIn(BadWrites()),
                         [](const ::testing::TestParamInfo<BadWrite>& info) {
                           std::string name = info.param.description;
                           for (char& c : name) {
                             if (!absl::ascii_isalnum(
                                     static_cast<unsigned char>(c)))
                               c = '_';
                           }
                           return name;
                         });

TEST(BadWriteTest, RejectedBatchLeaksNoAllocation) {
  StoreConfig config;
  config.service_cidr = "10.96.0.0/30";  // two usable addresses
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie(config);
  absl::StatusOr<ApplyResult> bad = store->Apply(
      Objs({Svc("a", "type: 'NodePort'"), Svc("b", "", "ports { port: 0 }")}));
  ASSERT_FALSE(bad.ok());
  // "a" and "b" are given the two addresses before "c" finds none left.
  bad = store->Apply(Objs({Svc("a", "type: 'NodePort'"), Svc("b"), Svc("c")}));
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kResourceExhausted)
      << bad.status();
  // Allocation happened for "a" in both failed writes; none of it stuck.
  absl::StatusOr<ApplyResult> good =
      store->Apply(Objs({Svc("a", "type: 'NodePort'")}));
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(good->objects[0].service().spec().cluster_ip(), "10.96.0.1");
  EXPECT_EQ(good->objects[0].service().spec().ports(0).node_port(), 30000);
  EXPECT_EQ(good->version, 1u);
}

TEST(BadWriteTest, RejectedUpdateKeepsTheOldAllocations) {
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie();
  ASSERT_TRUE(store->Apply(Objs({Svc("a", "type: 'NodePort'")})).ok());
  // The update released a's values before failing on b; they must be back.
  ASSERT_FALSE(store
                   ->Apply(Objs({Svc("a", "type: 'NodePort'"),
                                 Svc("b", "cluster_ip: '10.96.0.1'")}))
                   .ok());
  absl::StatusOr<ApplyResult> c =
      store->Apply(Objs({Svc("c", "type: 'NodePort'")}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->objects[0].service().spec().cluster_ip(), "10.96.0.2");
  EXPECT_EQ(c->objects[0].service().spec().ports(0).node_port(), 30001);
}

TEST(DeleteTest, RejectsBadRefsAndMissingObjects) {
  std::unique_ptr<ClusterStore> store = testing::OpenOrDie();
  ASSERT_TRUE(store->Apply(Objs({Svc("a"), Svc("b")})).ok());
  v1::WatchResponse snapshot = store->Snapshot();

  absl::StatusOr<uint64_t> deleted =
      store->Delete({testing::Ref(v1::KIND_SERVICE, "", "a"),
                     testing::Ref(v1::KIND_SERVICE, "default", "nosuch")},
                    /*ignore_not_found=*/false);
  EXPECT_EQ(deleted.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(deleted.status().message().find("Service default/nosuch not found"),
            std::string::npos)
      << deleted.status();
  EXPECT_TRUE(testing::SameMessage(store->Snapshot(), snapshot));

  deleted = store->Delete({testing::Ref(v1::KIND_UNSPECIFIED, "", "a")}, false);
  EXPECT_EQ(deleted.status().code(), kInvalid);
  deleted = store->Delete({testing::Ref(v1::KIND_SERVICE, "", "")}, false);
  EXPECT_EQ(deleted.status().code(), kInvalid);
  deleted = store->Delete({testing::Ref(v1::KIND_SERVICE, "", "a"),
                           testing::Ref(v1::KIND_SERVICE, "default", "a")},
                          false);
  EXPECT_EQ(deleted.status().code(), kInvalid);
  EXPECT_NE(deleted.status().message().find("appears twice"),
            std::string::npos);
  EXPECT_TRUE(testing::SameMessage(store->Snapshot(), snapshot));
}

TEST(OpenTest, RejectsBadConfig) {
  for (const char* cidr : {"10.96.0.0", "10.0.0.0/8", "10.96.0.0/31",
                           "10.96.0.1/12", "10.96.0/12"}) {
    StoreConfig config;
    config.service_cidr = cidr;
    EXPECT_EQ(ClusterStore::Open(config).status().code(), kInvalid) << cidr;
  }
  StoreConfig config;
  config.node_port_min = 40000;
  config.node_port_max = 30000;
  EXPECT_EQ(ClusterStore::Open(config).status().code(), kInvalid);
}

TEST(NamesTest, Dns1123AndIana) {
  EXPECT_TRUE(IsDns1123Label("web-1"));
  EXPECT_TRUE(IsDns1123Label("1web"));
  EXPECT_FALSE(IsDns1123Label("-web"));
  EXPECT_FALSE(IsDns1123Label("web-"));
  EXPECT_FALSE(IsDns1123Label("web.x"));
  EXPECT_FALSE(IsDns1123Label(""));
  EXPECT_TRUE(IsDns1123Subdomain("web-1.abc.x"));
  EXPECT_FALSE(IsDns1123Subdomain("web..x"));
  EXPECT_FALSE(IsDns1123Subdomain(".web"));
  EXPECT_FALSE(IsDns1123Subdomain(std::string(254, 'a')));
  EXPECT_TRUE(IsIanaServiceName("http"));
  EXPECT_TRUE(IsIanaServiceName("h2c-alt"));
  EXPECT_FALSE(IsIanaServiceName("8080"));
  EXPECT_FALSE(IsIanaServiceName("http--x"));
  EXPECT_FALSE(IsIanaServiceName("a-very-long-port-name"));
}

TEST(RangeAllocatorTest, LowestFreeTakeRelease) {
  RangeAllocator allocator(100, 130);  // two words, the second partial
  for (uint32_t v = 100; v < 230; ++v) {
    ASSERT_EQ(allocator.LowestFree(), v);
    allocator.Take(v);
  }
  EXPECT_EQ(allocator.LowestFree(), std::nullopt);
  EXPECT_EQ(allocator.taken(), 130u);
  allocator.Release(170);
  allocator.Release(120);
  EXPECT_EQ(allocator.LowestFree(), 120u);
  allocator.Take(120);
  EXPECT_EQ(allocator.LowestFree(), 170u);
  EXPECT_FALSE(allocator.Contains(99));
  EXPECT_FALSE(allocator.Contains(230));
  EXPECT_FALSE(allocator.IsTaken(230));
}

}  // namespace
}  // namespace switchyard::controller
