// SPDX-License-Identifier: Apache-2.0
#include "control/translate/cluster_state.h"

#include "absl/strings/str_cat.h"
#include "control/common/ipv4.h"

namespace switchyard::translate {

std::string NamespacedName(const v1::ObjectMeta& meta) {
  return absl::StrCat(meta.namespace_().empty() ? "default" : meta.namespace_(),
                      "/", meta.name());
}

std::string ServiceKeyOf(const v1::EndpointSlice& slice) {
  auto label = slice.metadata().labels().find(kServiceNameLabel);
  if (label == slice.metadata().labels().end()) return "";
  v1::ObjectMeta owner;
  owner.set_namespace_(slice.metadata().namespace_());
  owner.set_name(label->second);
  return NamespacedName(owner);
}

std::vector<const Slice*> ClusterState::SlicesOf(
    const std::string& service_key) const {
  std::vector<const Slice*> out;
  for (auto it = slices_by_service_.lower_bound({service_key, ""});
       it != slices_by_service_.end() && it->first == service_key; ++it) {
    const Slice& slice = slices_.at(it->second);
    if (slice.ipv4) out.push_back(&slice);
  }
  return out;
}

ServiceSpec ClusterState::Compact(const v1::Service& in) {
  const v1::ServiceSpec& spec = in.spec();
  ServiceSpec out;
  out.type = spec.type().empty() ? "ClusterIP" : spec.type();
  out.headless = spec.cluster_ip() == "None";
  out.cluster_ips.assign(spec.cluster_ips().begin(), spec.cluster_ips().end());
  if (out.cluster_ips.empty() && !spec.cluster_ip().empty() && !out.headless) {
    out.cluster_ips.push_back(spec.cluster_ip());
  }
  out.external_ips.assign(spec.external_ips().begin(),
                          spec.external_ips().end());
  for (const v1::LoadBalancerIngress& ingress :
       in.status().load_balancer_ingress()) {
    if (!ingress.ip().empty()) out.load_balancer_ips.push_back(ingress.ip());
  }
  out.session_affinity = spec.session_affinity();
  out.external_traffic_policy = spec.external_traffic_policy();
  out.load_balancer_source_ranges.assign(
      spec.load_balancer_source_ranges().begin(),
      spec.load_balancer_source_ranges().end());
  out.health_check_node_port = spec.health_check_node_port();
  out.internal_traffic_policy = spec.internal_traffic_policy();
  out.aff_timeout_s =
      spec.session_affinity_config().client_ip_timeout_seconds();
  out.traffic_distribution = spec.traffic_distribution();
  out.publish_not_ready_addresses = spec.publish_not_ready_addresses();
  out.lb = LbAnnotationTextsOf(in.metadata().annotations());
  for (const v1::ServicePort& p : spec.ports()) {
    ServicePortSpec port;
    port.name = p.name();
    port.protocol = p.protocol().empty() ? "TCP" : p.protocol();
    port.port = p.port();
    if (p.target_port().value_case() == v1::IntOrString::kNumber) {
      port.target_number = p.target_port().number();
    } else if (p.target_port().value_case() == v1::IntOrString::kName) {
      port.target_name = p.target_port().name();
    }
    port.node_port = p.node_port();
    out.ports.push_back(std::move(port));
  }
  return out;
}

uint32_t ClusterState::NodeIndex(const std::string& name) {
  auto [it, inserted] =
      node_index_.emplace(name, static_cast<uint32_t>(node_names_.size()));
  if (inserted) node_names_.push_back(name);
  return it->second;
}

uint32_t ClusterState::ZoneIndex(const std::string& name) {
  auto [it, inserted] =
      zone_index_.emplace(name, static_cast<uint32_t>(zone_names_.size()));
  if (inserted) zone_names_.push_back(name);
  return it->second;
}

uint32_t ClusterState::FindZone(const std::string& name) const {
  auto it = zone_index_.find(name);
  return it == zone_index_.end() ? kNoZone : it->second;
}

std::string ClusterState::NodeZone(const std::string& node_name) const {
  auto node = nodes_.find(node_name);
  if (node == nodes_.end()) return "";
  auto label = node->second.metadata().labels().find(kZoneLabel);
  return label == node->second.metadata().labels().end() ? "" : label->second;
}

Slice ClusterState::Compact(const v1::EndpointSlice& in) {
  Slice out;
  out.service_key = ServiceKeyOf(in);
  out.ipv4 = in.address_type() == "IPv4";
  for (const v1::EndpointPort& p : in.ports()) {
    out.ports.push_back(
        {p.name(), p.protocol().empty() ? "TCP" : p.protocol(), p.port()});
  }
  // Sized once: grown one push at a time, the array would end up to
  // twice the size, and leave the smaller ones behind as holes.
  size_t addresses = 0;
  for (const v1::Endpoint& ep : in.endpoints()) {
    addresses += ep.addresses_size();
  }
  out.endpoints.reserve(addresses);
  for (const v1::Endpoint& ep : in.endpoints()) {
    const v1::EndpointConditions& c = ep.conditions();
    SliceEndpoint e;
    // Unknown ready/serving read as true, unknown terminating as false
    // (the EndpointSlice API's own guidance).
    e.ready = c.has_ready() ? c.ready() : true;
    e.serving = c.has_serving() ? c.serving() : e.ready;
    e.terminating = c.has_terminating() ? c.terminating() : false;
    e.node = NodeIndex(ep.node_name());
    if (!ep.zone().empty()) e.zone = ZoneIndex(ep.zone());
    // The API allows 8 zones an endpoint; the count's byte holds 255.
    e.hints_begin = static_cast<uint32_t>(out.zone_hints.size());
    for (const v1::ForZone& hint : ep.hints().for_zones()) {
      if (hint.name().empty() || e.hints_count == UINT8_MAX) continue;
      out.zone_hints.push_back(ZoneIndex(hint.name()));
      ++e.hints_count;
    }
    for (const std::string& text : ep.addresses()) {
      absl::StatusOr<uint32_t> addr = ParseIpv4(text);
      if (!addr.ok()) continue;  // not IPv4: no datapath for it yet
      e.addr_be = *addr;
      out.endpoints.push_back(e);
    }
  }
  return out;
}

std::set<std::string> ClusterState::AffectedServices(
    const v1::WatchResponse& update) const {
  std::set<std::string> out;
  auto old_slice_owner = [&](const std::string& slice_key) {
    auto it = slices_.find(slice_key);
    if (it != slices_.end()) out.insert(it->second.service_key);
  };
  for (const v1::ObjectRef& ref : update.deletes()) {
    v1::ObjectMeta meta;
    meta.set_namespace_(ref.namespace_());
    meta.set_name(ref.name());
    if (ref.kind() == v1::KIND_SERVICE) out.insert(NamespacedName(meta));
    if (ref.kind() == v1::KIND_ENDPOINT_SLICE) {
      old_slice_owner(NamespacedName(meta));
    }
  }
  for (const v1::Object& object : update.upserts()) {
    if (object.has_service()) {
      out.insert(NamespacedName(object.service().metadata()));
    } else if (object.has_endpoint_slice()) {
      old_slice_owner(NamespacedName(object.endpoint_slice().metadata()));
      out.insert(ServiceKeyOf(object.endpoint_slice()));
    }
  }
  out.erase("");
  return out;
}

void ClusterState::IndexSlice(const std::string& slice_key, const Slice& slice,
                              bool add) {
  const std::string& service = slice.service_key;
  if (service.empty()) return;
  if (add) {
    slices_by_service_.emplace(service, slice_key);
  } else {
    slices_by_service_.erase({service, slice_key});
  }
}

absl::Status ClusterState::Apply(const v1::WatchResponse& update) {
  if (update.snapshot()) {
    services_.clear();
    slices_.clear();
    slices_by_service_.clear();
    nodes_.clear();
    has_snapshot_ = true;
  } else if (!has_snapshot_) {
    return absl::FailedPreconditionError("a delta arrived before any snapshot");
  } else if (update.version() < version_) {
    return absl::FailedPreconditionError(
        absl::StrCat("delta to version ", update.version(),
                     " is older than the applied version ", version_));
  }
  for (const v1::ObjectRef& ref : update.deletes()) Remove(ref);
  for (const v1::Object& object : update.upserts()) Upsert(object);
  version_ = update.version();
  return absl::OkStatus();
}

void ClusterState::Upsert(const v1::Object& object) {
  switch (object.kind_case()) {
    case v1::Object::kService:
      services_[NamespacedName(object.service().metadata())] =
          Compact(object.service());
      break;
    case v1::Object::kEndpointSlice: {
      std::string key = NamespacedName(object.endpoint_slice().metadata());
      if (auto old = slices_.find(key); old != slices_.end()) {
        IndexSlice(key, old->second, false);
      }
      Slice& slice = slices_[key] = Compact(object.endpoint_slice());
      IndexSlice(key, slice, true);
      break;
    }
    case v1::Object::kNode:
      nodes_[object.node().metadata().name()] = object.node();
      break;
    case v1::Object::KIND_NOT_SET:
      break;
  }
}

void ClusterState::Remove(const v1::ObjectRef& ref) {
  std::string key = absl::StrCat(
      ref.namespace_().empty() ? "default" : ref.namespace_(), "/", ref.name());
  switch (ref.kind()) {
    case v1::KIND_SERVICE:
      services_.erase(key);
      break;
    case v1::KIND_ENDPOINT_SLICE:
      if (auto old = slices_.find(key); old != slices_.end()) {
        IndexSlice(key, old->second, false);
        slices_.erase(old);
      }
      break;
    case v1::KIND_NODE:
      nodes_.erase(ref.name());
      break;
    default:
      break;
  }
}

}  // namespace switchyard::translate
