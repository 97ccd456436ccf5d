// SPDX-License-Identifier: Apache-2.0
#include "control/names/kind_names.h"

namespace switchyard::names {
namespace {

constexpr struct {
  v1::Kind kind;
  absl::string_view name;
} kKinds[] = {
    {v1::KIND_SERVICE, "Service"},
    {v1::KIND_ENDPOINT_SLICE, "EndpointSlice"},
    {v1::KIND_NODE, "Node"},
};

}  // namespace

absl::string_view KindName(v1::Kind kind) {
  for (const auto& k : kKinds) {
    if (k.kind == kind) return k.name;
  }
  return "Object";
}

std::optional<v1::Kind> KindByName(absl::string_view name) {
  for (const auto& k : kKinds) {
    if (k.name == name) return k.kind;
  }
  return std::nullopt;
}

}  // namespace switchyard::names
