// SPDX-License-Identifier: Apache-2.0
#include "control/translate/lb_policy.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "control/common/ipv4.h"
#include "yard_abi.h"

namespace switchyard::translate {
namespace {

constexpr std::pair<const char*, uint8_t> kPolicies[] = {
    {"random", YARD_POLICY_RANDOM},
    {"least-conn", YARD_POLICY_LEAST_CONN},
    {"maglev", YARD_POLICY_MAGLEV},
};

absl::Status Invalid(const char* annotation, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("metadata.annotations[", annotation, "]: ", problem));
}

absl::StatusOr<std::map<uint32_t, uint32_t>> ParseWeights(
    absl::string_view text) {
  std::map<uint32_t, uint32_t> out;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    item = absl::StripAsciiWhitespace(item);
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(item, absl::MaxSplits('=', 1));
    absl::StatusOr<uint32_t> addr =
        ParseIpv4(std::string(absl::StripAsciiWhitespace(kv.first)));
    uint32_t weight = 0;
    if (!addr.ok() ||
        !absl::SimpleAtoi(absl::StripAsciiWhitespace(kv.second), &weight) ||
        weight < 1 || weight > kMaxEndpointWeight) {
      return Invalid(kEndpointWeightsAnnotation,
                     absl::StrCat("\"", item,
                                  "\" is not ADDRESS=WEIGHT (an IPv4 "
                                  "address, a weight from 1 to ",
                                  kMaxEndpointWeight, ")"));
    }
    if (!out.emplace(*addr, weight).second) {
      return Invalid(kEndpointWeightsAnnotation,
                     absl::StrCat(kv.first, " is listed twice"));
    }
  }
  return out;
}

}  // namespace

bool IsPrime(uint32_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

std::optional<uint8_t> ParseLbPolicy(absl::string_view name) {
  for (const auto& [spelling, policy] : kPolicies) {
    if (name == spelling) return policy;
  }
  return std::nullopt;
}

std::string LbPolicyName(uint8_t policy) {
  for (const auto& [spelling, value] : kPolicies) {
    if (value == policy) return spelling;
  }
  return absl::StrCat("policy ", policy);
}

absl::StatusOr<LbOptions> ParseLbAnnotations(const LbAnnotationTexts& texts) {
  LbOptions out;
  if (!texts.policy.empty()) {
    out.policy = ParseLbPolicy(texts.policy);
    if (!out.policy) {
      return Invalid(kLbPolicyAnnotation,
                     absl::StrCat("unknown policy \"", texts.policy,
                                  "\"; one of random, least-conn, maglev"));
    }
  }
  if (!texts.maglev_table_size.empty()) {
    uint32_t size = 0;
    if (!absl::SimpleAtoi(texts.maglev_table_size, &size) || !IsPrime(size) ||
        size < kMinMaglevTableSize || size > kMaxMaglevTableSize) {
      return Invalid(
          kMaglevTableSizeAnnotation,
          absl::StrCat("\"", texts.maglev_table_size, "\" is not a prime from ",
                       kMinMaglevTableSize, " to ", kMaxMaglevTableSize,
                       " (e.g. 16381)"));
    }
    out.maglev_table_size = size;
  }
  if (!texts.endpoint_weights.empty()) {
    absl::StatusOr<std::map<uint32_t, uint32_t>> weights =
        ParseWeights(texts.endpoint_weights);
    if (!weights.ok()) return weights.status();
    out.weights = *std::move(weights);
  }
  return out;
}

}  // namespace switchyard::translate
