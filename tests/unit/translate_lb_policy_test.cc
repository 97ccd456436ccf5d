// SPDX-License-Identifier: Apache-2.0
// Endpoint selection through translation: the annotations and the node's
// defaults reach each frontend's policy and each set's Maglev inputs, and
// a bad annotation (possible on a mirrored Service) is reported and served
// with the defaults.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <map>
#include <string>

#include "control/common/ipv4.h"
#include "control/translate/translate.h"
#include "gtest/gtest.h"
#include "yard_abi.h"

namespace switchyard::translate {
namespace {

class TranslateLbPolicyTest : public ::testing::Test {
 protected:
  // default/web, ClusterIP 10.96.0.10:80, endpoints .2 and .3 on :8080.
  void Put(const std::map<std::string, std::string>& annotations) {
    v1::Service s;
    s.mutable_metadata()->set_name("web");
    s.mutable_metadata()->set_namespace_("default");
    for (const auto& [k, v] : annotations) {
      (*s.mutable_metadata()->mutable_annotations())[k] = v;
    }
    s.mutable_spec()->set_type("ClusterIP");
    s.mutable_spec()->set_cluster_ip("10.96.0.10");
    v1::ServicePort* p = s.mutable_spec()->add_ports();
    p->set_name("http");
    p->set_port(80);
    p->set_protocol("TCP");
    p->mutable_target_port()->set_number(8080);
    *snapshot_.add_upserts()->mutable_service() = s;
    v1::EndpointSlice e;
    e.mutable_metadata()->set_name("web-1");
    e.mutable_metadata()->set_namespace_("default");
    (*e.mutable_metadata()->mutable_labels())[kServiceNameLabel] = "web";
    e.set_address_type("IPv4");
    v1::EndpointPort* ep = e.add_ports();
    ep->set_name("http");
    ep->set_port(8080);
    ep->set_protocol("TCP");
    for (const char* ip : {"10.244.1.3", "10.244.1.2"}) {
      v1::Endpoint* endpoint = e.add_endpoints();
      endpoint->add_addresses(ip);
      endpoint->set_node_name("node-a");
    }
    *snapshot_.add_upserts()->mutable_endpoint_slice() = e;
  }
  void Run(NodeContext node = {"node-a", {}}) {
    ClusterState state;
    snapshot_.set_snapshot(true);
    snapshot_.set_version(1);
    ASSERT_TRUE(state.Apply(snapshot_).ok());
    DesiredStateCache cache;
    cache.Rebuild(state, node);
    desired_ = cache.desired();
    skipped_ = cache.skipped();
  }
  const Frontend& Port() {
    return desired_.frontends.at(
        {*ParseIpv4("10.96.0.10"), htons(80), IPPROTO_TCP});
  }
  const BackendSet& Set() { return desired_.sets.at(Port().set); }

  v1::WatchResponse snapshot_;
  DesiredState desired_;
  std::vector<std::string> skipped_;
};

TEST_F(TranslateLbPolicyTest, NoAnnotationTakesTheNodesDefault) {
  Put({});
  Run();
  EXPECT_EQ(Port().policy, YARD_POLICY_RANDOM);
  EXPECT_EQ(Set().maglev_table_size, 0u);

  NodeContext maglev_node{"node-a", {}};
  maglev_node.default_policy = YARD_POLICY_MAGLEV;
  maglev_node.maglev_table_size = 251;
  Run(maglev_node);
  EXPECT_EQ(Port().policy, YARD_POLICY_MAGLEV);
  EXPECT_EQ(Set().maglev_table_size, 251u);
  EXPECT_TRUE(Set().weights.empty());
}

TEST_F(TranslateLbPolicyTest, AnnotationChoosesThePolicy) {
  Put({{"switchyard.io/lb-policy", "least-conn"}});
  Run();
  EXPECT_EQ(Port().policy, YARD_POLICY_LEAST_CONN);
  EXPECT_EQ(Set().maglev_table_size, 0u);
}

TEST_F(TranslateLbPolicyTest, MaglevSetCarriesSizeAndWeights) {
  Put({{"switchyard.io/lb-policy", "maglev"},
       {"switchyard.io/maglev-table-size", "1021"},
       {"switchyard.io/endpoint-weights", "10.244.1.3=5"}});
  Run();
  EXPECT_EQ(Port().policy, YARD_POLICY_MAGLEV);
  EXPECT_EQ(Set().maglev_table_size, 1021u);
  // Parallel to the sorted endpoints: .2 (unlisted: 1), .3 (5).
  EXPECT_EQ(Set().weights, (std::vector<uint32_t>{1, 5}));
  EXPECT_TRUE(skipped_.empty());
}

TEST_F(TranslateLbPolicyTest, BadAnnotationIsReportedAndServedByDefault) {
  Put({{"switchyard.io/lb-policy", "fastest"}});
  Run();
  EXPECT_EQ(Port().policy, YARD_POLICY_RANDOM);
  ASSERT_EQ(skipped_.size(), 1u);
  EXPECT_EQ(skipped_[0],
            "default/web: metadata.annotations[switchyard.io/lb-policy]: "
            "unknown policy \"fastest\"; one of random, least-conn, maglev; "
            "served with the node's default (random)");
}

}  // namespace
}  // namespace switchyard::translate
