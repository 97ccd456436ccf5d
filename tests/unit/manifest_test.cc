// SPDX-License-Identifier: Apache-2.0
// yard_manifest: realistic Kubernetes manifests load into the right
// messages, malformed ones fail with messages naming source, document and
// field, and what ObjectToYaml/ObjectToJson write reads back unchanged.
#include "control/manifest/manifest.h"

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "control/manifest/object.h"

namespace switchyard::manifest {
namespace {

using google::protobuf::util::MessageDifferencer;

// ---- Realistic manifests, as the Kubernetes documentation and kubectl
// write them -------------------------------------------------------------

constexpr char kMultiPortService[] = R"(
apiVersion: v1
kind: Service
metadata:
  name: my-service
spec:
  selector:
    app.kubernetes.io/name: MyApp
  ports:
    - name: http
      protocol: TCP
      port: 80
      targetPort: 9376
    - name: https
      protocol: TCP
      port: 443
      targetPort: 9377
)";

constexpr char kNodePortService[] = R"(
apiVersion: v1
kind: Service
metadata:
  name: my-nodeport
  namespace: shop
  labels:
    app: shop
    tier: "frontend"
  annotations:
    description: "NodePort for the shop: port 80, node port 30007"
spec:
  type: NodePort
  selector:
    app.kubernetes.io/name: MyApp
  ports:
      # By default and for convenience, the `targetPort` is set to
      # the same value as the `port` field.
    - port: 80
      targetPort: http-web
      # Optional field
      nodePort: 30007
  externalTrafficPolicy: Local
  healthCheckNodePort: 32000
  sessionAffinity: ClientIP
  sessionAffinityConfig:
    clientIP:
      timeoutSeconds: 600
)";

constexpr char kLoadBalancerService[] = R"(
apiVersion: v1
kind: Service
metadata:
  name: my-lb
spec:
  selector:
    app.kubernetes.io/name: MyApp
  ports:
    - protocol: TCP
      port: 80
      targetPort: 9376
      nodePort: 31514
  clusterIP: 10.0.171.239
  clusterIPs: [10.0.171.239, "fd00::a"]
  ipFamilies: [IPv4, IPv6]
  ipFamilyPolicy: PreferDualStack
  type: LoadBalancer
  loadBalancerIP: 192.0.2.127
  loadBalancerSourceRanges:
  - 130.211.204.1/32
  - 130.211.204.2/32
  externalIPs:
  - 198.51.100.32
  allocateLoadBalancerNodePorts: true
  internalTrafficPolicy: Local
  publishNotReadyAddresses: false
status:
  loadBalancer:
    ingress:
    - ip: 192.0.2.127
    - hostname: lb.example.com
)";

constexpr char kEndpointSlice[] = R"(
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: example-abc
  namespace: default
  labels:
    kubernetes.io/service-name: example
    endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
  generateName: example-
  ownerReferences:
  - apiVersion: v1
    blockOwnerDeletion: true
    controller: true
    kind: Service
    name: example
    uid: 5b3bd1c3-0f5b-4a43-9a9e-3f1fd9c1c3a8
addressType: IPv4
ports:
  - name: http
    protocol: TCP
    port: 80
    appProtocol: http
endpoints:
  - addresses:
      - "10.1.2.3"
    conditions:
      ready: true
      serving: true
      terminating: false
    hostname: pod-1
    nodeName: node-1
    zone: us-west2-a
    targetRef:
      kind: Pod
      namespace: default
      name: example-7d4b9c-abcde
      uid: 0e5b6a2c-1111-2222-3333-444455556666
      resourceVersion: "123456"
  - addresses:
      - "10.1.2.4"
    conditions:
      ready: false
      serving: true
      terminating: true
    nodeName: node-2
    deprecatedTopology:
      kubernetes.io/hostname: node-2
    hints:
      forZones:
      - name: us-west2-a
  - addresses: ["10.1.2.5"]
    conditions: {}
)";

// `kubectl get node worker-1 -o yaml`, trimmed only a little.
constexpr char kNode[] = R"(
apiVersion: v1
kind: Node
metadata:
  annotations:
    kubeadm.alpha.kubernetes.io/cri-socket: unix:///run/containerd/containerd.sock
    node.alpha.kubernetes.io/ttl: "0"
    volumes.kubernetes.io/controller-managed-attach-detach: "true"
  creationTimestamp: "2024-03-01T10:15:42Z"
  labels:
    beta.kubernetes.io/arch: amd64
    beta.kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: worker-1
    kubernetes.io/os: linux
  name: worker-1
  resourceVersion: "48213"
  uid: 8f0c3c1e-6a0e-4b9a-8f0e-2f4b5a6c7d8e
spec:
  podCIDR: 10.244.1.0/24
  podCIDRs:
  - 10.244.1.0/24
  - fd00:10:244:1::/64
  providerID: kind://docker/kind/worker-1
  taints:
  - effect: NoSchedule
    key: node-role.kubernetes.io/control-plane
status:
  addresses:
  - address: 172.18.0.3
    type: InternalIP
  - address: worker-1
    type: Hostname
  allocatable:
    cpu: "8"
    ephemeral-storage: 263174212Ki
    hugepages-1Gi: "0"
    memory: 32734524Ki
    pods: "110"
  capacity:
    cpu: "8"
    memory: 32734524Ki
    pods: "110"
  conditions:
  - lastHeartbeatTime: "2024-03-05T08:01:10Z"
    lastTransitionTime: "2024-03-01T10:15:40Z"
    message: kubelet has sufficient memory available
    reason: KubeletHasSufficientMemory
    status: "False"
    type: MemoryPressure
  - lastHeartbeatTime: "2024-03-05T08:01:10Z"
    lastTransitionTime: "2024-03-01T10:16:01Z"
    message: kubelet is posting ready status
    reason: KubeletReady
    status: "True"
    type: Ready
  daemonEndpoints:
    kubeletEndpoint:
      Port: 10250
  images:
  - names:
    - registry.k8s.io/etcd@sha256:44a8e24dcbba3470ee1fee21d5e88d128c936e9b55d4bc51fbef8086f8ed123b
    - registry.k8s.io/etcd:3.5.10-0
    sizeBytes: 56649232
  nodeInfo:
    architecture: amd64
    bootID: 3a0b1c2d-0000-1111-2222-333344445555
    containerRuntimeVersion: containerd://1.7.1
    kernelVersion: 6.1.0-18-amd64
    kubeProxyVersion: v1.29.2
    kubeletVersion: v1.29.2
    machineID: 0123456789abcdef0123456789abcdef
    operatingSystem: linux
    osImage: Debian GNU/Linux 12 (bookworm)
    systemUUID: 01234567-89ab-cdef-0123-456789abcdef
)";

// `kubectl get svc -o json`: a List, with managedFields and friends.
constexpr char kJsonList[] = R"({
    "apiVersion": "v1",
    "items": [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "creationTimestamp": "2024-03-01T10:15:42Z",
                "labels": {
                    "component": "apiserver",
                    "provider": "kubernetes"
                },
                "managedFields": [
                    {
                        "apiVersion": "v1",
                        "fieldsType": "FieldsV1",
                        "fieldsV1": {"f:metadata": {"f:labels": {".": {}}}},
                        "manager": "kube-apiserver",
                        "operation": "Update",
                        "time": "2024-03-01T10:15:42Z"
                    }
                ],
                "name": "kubernetes",
                "namespace": "default",
                "resourceVersion": "193",
                "uid": "2b0f3c84-1d1e-4f0e-9a7c-6f0b3d9a7e21"
            },
            "spec": {
                "clusterIP": "10.96.0.1",
                "clusterIPs": [
                    "10.96.0.1"
                ],
                "internalTrafficPolicy": "Cluster",
                "ipFamilies": [
                    "IPv4"
                ],
                "ipFamilyPolicy": "SingleStack",
                "ports": [
                    {
                        "name": "https",
                        "port": 443,
                        "protocol": "TCP",
                        "targetPort": 6443
                    }
                ],
                "sessionAffinity": "None",
                "type": "ClusterIP"
            },
            "status": {
                "loadBalancer": {}
            }
        }
    ],
    "kind": "List",
    "metadata": {
        "resourceVersion": ""
    }
}
)";

v1::Object ParseOne(absl::string_view text) {
  absl::StatusOr<ManifestSet> set = ParseManifests(text, "test.yaml");
  EXPECT_TRUE(set.ok()) << set.status();
  if (!set.ok() || set->objects.size() != 1) {
    ADD_FAILURE() << "expected one object";
    return v1::Object();
  }
  return set->objects[0];
}

v1::Object FromText(absl::string_view text) {
  v1::Object object;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(std::string(text),
                                                            &object));
  return object;
}

void ExpectEqual(const v1::Object& want, const v1::Object& got) {
  std::string diff;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(want, got)) << diff;
}

TEST(ParseManifests, EscapeThatDecodesToNonUtf8IsRefused) {
  // yaml-cpp reads "\N" as the single byte 0x85: not UTF-8, which protobuf
  // (and the controller) would refuse later. Found by the manifest fuzzer.
  constexpr char kText[] = R"(apiVersion: v1
kind: Service
metadata:
  name: web
  annotations:
    note: "a\Nb"
spec:
  ports:
  - port: 80
)";
  absl::StatusOr<ManifestSet> set = ParseManifests(kText, "web.yaml");
  ASSERT_FALSE(set.ok());
  const std::string message(set.status().message());
  EXPECT_NE(message.find("not valid UTF-8"), std::string::npos) << message;
  EXPECT_NE(message.find("annotations"), std::string::npos) << message;
}

TEST(ParseManifests, MultiPortService) {
  ExpectEqual(FromText(R"pb(
                service {
                  metadata { name: "my-service" }
                  spec {
                    selector { key: "app.kubernetes.io/name" value: "MyApp" }
                    ports {
                      name: "http"
                      protocol: "TCP"
                      port: 80
                      target_port { number: 9376 }
                    }
                    ports {
                      name: "https"
                      protocol: "TCP"
                      port: 443
                      target_port { number: 9377 }
                    }
                  }
                })pb"),
              ParseOne(kMultiPortService));
}

TEST(ParseManifests, NodePortServiceWithPolicies) {
  ExpectEqual(FromText(R"pb(
                service {
                  metadata {
                    name: "my-nodeport"
                    namespace: "shop"
                    labels { key: "app" value: "shop" }
                    labels { key: "tier" value: "frontend" }
                    annotations {
                      key: "description"
                      value: "NodePort for the shop: port 80, node port 30007"
                    }
                  }
                  spec {
                    type: "NodePort"
                    selector { key: "app.kubernetes.io/name" value: "MyApp" }
                    ports {
                      port: 80
                      target_port { name: "http-web" }
                      node_port: 30007
                    }
                    external_traffic_policy: "Local"
                    health_check_node_port: 32000
                    session_affinity: "ClientIP"
                    session_affinity_config { client_ip_timeout_seconds: 600 }
                  }
                })pb"),
              ParseOne(kNodePortService));
}

TEST(ParseManifests, LoadBalancerWithStatus) {
  ExpectEqual(FromText(R"pb(
                service {
                  metadata { name: "my-lb" }
                  spec {
                    selector { key: "app.kubernetes.io/name" value: "MyApp" }
                    ports {
                      protocol: "TCP"
                      port: 80
                      target_port { number: 9376 }
                      node_port: 31514
                    }
                    cluster_ip: "10.0.171.239"
                    cluster_ips: [ "10.0.171.239", "fd00::a" ]
                    ip_families: [ "IPv4", "IPv6" ]
                    ip_family_policy: "PreferDualStack"
                    type: "LoadBalancer"
                    load_balancer_ip: "192.0.2.127"
                    load_balancer_source_ranges: [
                      "130.211.204.1/32",
                      "130.211.204.2/32"
                    ]
                    external_ips: "198.51.100.32"
                    allocate_load_balancer_node_ports: true
                    internal_traffic_policy: "Local"
                  }
                  status {
                    load_balancer_ingress { ip: "192.0.2.127" }
                    load_balancer_ingress { hostname: "lb.example.com" }
                  }
                })pb"),
              ParseOne(kLoadBalancerService));
}

TEST(ParseManifests, EndpointSliceWithConditionsAndTargetRef) {
  ExpectEqual(
      FromText(R"pb(
        endpoint_slice {
          metadata {
            name: "example-abc"
            namespace: "default"
            labels { key: "kubernetes.io/service-name" value: "example" }
            labels {
              key: "endpointslice.kubernetes.io/managed-by"
              value: "endpointslice-controller.k8s.io"
            }
          }
          address_type: "IPv4"
          ports { name: "http" protocol: "TCP" port: 80 app_protocol: "http" }
          endpoints {
            addresses: "10.1.2.3"
            conditions { ready: true serving: true terminating: false }
            hostname: "pod-1"
            node_name: "node-1"
            zone: "us-west2-a"
            target_ref { key: "kind" value: "Pod" }
            target_ref { key: "namespace" value: "default" }
            target_ref { key: "name" value: "example-7d4b9c-abcde" }
          }
          endpoints {
            addresses: "10.1.2.4"
            conditions { ready: false serving: true terminating: true }
            node_name: "node-2"
            hints { for_zones { name: "us-west2-a" } }
          }
          endpoints { addresses: "10.1.2.5" }
        })pb"),
      ParseOne(kEndpointSlice));
}

TEST(ParseManifests, NodeAsKubectlPrintsIt) {
  v1::Object node = ParseOne(kNode);
  v1::Object want = FromText(R"pb(
    node {
      metadata {
        name: "worker-1"
        labels { key: "beta.kubernetes.io/arch" value: "amd64" }
        labels { key: "beta.kubernetes.io/os" value: "linux" }
        labels { key: "kubernetes.io/arch" value: "amd64" }
        labels { key: "kubernetes.io/hostname" value: "worker-1" }
        labels { key: "kubernetes.io/os" value: "linux" }
        annotations {
          key: "kubeadm.alpha.kubernetes.io/cri-socket"
          value: "unix:///run/containerd/containerd.sock"
        }
        annotations { key: "node.alpha.kubernetes.io/ttl" value: "0" }
        annotations {
          key: "volumes.kubernetes.io/controller-managed-attach-detach"
          value: "true"
        }
      }
      pod_cidr: "10.244.1.0/24"
      pod_cidrs: [ "10.244.1.0/24", "fd00:10:244:1::/64" ]
      addresses { type: "InternalIP" address: "172.18.0.3" }
      addresses { type: "Hostname" address: "worker-1" }
    })pb");
  ExpectEqual(want, node);
}

TEST(ParseManifests, KubectlJsonListWithManagedFields) {
  absl::StatusOr<ManifestSet> set = ParseManifests(kJsonList, "svc.json");
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->objects.size(), 1u);
  ExpectEqual(FromText(R"pb(
                service {
                  metadata {
                    name: "kubernetes"
                    namespace: "default"
                    labels { key: "component" value: "apiserver" }
                    labels { key: "provider" value: "kubernetes" }
                  }
                  spec {
                    cluster_ip: "10.96.0.1"
                    cluster_ips: "10.96.0.1"
                    internal_traffic_policy: "Cluster"
                    ip_families: "IPv4"
                    ip_family_policy: "SingleStack"
                    ports {
                      name: "https"
                      port: 443
                      protocol: "TCP"
                      target_port { number: 6443 }
                    }
                    session_affinity: "None"
                    type: "ClusterIP"
                  }
                })pb"),
              set->objects[0]);
}

TEST(ParseManifests, TypedListItemsTakeTheListsKind) {
  absl::StatusOr<ManifestSet> set = ParseManifests(R"(
apiVersion: v1
kind: ServiceList
items:
- metadata: {name: a}
  spec: {ports: [{port: 80}]}
- metadata: {name: b}
)",
                                                   "list.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->objects.size(), 2u);
  EXPECT_EQ(set->objects[0].service().metadata().name(), "a");
  EXPECT_EQ(set->objects[0].service().spec().ports(0).port(), 80);
  EXPECT_EQ(set->objects[1].service().metadata().name(), "b");
}

TEST(ParseManifests, OtherKindsAreSkippedWithWarnings) {
  absl::StatusOr<ManifestSet> set = ParseManifests(R"(
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {index.html: "<h1>hi</h1>"}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
)",
                                                   "app.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->objects.size(), 1u);
  EXPECT_EQ(set->objects[0].service().metadata().name(), "web");
  ASSERT_EQ(set->warnings.size(), 2u);
  EXPECT_EQ(set->warnings[0],
            "app.yaml: document 1: skipped apps/v1 Deployment \"web\" "
            "(yardctl handles Service, EndpointSlice and Node)");
  EXPECT_NE(set->warnings[1].find("document 2: skipped v1 ConfigMap"),
            std::string::npos);
}

TEST(ParseManifests, EmptyDocumentsAndCommentsAreFine) {
  absl::StatusOr<ManifestSet> set = ParseManifests(R"(# leading comment
---
---
apiVersion: v1
kind: Service
metadata: {name: a}
---
# only a comment here
---
apiVersion: v1
kind: Node
metadata: {name: n1}
---
)",
                                                   "x.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->objects.size(), 2u);
  EXPECT_EQ(KindOf(set->objects[0]), v1::KIND_SERVICE);
  EXPECT_EQ(KindOf(set->objects[1]), v1::KIND_NODE);
  EXPECT_TRUE(set->warnings.empty());
  EXPECT_TRUE(ParseManifests("", "empty.yaml").ok());
}

TEST(ParseManifests, QuotedTargetPortIsAName) {
  v1::Object object = ParseOne(R"(
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {ports: [{port: 80, targetPort: "8080"}, {port: 81, targetPort: 8081}]}
)");
  EXPECT_EQ(object.service().spec().ports(0).target_port().name(), "8080");
  EXPECT_EQ(object.service().spec().ports(1).target_port().number(), 8081);
}

TEST(ParseManifests, NodeNamespaceIsDropped) {
  v1::Object object = ParseOne(
      "apiVersion: v1\nkind: Node\nmetadata: {name: n1, namespace: x}\n");
  EXPECT_EQ(object.node().metadata().namespace_(), "");
}

// ---- Malformed manifests ------------------------------------------------

struct BadCase {
  const char* description;
  const char* text;
  const char* error;  // expected substring of the message
};

constexpr char kServiceHead[] =
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n";

class BadManifestTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadManifestTest, FailsNamingTheProblem) {
  const BadCase& c = GetParam();
  absl::StatusOr<ManifestSet> set = ParseManifests(c.text, "web.yaml");
  ASSERT_FALSE(set.ok()) << c.description;
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(set.status().message().find(c.error), std::string::npos)
      << c.description << "\n  got:  " << set.status().message()
      << "\n  want: " << c.error;
}

std::string Service(const char* rest) {
  return std::string(kServiceHead) + rest;
}

const std::string kPortNotInt = Service("spec:\n  ports:\n  - port: http\n");
const std::string kPortQuoted = Service("spec:\n  ports:\n  - port: \"80\"\n");
const std::string kPortHuge =
    Service("spec:\n  ports:\n  - port: 99999999999\n");
const std::string kPortFloat = Service("spec:\n  ports:\n  - port: 80.5\n");
const std::string kPortMap =
    Service("spec:\n  ports:\n  - port: {number: 80}\n");
const std::string kSpecList = Service("spec:\n- ports: []\n");
const std::string kPortsMap = Service("spec:\n  ports:\n    port: 80\n");
const std::string kSelectorList = Service("spec:\n  selector: [app, web]\n");
const std::string kLabelList =
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels:\n    "
    "app: [web]\n";
const std::string kBadBool =
    Service("spec:\n  publishNotReadyAddresses: maybe\n");
const std::string kQuotedBool =
    Service("spec:\n  publishNotReadyAddresses: \"true\"\n");
const std::string kDuplicate =
    Service("spec:\n  ports:\n  - port: 80\n    port: 81\n");
const std::string kSecondDoc =
    std::string(kServiceHead) + "---\n" +
    "apiVersion: v1\nkind: Service\nmetadata: {name: two, namespace: shop}\n"
    "spec: {ports: [{port: 80, nodePort: x}]}\n";
const std::string kListItem =
    "apiVersion: v1\nkind: List\nitems:\n- " +
    std::string("apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n") +
    "- apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n  spec: "
    "{ports: [{port: x}]}\n";

const BadCase kBadCases[] = {
    {"bad indentation",
     "apiVersion: v1\nkind: Service\nmetadata:\n  name: "
     "web\n   namespace: x\n",
     "web.yaml: document 1: line 5, column"},
    {"indentation error in the second document",
     "apiVersion: v1\nkind: Node\nmetadata: {name: n}\n---\napiVersion: "
     "v1\nkind: Service\nmetadata:\n  name: a\n labels: {}\n",
     "web.yaml: document 2: line 9"},
    {"unclosed flow list", "apiVersion: v1\nkind: Service\nspec: {ports: [80\n",
     "YAML syntax error"},
    {"tab indentation",
     "apiVersion: v1\nkind: Service\nmetadata:\n\tname: web\n",
     "YAML syntax error"},
    {"port not an integer", kPortNotInt.c_str(),
     "web.yaml: document 1 (Service default/web): spec.ports[0].port: "
     "\"http\" is not an integer (line 7, column 11)"},
    {"port quoted", kPortQuoted.c_str(),
     "spec.ports[0].port: \"80\" is a string, not an integer"},
    {"port out of range", kPortHuge.c_str(),
     "spec.ports[0].port: 99999999999 is out of range"},
    {"port a float", kPortFloat.c_str(),
     "spec.ports[0].port: \"80.5\" is not an integer"},
    {"port a map", kPortMap.c_str(),
     "spec.ports[0].port: expected an integer, got a map"},
    {"list where a map is expected", kSpecList.c_str(),
     "(Service default/web): spec: expected a map, got a list"},
    {"map where a list is expected", kPortsMap.c_str(),
     "spec.ports: expected a list, got a map"},
    {"selector a list", kSelectorList.c_str(),
     "spec.selector: expected a map, got a list"},
    {"label value a list", kLabelList.c_str(),
     "metadata.labels[\"app\"]: expected a string, got a list"},
    {"bool not a bool", kBadBool.c_str(),
     "spec.publishNotReadyAddresses: \"maybe\" is not a boolean"},
    {"bool quoted", kQuotedBool.c_str(), "\"true\" is a string, not a boolean"},
    {"duplicate field", kDuplicate.c_str(),
     "spec.ports[0].port: field set twice"},
    {"error in the second document names it", kSecondDoc.c_str(),
     "web.yaml: document 2 (Service shop/two): spec.ports[0].nodePort: \"x\" "
     "is not an integer"},
    {"error in a List item names it", kListItem.c_str(),
     "web.yaml: document 1: items[1] (Service default/b): spec.ports[0].port"},
    {"missing kind", "apiVersion: v1\nmetadata: {name: web}\n",
     "web.yaml: document 1: kind: missing"},
    {"missing apiVersion", "kind: Service\nmetadata: {name: web}\n",
     "apiVersion: missing (Service needs one, such as v1)"},
    {"unknown apiVersion for EndpointSlice",
     "apiVersion: discovery.k8s.io/v1beta1\nkind: EndpointSlice\nmetadata: "
     "{name: a}\n",
     "apiVersion: \"discovery.k8s.io/v1beta1\" is not a known version of "
     "EndpointSlice (use discovery.k8s.io/v1)"},
    {"unknown apiVersion for Service",
     "apiVersion: apps/v1\nkind: Service\nmetadata: {name: a}\n",
     "\"apps/v1\" is not a known version of Service (use v1)"},
    {"missing name", "apiVersion: v1\nkind: Service\nmetadata: {labels: {}}\n",
     "(Service): metadata.name: missing"},
    {"generateName",
     "apiVersion: v1\nkind: Service\nmetadata: "
     "{generateName: web-}\n",
     "metadata.name: missing (generateName is not supported)"},
    {"metadata a scalar", "apiVersion: v1\nkind: Node\nmetadata: n1\n",
     "metadata: expected a map, got a scalar"},
    {"document a list", "- apiVersion: v1\n  kind: Service\n",
     "web.yaml: document 1: expected an object (a map with apiVersion and "
     "kind), got a list"},
    {"document a scalar", "just some text\n", "got a scalar"},
    {"kind a map", "apiVersion: v1\nkind: {a: b}\n",
     "kind: expected a string, got a map"},
    {"items not a list", "apiVersion: v1\nkind: List\nitems: {a: b}\n",
     "items: expected a list, got a map"},
    {"List in a List",
     "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n",
     "items[0]: kind: a List inside a List"},
    {"endpoint condition not a bool",
     "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: "
     "s}\naddressType: IPv4\nendpoints:\n- addresses: [10.0.0.1]\n  "
     "conditions: {ready: sometimes}\n",
     "(EndpointSlice default/s): endpoints[0].conditions.ready: "
     "\"sometimes\" is not a boolean"},
    {"endpoint addresses a string",
     "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: "
     "s}\nendpoints:\n- addresses: 10.0.0.1\n",
     "endpoints[0].addresses: expected a list, got a scalar"},
    {"node addresses a map",
     "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus:\n  "
     "addresses:\n    type: InternalIP\n",
     "(Node n): status.addresses: expected a list, got a map"},
};

INSTANTIATE_TEST_SUITE_P(Table, BadManifestTest, ::testing::ValuesIn(kBadCases),
                         [](const ::testing::TestParamInfo<BadCase>& info) {
                           std::string name;
                           for (const char* p = info.param.description; *p;
                                ++p) {
                             name +=
                                 std::isalnum(static_cast<unsigned char>(*p))
                                     ? *p
                                     : '_';
                           }
                           return name;
                         });

// ---- Round trips and output --------------------------------------------

class RoundTripTest : public ::testing::TestWithParam<const char*> {};

TEST_P(RoundTripTest, YamlAndJsonReadBackEqual) {
  absl::StatusOr<ManifestSet> set = ParseManifests(GetParam(), "in.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_FALSE(set->objects.empty());
  for (const v1::Object& object : set->objects) {
    std::string yaml = ObjectToYaml(object);
    SCOPED_TRACE(yaml);
    ExpectEqual(object, ParseOne(yaml));
    std::string json = ObjectToJson(object);
    SCOPED_TRACE(json);
    ExpectEqual(object, ParseOne(json));
  }
  // And as a List, the way `yardctl get -o yaml` prints several.
  absl::StatusOr<ManifestSet> list =
      ParseManifests(ObjectsToYaml(set->objects, "7"), "list.yaml");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->objects.size(), set->objects.size());
  for (size_t i = 0; i < set->objects.size(); ++i) {
    ExpectEqual(set->objects[i], list->objects[i]);
  }
  list = ParseManifests(ObjectsToJson(set->objects), "list.json");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->objects.size(), set->objects.size());
}

INSTANTIATE_TEST_SUITE_P(Realistic, RoundTripTest,
                         ::testing::Values(kMultiPortService, kNodePortService,
                                           kLoadBalancerService, kEndpointSlice,
                                           kNode, kJsonList));

TEST(RoundTrip, AwkwardStringsSurvive) {
  v1::Object object = FromText(R"pb(
    service {
      metadata {
        name: "web"
        labels { key: "version" value: "1.10" }
        labels { key: "enabled" value: "true" }
        labels { key: "legacy" value: "yes" }
        labels { key: "octal" value: "0777" }
        labels { key: "sexagesimal" value: "1:20" }
        labels { key: "empty" value: "" }
        annotations { key: "null-word" value: "null" }
        annotations { key: "note" value: "a: b # not a comment" }
        annotations { key: "json" value: "{\"a\": [1, 2]}\n" }
        annotations { key: "dash" value: "- item" }
        annotations { key: "quote" value: "say \"hi\"\t\\ now" }
        annotations { key: "utf8" value: "caf\xc3\xa9" }
        annotations { key: "control" value: "bell\x07" }
      }
      spec {
        ports {
          port: 80
          target_port { name: "8080" }
        }
        ports {
          port: 81
          target_port { number: 0 }
        }
        cluster_ip: "None"
        external_ips: "fd00::1"
        external_ips: "::1"
        session_affinity_config {}
      }
    })pb");
  ExpectEqual(object, ParseOne(ObjectToYaml(object)));
  ExpectEqual(object, ParseOne(ObjectToJson(object)));
}

TEST(ObjectToYaml, LooksLikeKubectl) {
  v1::Object object = ParseOne(kNodePortService);
  EXPECT_EQ(ObjectToYaml(object), R"(apiVersion: v1
kind: Service
metadata:
  annotations:
    description: "NodePort for the shop: port 80, node port 30007"
  labels:
    app: shop
    tier: frontend
  name: my-nodeport
  namespace: shop
spec:
  externalTrafficPolicy: Local
  healthCheckNodePort: 32000
  ports:
  - nodePort: 30007
    port: 80
    targetPort: http-web
  selector:
    app.kubernetes.io/name: MyApp
  sessionAffinity: ClientIP
  sessionAffinityConfig:
    clientIP:
      timeoutSeconds: 600
  type: NodePort
)");
}

TEST(ObjectToYaml, EndpointSlice) {
  v1::Object object = FromText(R"pb(
    endpoint_slice {
      metadata {
        name: "web-abc"
        labels { key: "kubernetes.io/service-name" value: "web" }
      }
      address_type: "IPv4"
      endpoints {
        addresses: "10.1.0.5"
        conditions { ready: true }
        node_name: "n1"
        target_ref { key: "kind" value: "Pod" }
        target_ref { key: "name" value: "web-1" }
      }
      ports { name: "http" port: 8080 }
    })pb");
  EXPECT_EQ(ObjectToYaml(object), R"(addressType: IPv4
apiVersion: discovery.k8s.io/v1
endpoints:
- addresses:
  - 10.1.0.5
  conditions:
    ready: true
  nodeName: n1
  targetRef:
    kind: Pod
    name: web-1
kind: EndpointSlice
metadata:
  labels:
    kubernetes.io/service-name: web
  name: web-abc
ports:
- name: http
  port: 8080
)");
}

TEST(ObjectToJson, LooksLikeKubectl) {
  v1::Object object = FromText(R"pb(
    service {
      metadata { name: "web" namespace: "default" }
      spec {
        ports {
          name: "http"
          protocol: "TCP"
          port: 80
          target_port { number: 8080 }
        }
        selector { key: "app" value: "web" }
        cluster_ip: "10.96.0.20"
        type: "ClusterIP"
      }
    })pb");
  EXPECT_EQ(ObjectToJson(object), R"({
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {
        "name": "web",
        "namespace": "default"
    },
    "spec": {
        "ports": [
            {
                "name": "http",
                "protocol": "TCP",
                "port": 80,
                "targetPort": 8080
            }
        ],
        "selector": {
            "app": "web"
        },
        "clusterIP": "10.96.0.20",
        "type": "ClusterIP"
    }
}
)");
}

TEST(ObjectsToYaml, ListOfNodes) {
  v1::Object a = FromText(R"pb(node {
                                 metadata { name: "a" }
                                 pod_cidr: "10.244.0.0/24"
                               })pb");
  v1::Object b = FromText(R"pb(node { metadata { name: "b" } })pb");
  EXPECT_EQ(ObjectsToYaml({a, b}, "12"), R"(apiVersion: v1
items:
- apiVersion: v1
  kind: Node
  metadata:
    name: a
  spec:
    podCIDR: 10.244.0.0/24
- apiVersion: v1
  kind: Node
  metadata:
    name: b
kind: List
metadata:
  resourceVersion: "12"
)");
  EXPECT_EQ(ObjectsToJson({}), R"({
    "apiVersion": "v1",
    "items": [],
    "kind": "List"
}
)");
}

// ---- Files and directories ----------------------------------------------

class LoadManifestPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/yard_manifest_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string dir_;
};

TEST_F(LoadManifestPathTest, DirectoryInNameOrderSkippingOtherFiles) {
  Write("20-svc.yml", "apiVersion: v1\nkind: Service\nmetadata: {name: b}\n");
  Write("10-svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n");
  Write("30-node.json",
        R"({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "c"}})");
  Write("README.md", "not: [a manifest");
  Write(".hidden.yaml", "not: [a manifest");
  std::filesystem::create_directory(dir_ + "/sub");
  Write("sub/40-svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: d}\n");
  absl::StatusOr<ManifestSet> set = LoadManifestPath(dir_);
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->objects.size(), 3u);
  EXPECT_EQ(MetaOf(set->objects[0]).name(), "a");
  EXPECT_EQ(MetaOf(set->objects[1]).name(), "b");
  EXPECT_EQ(MetaOf(set->objects[2]).name(), "c");
}

TEST_F(LoadManifestPathTest, ErrorsNameTheFile) {
  Write("10-good.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n");
  Write("20-bad.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {ports: "
        "[{port: http}]}\n");
  absl::StatusOr<ManifestSet> set = LoadManifestPath(dir_);
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find(dir_ + "/20-bad.yaml: document 1 "
                                               "(Service default/b)"),
            std::string::npos)
      << set.status();
}

TEST_F(LoadManifestPathTest, SingleFileAndMissingPath) {
  Write("web.yaml", kMultiPortService);
  absl::StatusOr<ManifestSet> set = LoadManifestPath(dir_ + "/web.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->objects.size(), 1u);

  absl::StatusOr<ManifestSet> missing = LoadManifestPath(dir_ + "/nope.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            dir_ + "/nope.yaml: No such file or directory");
}

TEST_F(LoadManifestPathTest, EmptyDirectoryWarns) {
  absl::StatusOr<ManifestSet> set = LoadManifestPath(dir_);
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->objects.empty());
  ASSERT_EQ(set->warnings.size(), 1u);
}

TEST(Object, RefsAndDescriptions) {
  v1::Object svc = FromText(R"pb(service { metadata { name: "web" } })pb");
  v1::ObjectRef ref = RefOf(svc);
  EXPECT_EQ(ref.kind(), v1::KIND_SERVICE);
  EXPECT_EQ(ref.namespace_(), "default");
  EXPECT_EQ(Describe(svc), "Service default/web");
  v1::Object node = FromText(R"pb(node { metadata { name: "n1" } })pb");
  EXPECT_EQ(RefOf(node).namespace_(), "");
  EXPECT_EQ(Describe(node), "Node n1");
}

// Found by tests/fuzz (manifest_fuzz): a stray word in a flow mapping
// made yaml-cpp's LoadAll loop for ever, allocating; the stream is now
// split into documents before parsing, and this answers at once.
TEST(ParseManifests, MalformedFlowMappingIsRefusedNotHung) {
  std::ifstream in(YARD_MANIFEST_HANG_INPUT);
  std::stringstream text;
  text << in.rdbuf();
  ASSERT_FALSE(text.str().empty()) << YARD_MANIFEST_HANG_INPUT;
  absl::StatusOr<ManifestSet> set = ParseManifests(text.str(), "hang.json");
  EXPECT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find("hang.json: document 1: line"),
            std::string::npos)
      << set.status();
}

// Four lines: what follows it is document 2, from line 5.
constexpr char kNodeDocumentFirst[] =
    "apiVersion: v1\nkind: Node\nmetadata: {name: a}\n---\n";

TEST(ParseManifests, LinesCountFromTheStreamNotTheDocument) {
  absl::StatusOr<ManifestSet> set = ParseManifests(
      absl::StrCat(kNodeDocumentFirst,
                   "apiVersion: v1\nkind: Service\nmetadata: {name: b}\n"
                   "spec:\n  ports:\n  - port: http\n"),
      "two.yaml");
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find("document 2"), std::string::npos)
      << set.status();
  EXPECT_NE(set.status().message().find("(line 10, column 11)"),
            std::string::npos)
      << set.status();
}

// The document's offset is added to the error's own position only, never to
// numbers a user's text happens to spell like one (it once rewrote them,
// and overflowed on "(line 2147483647").
TEST(ParseManifests, UserTextThatSpellsALineIsLeftAlone) {
  absl::StatusOr<ManifestSet> set = ParseManifests(
      absl::StrCat(kNodeDocumentFirst,
                   "apiVersion: v1\nkind: Service\nmetadata:\n  name: b\n"
                   "  labels:\n    \"(line 2147483647\": {a: b}\n"),
      "two.yaml");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(std::string(set.status().message()),
            "two.yaml: document 2 (Service): "
            "metadata.labels[\"(line 2147483647\"]: expected a string, got a "
            "map (line 10, column 25)");
}

// Strict mode's unknown-field error names the stream's line as the warning
// does.
TEST(ParseManifests, StrictUnknownFieldNamesTheStreamsLine) {
  const std::string text =
      absl::StrCat(kNodeDocumentFirst,
                   "apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec:\n"
                   "  portz: []\n");
  absl::StatusOr<ManifestSet> warned = ParseManifests(text, "two.yaml");
  ASSERT_TRUE(warned.ok()) << warned.status();
  ASSERT_EQ(warned->warnings.size(), 1u);
  EXPECT_NE(warned->warnings[0].find("(line 9, column 3)"), std::string::npos)
      << warned->warnings[0];
  absl::StatusOr<ManifestSet> strict = ParseManifests(
      text, "two.yaml", {.unknown_fields = UnknownFields::kStrict});
  ASSERT_FALSE(strict.ok());
  EXPECT_NE(strict.status().message().find("(line 9, column 3)"),
            std::string::npos)
      << strict.status();
}

}  // namespace
}  // namespace switchyard::manifest
