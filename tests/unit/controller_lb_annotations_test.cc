// SPDX-License-Identifier: Apache-2.0
// The selection annotations as yardctl apply meets them: a bad value is
// refused with the Service and the field named; other kinds pass.
#include "control/controller/lb_annotations.h"
#include "gtest/gtest.h"

namespace switchyard::controller {
namespace {

v1::Object Service(const std::string& key, const std::string& value) {
  v1::Object object;
  v1::ObjectMeta& meta = *object.mutable_service()->mutable_metadata();
  meta.set_name("web");
  meta.set_namespace_("default");
  (*meta.mutable_annotations())[key] = value;
  return object;
}

TEST(LbAnnotations, UnknownPolicyRefusedWithTheField) {
  absl::Status s =
      CheckLbAnnotations(Service("switchyard.io/lb-policy", "fastest"));
  ASSERT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(s.message(),
            "Service default/web: "
            "metadata.annotations[switchyard.io/lb-policy]: unknown policy "
            "\"fastest\"; one of random, least-conn, maglev");
}

TEST(LbAnnotations, KnownValuesAndOtherKindsPass) {
  EXPECT_TRUE(
      CheckLbAnnotations(Service("switchyard.io/lb-policy", "maglev")).ok());
  EXPECT_TRUE(
      CheckLbAnnotations(Service("switchyard.io/maglev-table-size", "251"))
          .ok());
  v1::Object node;
  node.mutable_node()->mutable_metadata()->set_name("node-a");
  EXPECT_TRUE(CheckLbAnnotations(node).ok());
}

TEST(LbAnnotations, BadTableSizeRefused) {
  absl::Status s =
      CheckLbAnnotations(Service("switchyard.io/maglev-table-size", "1000"));
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
}

}  // namespace
}  // namespace switchyard::controller
