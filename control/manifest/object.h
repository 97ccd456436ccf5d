// SPDX-License-Identifier: Apache-2.0
// What every consumer of a v1::Object needs to know about it without a
// switch of its own: its kind, Kubernetes names, metadata and reference.
#ifndef SWITCHYARD_CONTROL_MANIFEST_OBJECT_H_
#define SWITCHYARD_CONTROL_MANIFEST_OBJECT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "switchyard/v1/cluster.pb.h"

namespace switchyard::manifest {

// Namespaced objects without one live here, as in Kubernetes.
inline constexpr absl::string_view kDefaultNamespace = "default";

v1::Kind KindOf(const v1::Object& object);

// "v1" or "discovery.k8s.io/v1".
absl::string_view ApiVersionOf(v1::Kind kind);

// Nodes are cluster-scoped; the others are namespaced.
bool IsNamespaced(v1::Kind kind);

// The object's metadata; an empty ObjectMeta for an object with no kind.
const v1::ObjectMeta& MetaOf(const v1::Object& object);
// nullptr for an object with no kind.
v1::ObjectMeta* MutableMetaOf(v1::Object* object);

// The reference the controller keys the object by: namespace "default"
// when unset for namespaced kinds, always "" for nodes.
v1::ObjectRef RefOf(const v1::Object& object);

// "Service default/web", "Node worker-1": for messages people read.
std::string Describe(const v1::Object& object);
std::string Describe(const v1::ObjectRef& ref);

}  // namespace switchyard::manifest

#endif  // SWITCHYARD_CONTROL_MANIFEST_OBJECT_H_
