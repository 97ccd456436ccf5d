// SPDX-License-Identifier: Apache-2.0
// Kubernetes kind names ("Service", "EndpointSlice", "Node") for the kinds
// Switchyard carries: in manifests read and written, in messages that name
// an object, in metric labels.
#ifndef SWITCHYARD_CONTROL_NAMES_KIND_NAMES_H_
#define SWITCHYARD_CONTROL_NAMES_KIND_NAMES_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "switchyard/v1/cluster.pb.h"

namespace switchyard::names {

// "Service", "EndpointSlice", "Node"; "Object" for KIND_UNSPECIFIED (and
// any value this build does not know), so a message about a reference
// without a kind still reads "Object default/web".
absl::string_view KindName(v1::Kind kind);

// The kind called `name` (exactly as KindName spells it, so "Object" is
// none), if any.
std::optional<v1::Kind> KindByName(absl::string_view name);

}  // namespace switchyard::names

#endif  // SWITCHYARD_CONTROL_NAMES_KIND_NAMES_H_
