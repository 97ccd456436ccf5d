// SPDX-License-Identifier: Apache-2.0
#include "control/kube/kube_objects.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "control/common/ipv4.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace switchyard::kube {
namespace {

constexpr char kLastApplied[] =
    "kubectl.kubernetes.io/last-applied-configuration";
constexpr char kNamespaceDefault[] = "default";

bool IsIpv4(absl::string_view text) { return ParseIpv4(text).ok(); }

// IPv6 addresses and CIDRs have a ':'; anything else is kept and left to
// the controller's validation to judge.
bool IsIpv6(absl::string_view text) {
  return text.find(':') != absl::string_view::npos;
}

template <typename Strings>
void CopyIpv4Only(const Strings& from,
                  google::protobuf::RepeatedPtrField<std::string>* to) {
  for (const std::string& text : from) {
    if (!IsIpv6(text)) *to->Add() = text;
  }
}

v1::ObjectMeta ConvertMeta(const kubejson::ObjectMeta& from) {
  v1::ObjectMeta meta;
  meta.set_name(from.name());
  meta.set_namespace_(from.namespace_());
  meta.mutable_labels()->insert(from.labels().begin(), from.labels().end());
  for (const auto& [key, value] : from.annotations()) {
    if (key != kLastApplied) (*meta.mutable_annotations())[key] = value;
  }
  return meta;
}

Converted Start(v1::Kind kind, const kubejson::ObjectMeta& meta) {
  Converted out;
  out.ref.set_kind(kind);
  out.ref.set_name(meta.name());
  if (kind != v1::KIND_NODE) {
    out.ref.set_namespace_(meta.namespace_().empty() ? kNamespaceDefault
                                                     : meta.namespace_());
  }
  out.resource_version = meta.resource_version();
  return out;
}

// Whose Service this is, by the service-proxy-name label; "" when ours.
std::string NotOursBecause(const kubejson::ObjectMeta& meta,
                           const ServingRules& rules) {
  auto label = meta.labels().find(kServiceProxyNameLabel);
  if (label == meta.labels().end()) {
    if (rules.service_proxy_name.empty()) return "";
    return absl::StrCat("not labelled ", kServiceProxyNameLabel, "=",
                        rules.service_proxy_name);
  }
  if (label->second == rules.service_proxy_name) return "";
  return absl::StrCat("labelled for proxy \"", label->second, "\"");
}

// A JSON number is a double; casting one outside int32 (8e30) is undefined
// behaviour, and a fraction (80.5) is no port either. Such a targetPort
// becomes -1, which validation refuses, and a warning names what was sent.
int32_t TargetPortNumber(double number, size_t index,
                         std::vector<std::string>* warnings) {
  if (number >= std::numeric_limits<int32_t>::min() &&
      number <= std::numeric_limits<int32_t>::max() &&
      number == std::trunc(number)) {
    return static_cast<int32_t>(number);
  }
  warnings->push_back(absl::StrCat(
      "spec.ports[", index, "].targetPort: ", number, " is not a port number"));
  return -1;
}

v1::ServicePort ConvertPort(const kubejson::ServicePort& from, size_t index,
                            std::vector<std::string>* warnings) {
  v1::ServicePort port;
  port.set_name(from.name());
  port.set_protocol(from.protocol());
  port.set_port(from.port());
  port.set_node_port(from.node_port());
  port.set_app_protocol(from.app_protocol());
  const google::protobuf::Value& target = from.target_port();
  if (target.kind_case() == google::protobuf::Value::kNumberValue) {
    port.mutable_target_port()->set_number(
        TargetPortNumber(target.number_value(), index, warnings));
  } else if (target.kind_case() == google::protobuf::Value::kStringValue) {
    port.mutable_target_port()->set_name(target.string_value());
  }
  return port;
}

void ConvertServiceSpec(const kubejson::ServiceSpec& from,
                        v1::ServiceSpec* spec,
                        std::vector<std::string>* warnings) {
  spec->set_type(from.type());
  CopyIpv4Only(from.cluster_ips(), spec->mutable_cluster_ips());
  if (from.cluster_ip() == "None" || from.cluster_ip().empty() ||
      !IsIpv6(from.cluster_ip())) {
    spec->set_cluster_ip(from.cluster_ip());
  } else if (spec->cluster_ips_size() > 0) {
    spec->set_cluster_ip(spec->cluster_ips(0));  // IPv6-primary dual stack
  }
  for (int i = 0; i < from.ports_size(); ++i) {
    *spec->add_ports() = ConvertPort(from.ports(i), i, warnings);
  }
  spec->mutable_selector()->insert(from.selector().begin(),
                                   from.selector().end());
  CopyIpv4Only(from.external_ips(), spec->mutable_external_ips());
  spec->set_session_affinity(from.session_affinity());
  if (from.session_affinity_config().has_client_ip()) {
    spec->mutable_session_affinity_config()->set_client_ip_timeout_seconds(
        from.session_affinity_config().client_ip().timeout_seconds());
  }
  spec->set_external_traffic_policy(from.external_traffic_policy());
  spec->set_internal_traffic_policy(from.internal_traffic_policy());
  spec->set_traffic_distribution(from.traffic_distribution());
  spec->set_load_balancer_class(from.load_balancer_class());
  CopyIpv4Only(from.load_balancer_source_ranges(),
               spec->mutable_load_balancer_source_ranges());
  if (!IsIpv6(from.load_balancer_ip())) {
    spec->set_load_balancer_ip(from.load_balancer_ip());
  }
  spec->set_publish_not_ready_addresses(from.publish_not_ready_addresses());
  spec->set_health_check_node_port(from.health_check_node_port());
  spec->set_external_name(from.external_name());
  // Only the IPv4 half is served, so the object says single stack.
  for (const std::string& family : from.ip_families()) {
    if (family == "IPv4") spec->add_ip_families(family);
  }
  if (!from.ip_family_policy().empty()) {
    spec->set_ip_family_policy("SingleStack");
  }
}

}  // namespace

Converted Convert(const kubejson::Service& service, const ServingRules& rules) {
  Converted out = Start(v1::KIND_SERVICE, service.metadata());
  if (std::string why = NotOursBecause(service.metadata(), rules);
      !why.empty()) {
    out.skipped = std::move(why);
    return out;
  }
  const kubejson::ServiceSpec& spec = service.spec();
  bool has_ipv4 = !IsIpv6(spec.cluster_ip());
  for (const std::string& ip : spec.cluster_ips()) has_ipv4 |= IsIpv4(ip);
  if (spec.type() != "ExternalName" && spec.cluster_ip() != "None" &&
      !has_ipv4) {
    out.skipped = "IPv6-only services are not served yet";
    return out;
  }
  bool has_ipv6 = IsIpv6(spec.cluster_ip());
  for (const std::string& ip : spec.cluster_ips()) has_ipv6 |= IsIpv6(ip);
  if (has_ipv6 && spec.type() != "ExternalName") {
    out.warnings.push_back(
        "spec.clusterIPs: the IPv6 half of this dual-stack Service is not "
        "served (IPv6 is not implemented yet)");
  }
  v1::Service* converted = out.object.emplace().mutable_service();
  *converted->mutable_metadata() = ConvertMeta(service.metadata());
  ConvertServiceSpec(spec, converted->mutable_spec(), &out.warnings);
  for (const kubejson::LoadBalancerIngress& ingress :
       service.status().load_balancer().ingress()) {
    if (IsIpv6(ingress.ip())) continue;
    v1::LoadBalancerIngress* to =
        converted->mutable_status()->add_load_balancer_ingress();
    to->set_ip(ingress.ip());
    to->set_hostname(ingress.hostname());
  }
  return out;
}

Converted Convert(const kubejson::EndpointSlice& slice,
                  const ServingRules& rules) {
  Converted out = Start(v1::KIND_ENDPOINT_SLICE, slice.metadata());
  if (slice.address_type() != "IPv4") {
    out.skipped = absl::StrCat("addressType ", slice.address_type(),
                               " (only IPv4 is served)");
    return out;
  }
  if (slice.metadata().labels().contains(kHeadlessLabel)) {
    out.skipped = "its Service is headless";
    return out;
  }
  if (std::string why = NotOursBecause(slice.metadata(), rules); !why.empty()) {
    out.skipped = std::move(why);
    return out;
  }
  v1::EndpointSlice* converted = out.object.emplace().mutable_endpoint_slice();
  *converted->mutable_metadata() = ConvertMeta(slice.metadata());
  converted->set_address_type(slice.address_type());
  for (const kubejson::Endpoint& from : slice.endpoints()) {
    v1::Endpoint* endpoint = converted->add_endpoints();
    endpoint->mutable_addresses()->CopyFrom(from.addresses());
    const kubejson::EndpointConditions& c = from.conditions();
    v1::EndpointConditions* conditions = endpoint->mutable_conditions();
    if (c.has_ready()) conditions->set_ready(c.ready());
    if (c.has_serving()) conditions->set_serving(c.serving());
    if (c.has_terminating()) conditions->set_terminating(c.terminating());
    endpoint->set_hostname(from.hostname());
    endpoint->set_node_name(from.node_name());
    endpoint->set_zone(from.zone());
    for (const kubejson::ForZone& zone : from.hints().for_zones()) {
      endpoint->mutable_hints()->add_for_zones()->set_name(zone.name());
    }
    if (from.has_target_ref()) {
      auto& ref = *endpoint->mutable_target_ref();
      if (!from.target_ref().kind().empty()) {
        ref["kind"] = from.target_ref().kind();
      }
      if (!from.target_ref().namespace_().empty()) {
        ref["namespace"] = from.target_ref().namespace_();
      }
      if (!from.target_ref().name().empty()) {
        ref["name"] = from.target_ref().name();
      }
    }
  }
  for (const kubejson::EndpointPort& from : slice.ports()) {
    v1::EndpointPort* port = converted->add_ports();
    port->set_name(from.name());
    port->set_protocol(from.protocol());
    port->set_port(from.port());
    port->set_app_protocol(from.app_protocol());
  }
  return out;
}

Converted Convert(const kubejson::Node& node, const ServingRules&) {
  Converted out = Start(v1::KIND_NODE, node.metadata());
  v1::Node* converted = out.object.emplace().mutable_node();
  *converted->mutable_metadata() = ConvertMeta(node.metadata());
  converted->mutable_metadata()->clear_namespace_();
  CopyIpv4Only(node.spec().pod_cidrs(), converted->mutable_pod_cidrs());
  if (!IsIpv6(node.spec().pod_cidr())) {
    converted->set_pod_cidr(node.spec().pod_cidr());
  } else if (converted->pod_cidrs_size() > 0) {
    converted->set_pod_cidr(converted->pod_cidrs(0));
  }
  for (const kubejson::NodeAddress& from : node.status().addresses()) {
    if (IsIpv6(from.address())) continue;
    v1::NodeAddress* address = converted->add_addresses();
    address->set_type(from.type());
    address->set_address(from.address());
  }
  return out;
}

}  // namespace switchyard::kube
