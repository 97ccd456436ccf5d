// SPDX-License-Identifier: Apache-2.0
// Kubernetes' rules for an object's labels and annotations (and for label
// selectors, which use the label rules): keys are qualified names, label
// values are short names, annotations are bounded in total. The store
// holds every object in memory and sends it to every node, so these
// limits are also what keeps one object from costing megabytes.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_METADATA_RULES_H_
#define SWITCHYARD_CONTROL_CONTROLLER_METADATA_RULES_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/map.h"
#include "switchyard/v1/cluster.pb.h"

namespace switchyard::controller {

// Kubernetes' limits, by their names there.
inline constexpr int kQualifiedNameMaxLength = 63;
inline constexpr int kLabelValueMaxLength = 63;
inline constexpr int kDns1123SubdomainMaxLength = 253;

// A lowercase letter first, then lowercase letters, digits and '-',
// ending alphanumeric, at most 63 characters: what a Service name must be
// (it becomes a DNS label, and DNS labels start with a letter).
bool IsDns1035Label(absl::string_view text);

// Why `key` is not a qualified name ("[prefix/]name", e.g.
// "app.kubernetes.io/name"), or nullopt when it is one.
std::optional<std::string> QualifiedNameProblem(absl::string_view key);

// Why `value` is not a label value (empty, or a name of at most 63
// characters), or nullopt when it is one.
std::optional<std::string> LabelValueProblem(absl::string_view value);

// Keys and values of `labels` (a label map or a selector) under `field`.
absl::Status CheckLabels(
    const v1::ObjectRef& ref, absl::string_view field,
    const google::protobuf::Map<std::string, std::string>& labels);

// Keys of `annotations`, and their total size against
// kMaxAnnotationBytes (apply_limits.h).
absl::Status CheckAnnotations(
    const v1::ObjectRef& ref,
    const google::protobuf::Map<std::string, std::string>& annotations);

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_METADATA_RULES_H_
