// SPDX-License-Identifier: Apache-2.0
// The one spelling of protocols, datapath reasons and Kubernetes kinds.
// These words are metric label values and JSON values people script
// against, so the tests pin them.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "control/names/kind_names.h"
#include "control/names/protocol_names.h"
#include "control/names/reason_names.h"

namespace switchyard::names {
namespace {

TEST(ProtoName, KubernetesSpellingOrTheNumber) {
  EXPECT_EQ(ProtoName(IPPROTO_TCP), "TCP");
  EXPECT_EQ(ProtoName(IPPROTO_UDP), "UDP");
  EXPECT_EQ(ProtoName(IPPROTO_ICMP), "ICMP");
  EXPECT_EQ(ProtoName(0), "0");  // a wildcard frontend's
  EXPECT_EQ(ProtoName(132), "132");
}

TEST(ReasonNames, EveryReasonNamedAndFoundByName) {
  for (uint32_t r = 0; r < YARD_REASON_MAX; ++r) {
    const ReasonInfo& info = DescribeReason(r);
    EXPECT_FALSE(info.name.empty()) << r;
    EXPECT_FALSE(info.action.empty()) << r;
    EXPECT_FALSE(info.meaning.empty()) << r;
    EXPECT_EQ(ReasonByName(info.name), static_cast<yard_reason>(r));
  }
  EXPECT_EQ(DescribeReason(YARD_REASON_REJECT_NO_ENDPOINT).name,
            "reject_no_endpoint");
  EXPECT_EQ(DescribeReason(YARD_REASON_REJECT_NO_ENDPOINT).action, "reject");
  EXPECT_EQ(DescribeReason(YARD_REASON_MAX).name, "unknown");
  EXPECT_FALSE(ReasonByName("unknown").has_value());
}

TEST(KindNames, NamesAndBack) {
  for (v1::Kind kind :
       {v1::KIND_SERVICE, v1::KIND_ENDPOINT_SLICE, v1::KIND_NODE}) {
    EXPECT_EQ(KindByName(KindName(kind)), kind) << KindName(kind);
  }
  EXPECT_EQ(KindName(v1::KIND_ENDPOINT_SLICE), "EndpointSlice");
  EXPECT_EQ(KindName(v1::KIND_UNSPECIFIED), "Object");
  EXPECT_FALSE(KindByName("Object").has_value());
  EXPECT_FALSE(KindByName("service").has_value());  // kinds are exact
  EXPECT_FALSE(KindByName("Deployment").has_value());
}

}  // namespace
}  // namespace switchyard::names
