// SPDX-License-Identifier: Apache-2.0
// v1::Object -> Kubernetes YAML/JSON. Fields go in the order Kubernetes
// declares them (JSON shows that order; the YAML writer sorts, as kubectl
// does), and empty ones are left out, as Kubernetes' `omitempty` does.
#include <algorithm>
#include <string>
#include <vector>

#include "control/format/json.h"
#include "control/format/value.h"
#include "control/format/yaml.h"
#include "control/manifest/manifest.h"
#include "control/manifest/object.h"
#include "control/names/kind_names.h"

namespace switchyard::manifest {
namespace {

using format::Value;

Value Str(const std::string& s) { return Value::String(s); }

Value StrList(const google::protobuf::RepeatedPtrField<std::string>& list) {
  Value v = Value::List();
  for (const std::string& s : list) v.Append(Value::String(s));
  return v;
}

// Protobuf maps iterate in no particular order; Go's encoder sorts keys.
Value StrMap(const google::protobuf::Map<std::string, std::string>& map) {
  std::vector<std::pair<std::string, std::string>> entries(map.begin(),
                                                           map.end());
  std::sort(entries.begin(), entries.end());
  Value v = Value::Map();
  for (auto& [key, value] : entries) v.Set(key, Value::String(value));
  return v;
}

void SetIntIfNotZero(Value* map, std::string key, int64_t i) {
  if (i != 0) map->Set(std::move(key), Value::Int(i));
}

Value Meta(const v1::ObjectMeta& meta) {
  Value v = Value::Map();
  v.SetIfNotEmpty("name", Str(meta.name()));
  v.SetIfNotEmpty("namespace", Str(meta.namespace_()));
  v.SetIfNotEmpty("labels", StrMap(meta.labels()));
  v.SetIfNotEmpty("annotations", StrMap(meta.annotations()));
  return v;
}

Value Header(v1::Kind kind, const v1::ObjectMeta& meta) {
  Value v = Value::Map();
  v.Set("apiVersion", Value::String(std::string(ApiVersionOf(kind))));
  v.Set("kind", Value::String(std::string(names::KindName(kind))));
  v.SetIfNotEmpty("metadata", Meta(meta));
  return v;
}

Value ServicePortValue(const v1::ServicePort& port) {
  Value v = Value::Map();
  v.SetIfNotEmpty("name", Str(port.name()));
  v.SetIfNotEmpty("protocol", Str(port.protocol()));
  v.SetIfNotEmpty("appProtocol", Str(port.app_protocol()));
  SetIntIfNotZero(&v, "port", port.port());
  switch (port.target_port().value_case()) {
    case v1::IntOrString::kNumber:
      v.Set("targetPort", Value::Int(port.target_port().number()));
      break;
    case v1::IntOrString::kName:
      v.Set("targetPort", Str(port.target_port().name()));
      break;
    case v1::IntOrString::VALUE_NOT_SET:
      break;
  }
  SetIntIfNotZero(&v, "nodePort", port.node_port());
  return v;
}

Value ServiceValue(const v1::Service& service) {
  Value v = Header(v1::KIND_SERVICE, service.metadata());
  const v1::ServiceSpec& spec = service.spec();
  Value s = Value::Map();
  Value ports = Value::List();
  for (const v1::ServicePort& port : spec.ports()) {
    ports.Append(ServicePortValue(port));
  }
  s.SetIfNotEmpty("ports", std::move(ports));
  s.SetIfNotEmpty("selector", StrMap(spec.selector()));
  s.SetIfNotEmpty("clusterIP", Str(spec.cluster_ip()));
  s.SetIfNotEmpty("clusterIPs", StrList(spec.cluster_ips()));
  s.SetIfNotEmpty("type", Str(spec.type()));
  s.SetIfNotEmpty("externalIPs", StrList(spec.external_ips()));
  s.SetIfNotEmpty("sessionAffinity", Str(spec.session_affinity()));
  s.SetIfNotEmpty("loadBalancerIP", Str(spec.load_balancer_ip()));
  s.SetIfNotEmpty("loadBalancerSourceRanges",
                  StrList(spec.load_balancer_source_ranges()));
  s.SetIfNotEmpty("externalName", Str(spec.external_name()));
  s.SetIfNotEmpty("externalTrafficPolicy", Str(spec.external_traffic_policy()));
  SetIntIfNotZero(&s, "healthCheckNodePort", spec.health_check_node_port());
  if (spec.publish_not_ready_addresses()) {
    s.Set("publishNotReadyAddresses", Value::Bool(true));
  }
  // Written whenever the message is present, so a manifest's explicit
  // block (and an explicit timeout, even 0) survives a round trip.
  if (spec.has_session_affinity_config()) {
    Value client_ip = Value::Map();
    if (spec.session_affinity_config().has_client_ip_timeout_seconds()) {
      client_ip.Set(
          "timeoutSeconds",
          Value::Int(
              spec.session_affinity_config().client_ip_timeout_seconds()));
    }
    Value config = Value::Map();
    config.Set("clientIP", std::move(client_ip));
    s.Set("sessionAffinityConfig", std::move(config));
  }
  s.SetIfNotEmpty("ipFamilies", StrList(spec.ip_families()));
  s.SetIfNotEmpty("ipFamilyPolicy", Str(spec.ip_family_policy()));
  if (spec.allocate_load_balancer_node_ports()) {
    s.Set("allocateLoadBalancerNodePorts", Value::Bool(true));
  }
  s.SetIfNotEmpty("internalTrafficPolicy", Str(spec.internal_traffic_policy()));
  s.SetIfNotEmpty("trafficDistribution", Str(spec.traffic_distribution()));
  s.SetIfNotEmpty("loadBalancerClass", Str(spec.load_balancer_class()));
  v.SetIfNotEmpty("spec", std::move(s));

  Value ingress = Value::List();
  for (const v1::LoadBalancerIngress& in :
       service.status().load_balancer_ingress()) {
    Value i = Value::Map();
    i.SetIfNotEmpty("ip", Str(in.ip()));
    i.SetIfNotEmpty("hostname", Str(in.hostname()));
    ingress.Append(std::move(i));
  }
  if (!ingress.IsEmpty()) {
    Value lb = Value::Map();
    lb.Set("ingress", std::move(ingress));
    Value status = Value::Map();
    status.Set("loadBalancer", std::move(lb));
    v.Set("status", std::move(status));
  }
  return v;
}

// ObjectReference's declaration order; keys it does not declare follow,
// sorted, so nothing a newer controller stores is dropped on output.
Value TargetRef(const google::protobuf::Map<std::string, std::string>& ref) {
  static const char* const kOrder[] = {
      "kind",       "namespace",       "name",     "uid",
      "apiVersion", "resourceVersion", "fieldPath"};
  Value v = Value::Map();
  for (const char* key : kOrder) {
    if (auto it = ref.find(key); it != ref.end()) v.Set(key, Str(it->second));
  }
  std::vector<std::string> rest;
  for (const auto& entry : ref) {
    // A named reference, not a structured binding: clang before 16 (the
    // fuzz build's compiler) cannot capture bindings in a lambda.
    const std::string& key = entry.first;
    if (std::find_if(std::begin(kOrder), std::end(kOrder), [&](const char* k) {
          return key == k;
        }) == std::end(kOrder)) {
      rest.push_back(key);
    }
  }
  std::sort(rest.begin(), rest.end());
  for (const std::string& key : rest) v.Set(key, Str(ref.at(key)));
  return v;
}

Value EndpointSliceValue(const v1::EndpointSlice& slice) {
  Value v = Header(v1::KIND_ENDPOINT_SLICE, slice.metadata());
  v.SetIfNotEmpty("addressType", Str(slice.address_type()));
  Value endpoints = Value::List();
  for (const v1::Endpoint& endpoint : slice.endpoints()) {
    Value e = Value::Map();
    e.SetIfNotEmpty("addresses", StrList(endpoint.addresses()));
    // Unset is "unknown", which differs from false: write only what is set.
    const v1::EndpointConditions& c = endpoint.conditions();
    Value conditions = Value::Map();
    if (c.has_ready()) conditions.Set("ready", Value::Bool(c.ready()));
    if (c.has_serving()) conditions.Set("serving", Value::Bool(c.serving()));
    if (c.has_terminating()) {
      conditions.Set("terminating", Value::Bool(c.terminating()));
    }
    e.SetIfNotEmpty("conditions", std::move(conditions));
    e.SetIfNotEmpty("hostname", Str(endpoint.hostname()));
    e.SetIfNotEmpty("targetRef", TargetRef(endpoint.target_ref()));
    e.SetIfNotEmpty("nodeName", Str(endpoint.node_name()));
    e.SetIfNotEmpty("zone", Str(endpoint.zone()));
    Value for_zones = Value::List();
    for (const v1::ForZone& zone : endpoint.hints().for_zones()) {
      Value z = Value::Map();
      z.SetIfNotEmpty("name", Str(zone.name()));
      for_zones.Append(std::move(z));
    }
    Value hints = Value::Map();
    hints.SetIfNotEmpty("forZones", std::move(for_zones));
    e.SetIfNotEmpty("hints", std::move(hints));
    endpoints.Append(std::move(e));
  }
  v.SetIfNotEmpty("endpoints", std::move(endpoints));
  Value ports = Value::List();
  for (const v1::EndpointPort& port : slice.ports()) {
    Value p = Value::Map();
    p.SetIfNotEmpty("name", Str(port.name()));
    p.SetIfNotEmpty("protocol", Str(port.protocol()));
    SetIntIfNotZero(&p, "port", port.port());
    p.SetIfNotEmpty("appProtocol", Str(port.app_protocol()));
    ports.Append(std::move(p));
  }
  v.SetIfNotEmpty("ports", std::move(ports));
  return v;
}

Value NodeValue(const v1::Node& node) {
  Value v = Header(v1::KIND_NODE, node.metadata());
  Value spec = Value::Map();
  spec.SetIfNotEmpty("podCIDR", Str(node.pod_cidr()));
  spec.SetIfNotEmpty("podCIDRs", StrList(node.pod_cidrs()));
  v.SetIfNotEmpty("spec", std::move(spec));
  Value addresses = Value::List();
  for (const v1::NodeAddress& address : node.addresses()) {
    Value a = Value::Map();
    a.SetIfNotEmpty("type", Str(address.type()));
    a.SetIfNotEmpty("address", Str(address.address()));
    addresses.Append(std::move(a));
  }
  if (!addresses.IsEmpty()) {
    Value status = Value::Map();
    status.Set("addresses", std::move(addresses));
    v.Set("status", std::move(status));
  }
  return v;
}

Value ObjectValue(const v1::Object& object) {
  switch (object.kind_case()) {
    case v1::Object::kService:
      return ServiceValue(object.service());
    case v1::Object::kEndpointSlice:
      return EndpointSliceValue(object.endpoint_slice());
    case v1::Object::kNode:
      return NodeValue(object.node());
    case v1::Object::KIND_NOT_SET:
      break;
  }
  return Value::Map();
}

Value ListValue(absl::Span<const v1::Object> objects,
                absl::string_view resource_version) {
  Value v = Value::Map();
  v.Set("apiVersion", Value::String("v1"));
  Value items = Value::List();
  for (const v1::Object& object : objects) items.Append(ObjectValue(object));
  // Always present, even empty: a List without items reads as a mistake.
  v.Set("items", std::move(items));
  v.Set("kind", Value::String("List"));
  if (!resource_version.empty()) {
    Value meta = Value::Map();
    meta.Set("resourceVersion", Value::String(std::string(resource_version)));
    v.Set("metadata", std::move(meta));
  }
  return v;
}

}  // namespace

std::string ObjectToYaml(const v1::Object& object) {
  return format::WriteYaml(ObjectValue(object));
}

std::string ObjectToJson(const v1::Object& object) {
  return format::WriteJson(ObjectValue(object));
}

std::string ObjectsToYaml(absl::Span<const v1::Object> objects,
                          absl::string_view resource_version) {
  return format::WriteYaml(ListValue(objects, resource_version));
}

std::string ObjectsToJson(absl::Span<const v1::Object> objects,
                          absl::string_view resource_version) {
  return format::WriteJson(ListValue(objects, resource_version));
}

}  // namespace switchyard::manifest
