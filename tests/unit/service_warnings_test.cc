// SPDX-License-Identifier: Apache-2.0
// What a valid Service asks for that Switchyard does not do is said, once
// per part, in words that name the field; what it does do says nothing.
#include "control/controller/service_warnings.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace switchyard::controller {
namespace {

v1::Service Web() {
  v1::Service s;
  s.mutable_metadata()->set_name("web");
  s.mutable_metadata()->set_namespace_("shop");
  s.mutable_spec()->set_type("ClusterIP");
  v1::ServicePort* p = s.mutable_spec()->add_ports();
  p->set_port(80);
  p->set_protocol("TCP");
  return s;
}

TEST(ServiceWarningsTest, WhatIsServedSaysNothing) {
  v1::Service s = Web();
  s.mutable_spec()->set_session_affinity("ClientIP");
  s.mutable_spec()->set_traffic_distribution("PreferClose");
  s.mutable_spec()->set_internal_traffic_policy("Local");
  s.mutable_spec()->set_ip_family_policy("SingleStack");
  EXPECT_TRUE(ServiceWarnings(s).empty());
}

TEST(ServiceWarningsTest, SctpPortsAreNamed) {
  v1::Service s = Web();
  v1::ServicePort* p = s.mutable_spec()->add_ports();
  p->set_port(3868);
  p->set_protocol("SCTP");
  EXPECT_EQ(ServiceWarnings(s),
            std::vector<std::string>{
                "Service shop/web: spec.ports[1].protocol: SCTP is not served "
                "yet; port 3868 is not reachable"});
}

TEST(ServiceWarningsTest, TrafficDistributionOtherThanPreferClose) {
  v1::Service s = Web();
  s.mutable_spec()->set_traffic_distribution("PreferSameNode");
  std::vector<std::string> w = ServiceWarnings(s);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].rfind("Service shop/web: spec.trafficDistribution: "
                       "PreferSameNode is not implemented",
                       0),
            0u)
      << w[0];
}

TEST(ServiceWarningsTest, PreferDualStackIsServedSingleStack) {
  v1::Service s = Web();
  s.mutable_spec()->set_ip_family_policy("PreferDualStack");
  std::vector<std::string> w = ServiceWarnings(s);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("spec.ipFamilyPolicy"), std::string::npos) << w[0];
}

TEST(ServiceWarningsTest, OnlyServicesAmongObjects) {
  v1::Service s = Web();
  s.mutable_spec()->set_traffic_distribution("PreferSameZone");
  std::vector<v1::Object> objects(3);
  *objects[0].mutable_service() = Web();
  objects[1].mutable_node()->mutable_metadata()->set_name("node-1");
  *objects[2].mutable_service() = s;
  EXPECT_EQ(ServiceWarnings(objects).size(), 1u);
}

}  // namespace
}  // namespace switchyard::controller
