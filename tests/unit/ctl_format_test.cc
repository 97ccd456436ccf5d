// SPDX-License-Identifier: Apache-2.0
// yardctl's output, from known objects: kubectl's columns, placeholders
// and alignment, resource names, -o formats. No server involved.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "control/ctl/format.h"

namespace switchyard::ctl {
namespace {

v1::Object FromText(absl::string_view text) {
  v1::Object object;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(std::string(text),
                                                            &object));
  return object;
}

v1::Service Svc(absl::string_view text) { return FromText(text).service(); }

TEST(ServicePorts, KubectlStyle) {
  EXPECT_EQ(ServicePorts(Svc(R"pb(service {
                                    spec {
                                      ports { port: 80 protocol: "TCP" }
                                      ports { port: 443 node_port: 30443 }
                                      ports { port: 53 protocol: "UDP" }
                                    }
                                  })pb")),
            "80/TCP,443:30443/TCP,53/UDP");
  EXPECT_EQ(ServicePorts(Svc("service {}")), "<none>");
}

struct ExternalIpCase {
  const char* description;
  const char* service;
  const char* want;
};

TEST(ServiceExternalIp, FollowsKubectlPerType) {
  const ExternalIpCase cases[] = {
      {"ClusterIP, none", "service { spec { type: 'ClusterIP' } }", "<none>"},
      {"default type with externalIPs",
       "service { spec { external_ips: ['1.2.3.4', '1.2.3.5'] } }",
       "1.2.3.4,1.2.3.5"},
      {"NodePort, none", "service { spec { type: 'NodePort' } }", "<none>"},
      {"LoadBalancer waiting", "service { spec { type: 'LoadBalancer' } }",
       "<pending>"},
      {"LoadBalancer with ingress and externalIPs",
       "service { spec { type: 'LoadBalancer' external_ips: '9.9.9.9' } "
       "status { load_balancer_ingress { ip: '192.0.2.10' } "
       "load_balancer_ingress { hostname: 'lb.example.com' } } }",
       "192.0.2.10,lb.example.com,9.9.9.9"},
      {"ExternalName",
       "service { spec { type: 'ExternalName' external_name: "
       "'db.example.com' } }",
       "db.example.com"},
      {"unknown type", "service { spec { type: 'Weird' } }", "<unknown>"},
  };
  for (const ExternalIpCase& c : cases) {
    EXPECT_EQ(ServiceExternalIp(Svc(c.service)), c.want) << c.description;
  }
}

TEST(EndpointSliceEndpoints, AtMostThreeThenMore) {
  v1::EndpointSlice slice =
      FromText(R"pb(
        endpoint_slice {
          endpoints { addresses: "10.0.0.1" }
          endpoints { addresses: "10.0.0.2" }
          endpoints { addresses: [ "10.0.0.3", "10.0.0.4" ] }
          endpoints { addresses: "10.0.0.5" }
        })pb")
          .endpoint_slice();
  EXPECT_EQ(EndpointSliceEndpoints(slice),
            "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...");
  EXPECT_EQ(EndpointSliceEndpoints(v1::EndpointSlice()), "<unset>");
  EXPECT_EQ(EndpointSlicePorts(v1::EndpointSlice()), "<unset>");
}

TEST(FormatColumns, PadsLikeTabwriter) {
  // Each column but the last: widest cell + 3, at least 6.
  EXPECT_EQ(FormatColumns({{"NAME", "TYPE", "PORT(S)"},
                           {"kubernetes", "ClusterIP", "443/TCP"}}),
            "NAME         TYPE        PORT(S)\n"
            "kubernetes   ClusterIP   443/TCP\n");
  EXPECT_EQ(FormatColumns({{"A", "B", "C"}, {"x", "yy", "z"}}),
            "A     B     C\n"
            "x     yy    z\n");
}

std::vector<v1::Object> Services() {
  return {
      FromText(R"pb(service {
                      metadata { name: "kubernetes" namespace: "default" }
                      spec {
                        cluster_ip: "10.96.0.1"
                        ports { name: "https" protocol: "TCP" port: 443 }
                      }
                    })pb"),
      FromText(R"pb(service {
                      metadata { name: "web" namespace: "shop" }
                      spec {
                        type: "LoadBalancer"
                        cluster_ip: "10.96.12.7"
                        selector { key: "app" value: "web" }
                        selector { key: "tier" value: "front" }
                        ports { port: 80 node_port: 30080 protocol: "TCP" }
                        ports { port: 443 node_port: 30443 protocol: "TCP" }
                      }
                      status { load_balancer_ingress { ip: "192.0.2.50" } }
                    })pb"),
      FromText(R"pb(service {
                      metadata { name: "db" namespace: "shop" }
                      spec {
                        cluster_ip: "None"
                        ports { port: 5432 }
                      }
                    })pb"),
  };
}

TEST(FormatObjects, ServiceTable) {
  EXPECT_EQ(FormatObjects(v1::KIND_SERVICE, Services(), {}),
            "NAME         TYPE           CLUSTER-IP   EXTERNAL-IP   "
            "PORT(S)\n"
            "kubernetes   ClusterIP      10.96.0.1    <none>        443/TCP\n"
            "web          LoadBalancer   10.96.12.7   192.0.2.50    "
            "80:30080/TCP,443:30443/TCP\n"
            "db           ClusterIP      None         <none>        "
            "5432/TCP\n");
}

TEST(FormatObjects, ServiceTableAllNamespacesWide) {
  PrintOptions options{.format = OutputFormat::kWide, .all_namespaces = true};
  EXPECT_EQ(FormatObjects(v1::KIND_SERVICE, Services(), options),
            "NAMESPACE   NAME         TYPE           CLUSTER-IP   EXTERNAL-IP  "
            " PORT(S)                      SELECTOR\n"
            "default     kubernetes   ClusterIP      10.96.0.1    <none>       "
            " 443/TCP                      <none>\n"
            "shop        web          LoadBalancer   10.96.12.7   192.0.2.50   "
            " 80:30080/TCP,443:30443/TCP   app=web,tier=front\n"
            "shop        db           ClusterIP      None         <none>       "
            " 5432/TCP                     <none>\n");
}

TEST(FormatObjects, EndpointSliceTable) {
  std::vector<v1::Object> slices = {FromText(R"pb(
    endpoint_slice {
      metadata { name: "web-x7k2p" namespace: "shop" }
      address_type: "IPv4"
      ports { port: 8080 }
      ports { port: 8443 }
      endpoints { addresses: "10.244.1.5" }
      endpoints { addresses: "10.244.2.9" }
    })pb")};
  EXPECT_EQ(FormatObjects(v1::KIND_ENDPOINT_SLICE, slices, {}),
            "NAME        ADDRESSTYPE   PORTS       ENDPOINTS\n"
            "web-x7k2p   IPv4          8080,8443   10.244.1.5,10.244.2.9\n");
}

TEST(FormatObjects, NodeTableHasNoNamespaceColumn) {
  std::vector<v1::Object> nodes = {
      FromText(R"pb(node {
                      metadata { name: "worker-1" }
                      pod_cidrs: [ "10.244.1.0/24", "fd00:10:244:1::/64" ]
                      addresses { type: "Hostname" address: "worker-1" }
                      addresses { type: "InternalIP" address: "172.18.0.3" }
                    })pb"),
      FromText(R"pb(node {
                      metadata { name: "worker-2" }
                      pod_cidr: "10.244.2.0/24"
                    })pb")};
  PrintOptions options{.all_namespaces = true};
  EXPECT_EQ(FormatObjects(v1::KIND_NODE, nodes, options),
            "NAME       INTERNAL-IP   POD-CIDRS\n"
            "worker-1   172.18.0.3    10.244.1.0/24,fd00:10:244:1::/64\n"
            "worker-2   <none>        10.244.2.0/24\n");
}

TEST(FormatObjects, JsonYamlAndName) {
  std::vector<v1::Object> one = {Services()[2]};
  EXPECT_EQ(FormatObjects(v1::KIND_SERVICE, one,
                          {.format = OutputFormat::kYaml, .single = true}),
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\n  "
            "namespace: shop\nspec:\n  clusterIP: None\n  ports:\n  - port: "
            "5432\n");
  std::string list =
      FormatObjects(v1::KIND_SERVICE, one,
                    {.format = OutputFormat::kJson, .resource_version = "42"});
  EXPECT_EQ(list.rfind("{\n    \"apiVersion\": \"v1\",\n    \"items\": [", 0),
            0u)
      << list;
  EXPECT_NE(list.find("\"kind\": \"List\",\n    \"metadata\": {\n        "
                      "\"resourceVersion\": \"42\""),
            std::string::npos)
      << list;
  EXPECT_EQ(FormatObjects(v1::KIND_SERVICE, Services(),
                          {.format = OutputFormat::kName}),
            "service/kubernetes\nservice/web\nservice/db\n");
  EXPECT_EQ(FormatObjects(v1::KIND_SERVICE, {}, {}), "");
}

TEST(ResourceTypes, KubectlSpellings) {
  for (const char* name : {"services", "service", "svc"}) {
    EXPECT_EQ(*ParseResourceType(name), v1::KIND_SERVICE) << name;
  }
  for (const char* name : {"endpointslices", "endpointslice", "eps",
                           "endpointslices.discovery.k8s.io"}) {
    EXPECT_EQ(*ParseResourceType(name), v1::KIND_ENDPOINT_SLICE) << name;
  }
  for (const char* name : {"nodes", "node", "no"}) {
    EXPECT_EQ(*ParseResourceType(name), v1::KIND_NODE) << name;
  }
  EXPECT_FALSE(ParseResourceType("pods").ok());
  EXPECT_EQ(ObjectName(FromText(R"pb(endpoint_slice {
                                       metadata { name: "web-abc" }
                                     })pb")),
            "endpointslice.discovery.k8s.io/web-abc");
  EXPECT_EQ(ObjectName(FromText(R"pb(node { metadata { name: "n1" } })pb")),
            "node/n1");
}

TEST(OutputFormats, Parse) {
  EXPECT_EQ(*ParseOutputFormat(""), OutputFormat::kTable);
  EXPECT_EQ(*ParseOutputFormat("wide"), OutputFormat::kWide);
  EXPECT_EQ(*ParseOutputFormat("json"), OutputFormat::kJson);
  EXPECT_EQ(*ParseOutputFormat("yaml"), OutputFormat::kYaml);
  EXPECT_EQ(*ParseOutputFormat("name"), OutputFormat::kName);
  EXPECT_FALSE(ParseOutputFormat("xml").ok());
}

}  // namespace
}  // namespace switchyard::ctl
