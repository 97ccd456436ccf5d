// SPDX-License-Identifier: Apache-2.0
#include "control/controller/objects.h"

#include "absl/strings/str_cat.h"
#include "control/names/kind_names.h"

namespace switchyard::controller {

v1::ObjectRef RefOf(const v1::Object& object) {
  v1::ObjectRef ref;
  const v1::ObjectMeta* meta = nullptr;
  switch (object.kind_case()) {
    case v1::Object::kService:
      ref.set_kind(v1::KIND_SERVICE);
      meta = &object.service().metadata();
      break;
    case v1::Object::kEndpointSlice:
      ref.set_kind(v1::KIND_ENDPOINT_SLICE);
      meta = &object.endpoint_slice().metadata();
      break;
    case v1::Object::kNode:
      ref.set_kind(v1::KIND_NODE);
      meta = &object.node().metadata();
      break;
    case v1::Object::KIND_NOT_SET:
      return ref;
  }
  ref.set_namespace_(meta->namespace_());
  ref.set_name(meta->name());
  return NormalizeRef(std::move(ref));
}

v1::ObjectRef NormalizeRef(v1::ObjectRef ref) {
  if (ref.kind() == v1::KIND_NODE) {
    ref.clear_namespace_();
  } else if (ref.namespace_().empty()) {
    ref.set_namespace_(kDefaultNamespace);
  }
  return ref;
}

std::string Describe(const v1::ObjectRef& ref) {
  if (ref.kind() == v1::KIND_NODE) {
    return absl::StrCat(names::KindName(ref.kind()), " ", ref.name());
  }
  return absl::StrCat(names::KindName(ref.kind()), " ", ref.namespace_(), "/",
                      ref.name());
}

v1::ObjectRef ObjectKey::ToRef() const {
  v1::ObjectRef ref;
  ref.set_kind(kind);
  ref.set_namespace_(ns);
  ref.set_name(name);
  return ref;
}

}  // namespace switchyard::controller
