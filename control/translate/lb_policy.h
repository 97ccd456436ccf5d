// SPDX-License-Identifier: Apache-2.0
// How a Service asks for its endpoint selection: the switchyard.io
// annotations, parsed in this one place. The controller refuses a bad
// value when a Service is applied; translation (which also sees Services
// mirrored from Kubernetes, where nothing can be refused) reports it and
// serves the Service with the node's defaults.
#ifndef SWITCHYARD_CONTROL_TRANSLATE_LB_POLICY_H_
#define SWITCHYARD_CONTROL_TRANSLATE_LB_POLICY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::translate {

// random | least-conn | maglev (enum yard_policy in yard_abi.h).
inline constexpr char kLbPolicyAnnotation[] = "switchyard.io/lb-policy";
// A prime: the Maglev lookup table's size for this Service.
inline constexpr char kMaglevTableSizeAnnotation[] =
    "switchyard.io/maglev-table-size";
// "10.244.1.5=3,10.244.2.7=1": Maglev weights by endpoint address (all
// its ports); endpoints not listed weigh 1. Kubernetes has no weights.
inline constexpr char kEndpointWeightsAnnotation[] =
    "switchyard.io/endpoint-weights";

// Bounds of a Maglev table's size. Below a few hundred entries the shares
// of a handful of endpoints are visibly uneven; above a million a table
// costs 4 MiB of kernel memory per backend set.
inline constexpr uint32_t kMinMaglevTableSize = 7;
inline constexpr uint32_t kMaxMaglevTableSize = 1048573;
inline constexpr uint32_t kMaxEndpointWeight = 1000;

// The raw values of the annotations above, "" when absent: what the agent
// keeps of a Service's annotations.
struct LbAnnotationTexts {
  std::string policy;
  std::string maglev_table_size;
  std::string endpoint_weights;
  bool operator==(const LbAnnotationTexts&) const = default;
};

// The annotations picked out of a Service's (any map of string to string).
template <typename AnnotationMap>
LbAnnotationTexts LbAnnotationTextsOf(const AnnotationMap& annotations) {
  LbAnnotationTexts out;
  auto get = [&](const char* key, std::string& to) {
    auto it = annotations.find(std::string(key));
    if (it != annotations.end()) to = it->second;
  };
  get(kLbPolicyAnnotation, out.policy);
  get(kMaglevTableSizeAnnotation, out.maglev_table_size);
  get(kEndpointWeightsAnnotation, out.endpoint_weights);
  return out;
}

struct LbOptions {
  std::optional<uint8_t> policy;         // enum yard_policy; unset: node's
  uint32_t maglev_table_size = 0;        // 0: the node's
  std::map<uint32_t, uint32_t> weights;  // by address, network order
};

// InvalidArgument "metadata.annotations[<key>]: <problem>" on the first
// bad value.
absl::StatusOr<LbOptions> ParseLbAnnotations(const LbAnnotationTexts& texts);

// "random", "least-conn", "maglev"; nullopt for anything else.
std::optional<uint8_t> ParseLbPolicy(absl::string_view name);
std::string LbPolicyName(uint8_t policy);

bool IsPrime(uint32_t n);

}  // namespace switchyard::translate

#endif  // SWITCHYARD_CONTROL_TRANSLATE_LB_POLICY_H_
