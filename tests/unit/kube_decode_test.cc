// SPDX-License-Identifier: Apache-2.0
// API-server JSON -> switchyard objects, and which objects this proxy
// serves. The inputs are shaped as kube-apiserver sends them: typed lists
// without per-item kind, managedFields, status, null where Go has nil.
#include <string>

#include "control/kube/api_decode.h"
#include "gtest/gtest.h"

namespace switchyard::kube {
namespace {

constexpr char kServiceList[] = R"json({
  "kind": "ServiceList", "apiVersion": "v1",
  "metadata": {"resourceVersion": "4711", "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ=="},
  "items": [{
    "metadata": {
      "name": "web", "namespace": "shop", "uid": "0b5c", "resourceVersion": "4700",
      "creationTimestamp": "2026-11-30T10:00:00Z",
      "labels": {"app": "web"},
      "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"huge\":1}",
                      "example.com/owner": "team-a"},
      "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update",
                         "apiVersion": "v1", "time": "2026-11-30T10:00:00Z",
                         "fieldsType": "FieldsV1",
                         "fieldsV1": {"f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}}}}}}]
    },
    "spec": {
      "type": "LoadBalancer", "clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
      "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080, "nodePort": 31080},
                {"name": "admin", "protocol": "TCP", "port": 9000, "targetPort": "admin", "nodePort": 31090}],
      "selector": {"app": "web"}, "sessionAffinity": "ClientIP",
      "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}},
      "externalTrafficPolicy": "Local", "healthCheckNodePort": 32000,
      "internalTrafficPolicy": "Cluster", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
      "allocateLoadBalancerNodePorts": true, "externalIPs": ["192.0.2.7"]
    },
    "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9", "ipMode": "VIP"}]},
               "conditions": null}
  }, {
    "metadata": {"name": "dual", "namespace": "default", "resourceVersion": "4701"},
    "spec": {"type": "ClusterIP", "clusterIP": "fd00::10", "clusterIPs": ["fd00::10", "10.96.0.30"],
             "ipFamilies": ["IPv6", "IPv4"], "ipFamilyPolicy": "PreferDualStack",
             "ports": [{"port": 53, "protocol": "UDP", "targetPort": 53}]}
  }, {
    "metadata": {"name": "v6only", "namespace": "default", "resourceVersion": "4702"},
    "spec": {"type": "ClusterIP", "clusterIP": "fd00::11", "clusterIPs": ["fd00::11"],
             "ipFamilies": ["IPv6"], "ports": [{"port": 80, "targetPort": 80}]}
  }, {
    "metadata": {"name": "theirs", "namespace": "default", "resourceVersion": "4703",
                 "labels": {"service.kubernetes.io/service-proxy-name": "other-proxy"}},
    "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.31", "ports": [{"port": 80}]}
  }]
})json";

TEST(DecodeList, ServicesAsTheApiServerSendsThem) {
  absl::StatusOr<ListPage> page =
      DecodeList(v1::KIND_SERVICE, kServiceList, ServingRules{});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->resource_version, "4711");
  EXPECT_EQ(page->continue_token, "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ==");
  ASSERT_EQ(page->items.size(), 4u);

  const Converted& web = page->items[0];
  EXPECT_EQ(web.resource_version, "4700");
  EXPECT_EQ(web.ref.namespace_(), "shop");
  ASSERT_TRUE(web.object.has_value());
  const v1::Service& service = web.object->service();
  EXPECT_EQ(service.metadata().labels().at("app"), "web");
  EXPECT_EQ(service.metadata().annotations().size(), 1u)
      << "last-applied-configuration is dropped, others kept";
  EXPECT_EQ(service.spec().type(), "LoadBalancer");
  EXPECT_EQ(service.spec().cluster_ip(), "10.96.0.20");
  ASSERT_EQ(service.spec().ports_size(), 2);
  EXPECT_EQ(service.spec().ports(0).target_port().number(), 8080);
  EXPECT_EQ(service.spec().ports(0).node_port(), 31080);
  EXPECT_EQ(service.spec().ports(1).target_port().name(), "admin");
  EXPECT_EQ(
      service.spec().session_affinity_config().client_ip_timeout_seconds(),
      600);
  EXPECT_EQ(service.spec().health_check_node_port(), 32000);
  EXPECT_EQ(service.spec().external_ips(0), "192.0.2.7");
  ASSERT_EQ(service.status().load_balancer_ingress_size(), 1);
  EXPECT_EQ(service.status().load_balancer_ingress(0).ip(), "203.0.113.9");

  const Converted& dual = page->items[1];
  ASSERT_TRUE(dual.object.has_value()) << dual.skipped;
  EXPECT_EQ(dual.object->service().spec().cluster_ip(), "10.96.0.30")
      << "the IPv4 half of an IPv6-primary dual-stack service";
  EXPECT_EQ(dual.object->service().spec().cluster_ips_size(), 1);
  EXPECT_EQ(dual.object->service().spec().ip_families_size(), 1);
  EXPECT_EQ(dual.object->service().spec().ip_family_policy(), "SingleStack");
  EXPECT_EQ(dual.object->service().spec().ports(0).protocol(), "UDP");

  EXPECT_FALSE(page->items[2].object.has_value());
  EXPECT_NE(page->items[2].skipped.find("IPv6"), std::string::npos);
  EXPECT_FALSE(page->items[3].object.has_value());
  EXPECT_NE(page->items[3].skipped.find("other-proxy"), std::string::npos);
  EXPECT_EQ(page->items[3].ref.name(), "theirs")
      << "an unserved object still names what to remove";
}

// JSON numbers are doubles: a targetPort that is no int32 must not be cast
// (undefined behaviour, found by kube_decode_fuzz); it becomes -1, which
// the controller's validation refuses, with a warning naming the value.
TEST(DecodeList, TargetPortThatIsNoInt32IsMarkedInvalid) {
  absl::StatusOr<ListPage> page = DecodeList(v1::KIND_SERVICE, R"json({
    "kind": "ServiceList", "apiVersion": "v1", "metadata": {"resourceVersion": "9"},
    "items": [{
      "metadata": {"name": "odd", "namespace": "default", "resourceVersion": "8"},
      "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.40",
               "ports": [{"port": 80, "targetPort": 8e30},
                         {"port": 81, "targetPort": 80.5},
                         {"port": 82, "targetPort": -2147483649},
                         {"port": 83, "targetPort": 8081}]}
    }]})json",
                                             ServingRules{});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), 1u);
  const Converted& odd = page->items[0];
  ASSERT_TRUE(odd.object.has_value()) << odd.skipped;
  const v1::ServiceSpec& spec = odd.object->service().spec();
  ASSERT_EQ(spec.ports_size(), 4);
  EXPECT_EQ(spec.ports(0).target_port().number(), -1);
  EXPECT_EQ(spec.ports(1).target_port().number(), -1);
  EXPECT_EQ(spec.ports(2).target_port().number(), -1);
  EXPECT_EQ(spec.ports(3).target_port().number(), 8081);
  ASSERT_EQ(odd.warnings.size(), 3u);
  EXPECT_EQ(odd.warnings[0],
            "spec.ports[0].targetPort: 8e+30 is not a port number");
  EXPECT_EQ(odd.warnings[1],
            "spec.ports[1].targetPort: 80.5 is not a port number");
}

TEST(DecodeList, ServiceProxyNameSelectsOnlyOurs) {
  absl::StatusOr<ListPage> page = DecodeList(
      v1::KIND_SERVICE, kServiceList, {.service_proxy_name = "other-proxy"});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_FALSE(page->items[0].object.has_value()) << "unlabelled: not ours";
  EXPECT_TRUE(page->items[3].object.has_value());
}

TEST(DecodeList, EndpointSlices) {
  constexpr char kList[] = R"json({
    "kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1",
    "metadata": {"resourceVersion": "90"},
    "items": [{
      "metadata": {"name": "web-abc12", "namespace": "shop", "resourceVersion": "80",
                   "generateName": "web-",
                   "labels": {"kubernetes.io/service-name": "web",
                              "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                   "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web", "uid": "0b5c",
                                        "controller": true, "blockOwnerDeletion": true}]},
      "addressType": "IPv4",
      "endpoints": [{"addresses": ["10.244.1.5"],
                     "conditions": {"ready": true, "serving": true, "terminating": false},
                     "nodeName": "node-a", "zone": "zone-1",
                     "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-1", "uid": "77"},
                     "hints": {"forZones": [{"name": "zone-1"}]}},
                    {"addresses": ["10.244.2.9"], "conditions": {"ready": false, "terminating": true}}],
      "ports": [{"name": "http", "protocol": "TCP", "port": 8080}]
    }, {
      "metadata": {"name": "web-v6", "namespace": "shop", "resourceVersion": "81",
                   "labels": {"kubernetes.io/service-name": "web"}},
      "addressType": "IPv6", "endpoints": [{"addresses": ["fd00::5"]}], "ports": [{"port": 8080}]
    }, {
      "metadata": {"name": "db-x", "namespace": "shop", "resourceVersion": "82",
                   "labels": {"kubernetes.io/service-name": "db", "service.kubernetes.io/headless": ""}},
      "addressType": "IPv4", "endpoints": null, "ports": null
    }, {
      "metadata": {"name": "empty", "namespace": "shop", "resourceVersion": "83",
                   "labels": {"kubernetes.io/service-name": "web"}},
      "addressType": "IPv4", "endpoints": null, "ports": [{"name": "", "port": null}]
    }]
  })json";
  absl::StatusOr<ListPage> page =
      DecodeList(v1::KIND_ENDPOINT_SLICE, kList, ServingRules{});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), 4u);
  ASSERT_TRUE(page->items[0].object.has_value());
  const v1::EndpointSlice& slice = page->items[0].object->endpoint_slice();
  ASSERT_EQ(slice.endpoints_size(), 2);
  EXPECT_TRUE(slice.endpoints(0).conditions().ready());
  EXPECT_EQ(slice.endpoints(0).node_name(), "node-a");
  EXPECT_EQ(slice.endpoints(0).zone(), "zone-1");
  EXPECT_EQ(slice.endpoints(0).target_ref().at("name"), "web-1");
  EXPECT_FALSE(slice.endpoints(0).target_ref().contains("uid"));
  EXPECT_FALSE(slice.endpoints(1).conditions().ready());
  EXPECT_FALSE(slice.endpoints(1).conditions().has_serving())
      << "unknown stays unknown";
  EXPECT_TRUE(slice.endpoints(1).conditions().terminating());
  EXPECT_EQ(slice.ports(0).port(), 8080);
  EXPECT_FALSE(page->items[1].object.has_value()) << "IPv6 slice";
  EXPECT_FALSE(page->items[2].object.has_value()) << "headless service";
  ASSERT_TRUE(page->items[3].object.has_value());
  EXPECT_EQ(page->items[3].object->endpoint_slice().endpoints_size(), 0);
}

TEST(DecodeList, Nodes) {
  constexpr char kList[] = R"json({
    "kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "12"},
    "items": [{
      "metadata": {"name": "node-a", "resourceVersion": "11", "labels": {"kubernetes.io/hostname": "node-a"}},
      "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24", "fd00:1::/64"],
               "taints": [{"key": "k", "effect": "NoSchedule"}]},
      "status": {"addresses": [{"type": "InternalIP", "address": "192.168.1.10"},
                               {"type": "InternalIP", "address": "fd00::10"},
                               {"type": "Hostname", "address": "node-a"}],
                 "capacity": {"cpu": "2", "memory": "8Gi"},
                 "conditions": [{"type": "Ready", "status": "True"}]}
    }]
  })json";
  absl::StatusOr<ListPage> page =
      DecodeList(v1::KIND_NODE, kList, ServingRules{});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_TRUE(page->items[0].object.has_value());
  const v1::Node& node = page->items[0].object->node();
  EXPECT_EQ(page->items[0].ref.namespace_(), "");
  EXPECT_EQ(node.pod_cidr(), "10.244.1.0/24");
  EXPECT_EQ(node.pod_cidrs_size(), 1);
  ASSERT_EQ(node.addresses_size(), 2);
  EXPECT_EQ(node.addresses(0).address(), "192.168.1.10");
  EXPECT_EQ(node.addresses(1).type(), "Hostname");
}

TEST(DecodeList, RefusesWhatIsNotAList) {
  EXPECT_FALSE(
      DecodeList(v1::KIND_SERVICE, "<html>proxy error</html>", {}).ok());
  EXPECT_FALSE(
      DecodeList(v1::KIND_SERVICE, R"({"items": [{"spec": {"ports": 5}}]})", {})
          .ok());
}

TEST(DecodeWatchEvent, EachType) {
  absl::StatusOr<WatchEvent> added = DecodeWatchEvent(
      v1::KIND_SERVICE,
      R"({"type":"ADDED","object":{"kind":"Service","apiVersion":"v1","metadata":{"name":"a","namespace":"default","resourceVersion":"101"},"spec":{"clusterIP":"10.96.0.5","ports":[{"port":80}]}}})",
      {});
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->type, WatchEvent::Type::kAdded);
  EXPECT_EQ(added->resource_version, "101");
  EXPECT_TRUE(added->item.object.has_value());

  absl::StatusOr<WatchEvent> deleted = DecodeWatchEvent(
      v1::KIND_NODE,
      R"({"type":"DELETED","object":{"kind":"Node","metadata":{"name":"n1","resourceVersion":"102"}}})",
      {});
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->type, WatchEvent::Type::kDeleted);
  EXPECT_EQ(deleted->item.ref.name(), "n1");

  absl::StatusOr<WatchEvent> bookmark = DecodeWatchEvent(
      v1::KIND_ENDPOINT_SLICE,
      R"({"type":"BOOKMARK","object":{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"resourceVersion":"150","annotations":{"k8s.io/initial-events-end":"true"}}}})",
      {});
  ASSERT_TRUE(bookmark.ok()) << bookmark.status();
  EXPECT_EQ(bookmark->type, WatchEvent::Type::kBookmark);
  EXPECT_EQ(bookmark->resource_version, "150");

  absl::StatusOr<WatchEvent> gone = DecodeWatchEvent(
      v1::KIND_SERVICE,
      R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (90)","reason":"Expired","code":410}})j",
      {});
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_EQ(gone->type, WatchEvent::Type::kError);
  EXPECT_EQ(gone->error_code, 410);
  EXPECT_NE(gone->error_message.find("too old"), std::string::npos);
}

TEST(DecodeWatchEvent, RefusesOddLines) {
  EXPECT_FALSE(DecodeWatchEvent(v1::KIND_SERVICE, "not json", {}).ok());
  EXPECT_FALSE(DecodeWatchEvent(v1::KIND_SERVICE,
                                R"({"type":"RENAMED","object":{}})", {})
                   .ok());
  // An event the reflector could not resume after.
  EXPECT_FALSE(DecodeWatchEvent(
                   v1::KIND_SERVICE,
                   R"({"type":"ADDED","object":{"metadata":{"name":"x"}}})", {})
                   .ok());
}

TEST(DescribeFailure, StatusOrBody) {
  EXPECT_EQ(
      DescribeFailure(
          403,
          R"({"kind":"Status","status":"Failure","message":"services is forbidden: User \"system:serviceaccount:x:y\" cannot list resource \"services\"","reason":"Forbidden","code":403})"),
      "HTTP 403 Forbidden: services is forbidden: User "
      "\"system:serviceaccount:x:y\" cannot list resource \"services\"");
  EXPECT_EQ(DescribeFailure(502, "Bad Gateway"), "HTTP 502: Bad Gateway");
}

}  // namespace
}  // namespace switchyard::kube
