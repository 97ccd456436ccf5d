// SPDX-License-Identifier: Apache-2.0
#include "control/translate/cluster_state.h"

#include "absl/strings/str_cat.h"

namespace switchyard::translate {

std::string NamespacedName(const v1::ObjectMeta& meta) {
  return absl::StrCat(meta.namespace_().empty() ? "default" : meta.namespace_(),
                      "/", meta.name());
}

absl::Status ClusterState::Apply(const v1::WatchResponse& update) {
  if (update.snapshot()) {
    services_.clear();
    slices_.clear();
    nodes_.clear();
    has_snapshot_ = true;
  } else if (!has_snapshot_) {
    return absl::FailedPreconditionError(
        "a delta arrived before any snapshot");
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
          object.service();
      break;
    case v1::Object::kEndpointSlice:
      slices_[NamespacedName(object.endpoint_slice().metadata())] =
          object.endpoint_slice();
      break;
    case v1::Object::kNode:
      nodes_[object.node().metadata().name()] = object.node();
      break;
    case v1::Object::KIND_NOT_SET:
      break;
  }
}

void ClusterState::Remove(const v1::ObjectRef& ref) {
  std::string key = absl::StrCat(
      ref.namespace_().empty() ? "default" : ref.namespace_(), "/",
      ref.name());
  switch (ref.kind()) {
    case v1::KIND_SERVICE:
      services_.erase(key);
      break;
    case v1::KIND_ENDPOINT_SLICE:
      slices_.erase(key);
      break;
    case v1::KIND_NODE:
      nodes_.erase(ref.name());
      break;
    default:
      break;
  }
}

}  // namespace switchyard::translate
