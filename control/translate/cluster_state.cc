// SPDX-License-Identifier: Apache-2.0
#include "control/translate/cluster_state.h"

#include "absl/strings/str_cat.h"

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

std::vector<const v1::EndpointSlice*> ClusterState::SlicesOf(
    const std::string& service_key) const {
  std::vector<const v1::EndpointSlice*> out;
  auto it = slices_by_service_.find(service_key);
  if (it == slices_by_service_.end()) return out;
  for (const std::string& slice_key : it->second) {
    const v1::EndpointSlice& slice = slices_.at(slice_key);
    if (slice.address_type() == "IPv4") out.push_back(&slice);
  }
  return out;
}

std::set<std::string> ClusterState::AffectedServices(
    const v1::WatchResponse& update) const {
  std::set<std::string> out;
  auto old_slice_owner = [&](const std::string& slice_key) {
    auto it = slices_.find(slice_key);
    if (it != slices_.end()) out.insert(ServiceKeyOf(it->second));
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

void ClusterState::IndexSlice(const std::string& slice_key,
                              const v1::EndpointSlice& slice, bool add) {
  std::string service = ServiceKeyOf(slice);
  if (service.empty()) return;
  if (add) {
    slices_by_service_[service].insert(slice_key);
    return;
  }
  auto it = slices_by_service_.find(service);
  if (it == slices_by_service_.end()) return;
  it->second.erase(slice_key);
  if (it->second.empty()) slices_by_service_.erase(it);
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
      services_[NamespacedName(object.service().metadata())] = object.service();
      break;
    case v1::Object::kEndpointSlice: {
      std::string key = NamespacedName(object.endpoint_slice().metadata());
      if (auto old = slices_.find(key); old != slices_.end()) {
        IndexSlice(key, old->second, false);
      }
      slices_[key] = object.endpoint_slice();
      IndexSlice(key, object.endpoint_slice(), true);
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
