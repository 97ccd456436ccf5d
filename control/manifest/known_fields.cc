// SPDX-License-Identifier: Apache-2.0
#include "control/manifest/known_fields.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace switchyard::manifest {
namespace {

struct Field;
using Schema = absl::Span<const Field>;

// A field and, when its value is a map (or a list of maps) whose keys are
// checked too, the fields it may hold. No children: a scalar, a free-form
// map, or a subtree nothing here reads.
struct Field {
  absl::string_view name;
  Schema children = {};
};

// From k8s.io/api core/v1 and discovery/v1 (the field names only).
constexpr Field kMeta[] = {
    {"name"},
    {"generateName"},
    {"namespace"},
    {"selfLink"},
    {"uid"},
    {"resourceVersion"},
    {"generation"},
    {"creationTimestamp"},
    {"deletionTimestamp"},
    {"deletionGracePeriodSeconds"},
    {"labels"},
    {"annotations"},
    {"ownerReferences"},
    {"finalizers"},
    {"managedFields"},
};

constexpr Field kServicePort[] = {
    {"name"}, {"protocol"},   {"appProtocol"},
    {"port"}, {"targetPort"}, {"nodePort"},
};
constexpr Field kClientIPConfig[] = {{"timeoutSeconds"}};
constexpr Field kSessionAffinityConfig[] = {{"clientIP", kClientIPConfig}};
constexpr Field kServiceSpec[] = {
    {"ports", kServicePort},
    {"selector"},
    {"clusterIP"},
    {"clusterIPs"},
    {"type"},
    {"externalIPs"},
    {"sessionAffinity"},
    {"loadBalancerIP"},
    {"loadBalancerSourceRanges"},
    {"externalName"},
    {"externalTrafficPolicy"},
    {"healthCheckNodePort"},
    {"publishNotReadyAddresses"},
    {"sessionAffinityConfig", kSessionAffinityConfig},
    {"ipFamilies"},
    {"ipFamilyPolicy"},
    {"allocateLoadBalancerNodePorts"},
    {"loadBalancerClass"},
    {"internalTrafficPolicy"},
    {"trafficDistribution"},
};
constexpr Field kIngress[] = {{"ip"}, {"hostname"}, {"ipMode"}, {"ports"}};
constexpr Field kLoadBalancerStatus[] = {{"ingress", kIngress}};
constexpr Field kServiceStatus[] = {{"loadBalancer", kLoadBalancerStatus},
                                    {"conditions"}};
constexpr Field kService[] = {{"apiVersion"},
                              {"kind"},
                              {"metadata", kMeta},
                              {"spec", kServiceSpec},
                              {"status", kServiceStatus}};

constexpr Field kConditions[] = {{"ready"}, {"serving"}, {"terminating"}};
constexpr Field kTargetRef[] = {
    {"kind"},       {"namespace"},       {"name"},     {"uid"},
    {"apiVersion"}, {"resourceVersion"}, {"fieldPath"}};
constexpr Field kEndpoint[] = {
    {"addresses"},
    {"conditions", kConditions},
    {"hostname"},
    {"targetRef", kTargetRef},
    {"deprecatedTopology"},
    {"nodeName"},
    {"zone"},
    {"hints"},
};
constexpr Field kEndpointPort[] = {
    {"name"}, {"protocol"}, {"port"}, {"appProtocol"}};
constexpr Field kEndpointSlice[] = {
    {"apiVersion"},           {"kind"},
    {"metadata", kMeta},      {"addressType"},
    {"endpoints", kEndpoint}, {"ports", kEndpointPort},
};

constexpr Field kNodeSpec[] = {
    {"podCIDR"}, {"podCIDRs"},     {"providerID"}, {"unschedulable"},
    {"taints"},  {"configSource"}, {"externalID"},
};
constexpr Field kNodeAddress[] = {{"type"}, {"address"}};
constexpr Field kNodeStatus[] = {
    {"capacity"},
    {"allocatable"},
    {"phase"},
    {"conditions"},
    {"addresses", kNodeAddress},
    {"daemonEndpoints"},
    {"nodeInfo"},
    {"images"},
    {"volumesInUse"},
    {"volumesAttached"},
    {"config"},
    {"runtimeHandlers"},
    {"features"},
};
constexpr Field kNode[] = {{"apiVersion"},
                           {"kind"},
                           {"metadata", kMeta},
                           {"spec", kNodeSpec},
                           {"status", kNodeStatus}};

constexpr Field kList[] = {{"apiVersion"}, {"kind"}, {"metadata"}, {"items"}};

const Field* Find(Schema schema, absl::string_view name) {
  for (const Field& field : schema) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

// Type mismatches (a list where a map belongs) are the decoder's to
// report; here only the keys of maps are looked at.
void Walk(const YAML::Node& node, Schema schema, const std::string& path,
          std::vector<UnknownField>* out) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      Walk(node[i], schema, absl::StrCat(path, "[", i, "]"), out);
    }
    return;
  }
  if (!node.IsMap()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string& key = it->first.Scalar();
    std::string child = path.empty() ? key : absl::StrCat(path, ".", key);
    const Field* field = Find(schema, key);
    if (field == nullptr) {
      out->push_back(UnknownField{std::move(child), it->first.Mark()});
    } else if (!field->children.empty()) {
      Walk(it->second, field->children, child, out);
    }
  }
}

}  // namespace

std::vector<UnknownField> FindUnknownFields(v1::Kind kind,
                                            const YAML::Node& doc) {
  std::vector<UnknownField> out;
  switch (kind) {
    case v1::KIND_SERVICE:
      Walk(doc, kService, "", &out);
      break;
    case v1::KIND_ENDPOINT_SLICE:
      Walk(doc, kEndpointSlice, "", &out);
      break;
    case v1::KIND_NODE:
      Walk(doc, kNode, "", &out);
      break;
    default:
      break;
  }
  return out;
}

std::vector<UnknownField> FindUnknownListFields(const YAML::Node& doc) {
  std::vector<UnknownField> out;
  Walk(doc, kList, "", &out);
  return out;
}

}  // namespace switchyard::manifest
