// SPDX-License-Identifier: Apache-2.0
// The checks of one object that need no other object, and the defaults
// Kubernetes' API server fills in. The store runs these on every object of
// a write before it looks at what is already stored; the checks that need
// the stored state (taken addresses and ports, immutable fields, the
// Service an EndpointSlice names) live in the store.
//
// Field paths in messages are Kubernetes' JSON paths (spec.clusterIP,
// spec.ports[1].nodePort), because people write Kubernetes manifests, not
// these protos.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_VALIDATION_H_
#define SWITCHYARD_CONTROL_CONTROLLER_VALIDATION_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "control/common/ipv4.h"
#include "switchyard/v1/cluster.pb.h"

namespace switchyard::controller {

// Kubernetes' spellings, used by the store as well.
inline constexpr char kServiceNameLabel[] = "kubernetes.io/service-name";
inline constexpr char kTypeClusterIP[] = "ClusterIP";
inline constexpr char kTypeNodePort[] = "NodePort";
inline constexpr char kTypeLoadBalancer[] = "LoadBalancer";
inline constexpr char kTypeExternalName[] = "ExternalName";
inline constexpr char kClusterIPNone[] = "None";
inline constexpr char kPolicyLocal[] = "Local";
inline constexpr int kDefaultAffinityTimeoutSeconds = 10800;
inline constexpr int kMaxAffinityTimeoutSeconds = 86400;  // one day

// The service CIDR and node-port range every Service is checked against.
struct ServiceRules {
  Ipv4Cidr service_cidr;
  std::string service_cidr_text;
  int node_port_min = 30000;
  int node_port_max = 32767;
};

// Lowercase letters, digits and '-', starting and ending alphanumeric, at
// most 63 characters (RFC 1123 label).
bool IsDns1123Label(absl::string_view text);
// Dot-separated DNS-1123 labels, at most 253 characters.
bool IsDns1123Subdomain(absl::string_view text);
// A named port (IANA service name): at most 15 lowercase letters, digits
// and '-', at least one letter, no leading, trailing or doubled '-'.
bool IsIanaServiceName(absl::string_view text);

// "Service default/web: <field>: <problem>" as InvalidArgument.
absl::Status FieldError(const v1::ObjectRef& ref, absl::string_view field,
                        absl::string_view problem);

// Each validates `object` in place and fills Kubernetes' defaults: the
// namespace ("default"), protocols (TCP), Service type (ClusterIP),
// targetPort (= port), sessionAffinity (None; timeout 10800 for ClientIP),
// traffic policies (Cluster), ipFamilies (IPv4). Allocation (clusterIP,
// nodePorts) is the store's job and is left alone.
absl::Status NormalizeService(const ServiceRules& rules, v1::Service& service);
absl::Status NormalizeEndpointSlice(v1::EndpointSlice& slice);
absl::Status NormalizeNode(v1::Node& node);
// Whichever of the three `object` holds; InvalidArgument when none.
absl::Status NormalizeObject(const ServiceRules& rules, v1::Object& object);

// The size of one write as a whole: kMaxObjectsPerApply objects and
// kMaxApplyBytes encoded (apply_limits.h). The gRPC edge checks it before
// the store sees the write.
absl::Status CheckWriteLimits(absl::Span<const v1::Object> objects);
absl::Status CheckWriteLimits(
    const google::protobuf::RepeatedPtrField<v1::Object>& objects);

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_VALIDATION_H_
