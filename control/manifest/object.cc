// SPDX-License-Identifier: Apache-2.0
#include "control/manifest/object.h"

#include "absl/strings/str_cat.h"
#include "control/names/kind_names.h"

namespace switchyard::manifest {

v1::Kind KindOf(const v1::Object& object) {
  switch (object.kind_case()) {
    case v1::Object::kService:
      return v1::KIND_SERVICE;
    case v1::Object::kEndpointSlice:
      return v1::KIND_ENDPOINT_SLICE;
    case v1::Object::kNode:
      return v1::KIND_NODE;
    case v1::Object::KIND_NOT_SET:
      break;
  }
  return v1::KIND_UNSPECIFIED;
}

absl::string_view ApiVersionOf(v1::Kind kind) {
  return kind == v1::KIND_ENDPOINT_SLICE ? "discovery.k8s.io/v1" : "v1";
}

bool IsNamespaced(v1::Kind kind) { return kind != v1::KIND_NODE; }

const v1::ObjectMeta& MetaOf(const v1::Object& object) {
  switch (object.kind_case()) {
    case v1::Object::kService:
      return object.service().metadata();
    case v1::Object::kEndpointSlice:
      return object.endpoint_slice().metadata();
    case v1::Object::kNode:
      return object.node().metadata();
    case v1::Object::KIND_NOT_SET:
      break;
  }
  return v1::ObjectMeta::default_instance();
}

v1::ObjectMeta* MutableMetaOf(v1::Object* object) {
  switch (object->kind_case()) {
    case v1::Object::kService:
      return object->mutable_service()->mutable_metadata();
    case v1::Object::kEndpointSlice:
      return object->mutable_endpoint_slice()->mutable_metadata();
    case v1::Object::kNode:
      return object->mutable_node()->mutable_metadata();
    case v1::Object::KIND_NOT_SET:
      break;
  }
  return nullptr;
}

v1::ObjectRef RefOf(const v1::Object& object) {
  v1::ObjectRef ref;
  ref.set_kind(KindOf(object));
  const v1::ObjectMeta& meta = MetaOf(object);
  ref.set_name(meta.name());
  if (IsNamespaced(ref.kind())) {
    ref.set_namespace_(meta.namespace_().empty()
                           ? std::string(kDefaultNamespace)
                           : meta.namespace_());
  }
  return ref;
}

std::string Describe(const v1::ObjectRef& ref) {
  if (!IsNamespaced(ref.kind())) {
    return absl::StrCat(names::KindName(ref.kind()), " ", ref.name());
  }
  return absl::StrCat(
      names::KindName(ref.kind()), " ",
      ref.namespace_().empty() ? kDefaultNamespace : ref.namespace_(), "/",
      ref.name());
}

std::string Describe(const v1::Object& object) {
  return Describe(RefOf(object));
}

}  // namespace switchyard::manifest
