// SPDX-License-Identifier: Apache-2.0
// The switchyard.io selection annotations (control/translate/lb_policy.h):
// one parser for the controller's refusal and the agent's fallback.
#include "control/translate/lb_policy.h"

#include <arpa/inet.h>

#include <map>
#include <string>

#include "gtest/gtest.h"
#include "yard_abi.h"

namespace switchyard::translate {
namespace {

TEST(LbPolicyTest, ParsesEveryPolicy) {
  EXPECT_EQ(ParseLbPolicy("random"), YARD_POLICY_RANDOM);
  EXPECT_EQ(ParseLbPolicy("least-conn"), YARD_POLICY_LEAST_CONN);
  EXPECT_EQ(ParseLbPolicy("maglev"), YARD_POLICY_MAGLEV);
  EXPECT_EQ(ParseLbPolicy("Maglev"), std::nullopt);
  EXPECT_EQ(LbPolicyName(YARD_POLICY_MAGLEV), "maglev");
  EXPECT_EQ(LbPolicyName(YARD_POLICY_LEAST_CONN), "least-conn");
}

TEST(LbPolicyTest, NoAnnotationsLeaveEverythingToTheNode) {
  absl::StatusOr<LbOptions> got = ParseLbAnnotations({});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->policy.has_value());
  EXPECT_EQ(got->maglev_table_size, 0u);
  EXPECT_TRUE(got->weights.empty());
}

TEST(LbPolicyTest, PicksItsAnnotationsOutOfAService) {
  std::map<std::string, std::string> annotations = {
      {"switchyard.io/lb-policy", "maglev"},
      {"switchyard.io/maglev-table-size", "251"},
      {"switchyard.io/endpoint-weights", "10.244.1.5=3, 10.244.2.7=1"},
      {"other.io/x", "y"}};
  absl::StatusOr<LbOptions> got =
      ParseLbAnnotations(LbAnnotationTextsOf(annotations));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->policy, YARD_POLICY_MAGLEV);
  EXPECT_EQ(got->maglev_table_size, 251u);
  std::map<uint32_t, uint32_t> want = {{htonl(0x0af40105), 3},
                                       {htonl(0x0af40207), 1}};
  EXPECT_EQ(got->weights, want);
}

TEST(LbPolicyTest, UnknownPolicyNamesTheFieldAndTheChoices) {
  LbAnnotationTexts texts;
  texts.policy = "x";
  absl::StatusOr<LbOptions> got = ParseLbAnnotations(texts);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(),
            "metadata.annotations[switchyard.io/lb-policy]: unknown policy "
            "\"x\"; one of random, least-conn, maglev");
}

TEST(LbPolicyTest, TableSizeMustBeAPrimeInRange) {
  for (const char* bad : {"16384", "5", "abc", "-7", "2147483647"}) {
    LbAnnotationTexts texts;
    texts.maglev_table_size = bad;
    absl::StatusOr<LbOptions> got = ParseLbAnnotations(texts);
    ASSERT_FALSE(got.ok()) << bad;
    EXPECT_NE(got.status().message().find(
                  "metadata.annotations[switchyard.io/maglev-table-size]"),
              std::string::npos);
  }
  EXPECT_TRUE(IsPrime(16381));
  EXPECT_TRUE(IsPrime(65537));
  EXPECT_FALSE(IsPrime(16383));
}

TEST(LbPolicyTest, BadWeightsAreRefused) {
  for (const char* bad : {"10.244.1.5", "10.244.1.5=0", "10.244.1.5=1001",
                          "host=3", "10.244.1.5=1,10.244.1.5=2"}) {
    LbAnnotationTexts texts;
    texts.endpoint_weights = bad;
    absl::StatusOr<LbOptions> got = ParseLbAnnotations(texts);
    ASSERT_FALSE(got.ok()) << bad;
    EXPECT_NE(got.status().message().find(
                  "metadata.annotations[switchyard.io/endpoint-weights]"),
              std::string::npos)
        << got.status();
  }
}

}  // namespace
}  // namespace switchyard::translate
