// SPDX-License-Identifier: Apache-2.0
// How the controller names cluster objects: the (kind, namespace, name) key
// the store indexes by, and the "Service default/web" spelling every error
// message starts with.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_OBJECTS_H_
#define SWITCHYARD_CONTROL_CONTROLLER_OBJECTS_H_

#include <compare>
#include <string>
#include <utility>

#include "switchyard/v1/cluster.pb.h"

namespace switchyard::controller {

// Kubernetes' namespace for objects that name none.
inline constexpr char kDefaultNamespace[] = "default";

// The reference to `object`, with the namespace defaulted the way
// Kubernetes does it: "default" for namespaced kinds, "" for nodes (which
// are cluster-scoped, so any namespace a writer put there is ignored).
// An object with no kind set gets KIND_UNSPECIFIED.
v1::ObjectRef RefOf(const v1::Object& object);

// `ref` with the same defaulting as RefOf.
v1::ObjectRef NormalizeRef(v1::ObjectRef ref);

// "Service default/web", "Node worker-1": how messages name an object
// (kinds as names::KindName spells them).
std::string Describe(const v1::ObjectRef& ref);

// The store's key. Ordered by kind, then namespace, then name, which is
// the order List and watch messages use (services before the slices that
// name them).
struct ObjectKey {
  v1::Kind kind = v1::KIND_UNSPECIFIED;
  std::string ns;
  std::string name;

  static ObjectKey Of(const v1::ObjectRef& ref) {
    return {ref.kind(), ref.namespace_(), ref.name()};
  }
  v1::ObjectRef ToRef() const;

  friend auto operator<=>(const ObjectKey&, const ObjectKey&) = default;
  friend bool operator==(const ObjectKey&, const ObjectKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const ObjectKey& key) {
    return H::combine(std::move(h), static_cast<int>(key.kind), key.ns,
                      key.name);
  }
};

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_OBJECTS_H_
