// SPDX-License-Identifier: Apache-2.0
// Block-style YAML text from a Value, laid out as kubectl prints it.
#ifndef SWITCHYARD_CONTROL_FORMAT_YAML_H_
#define SWITCHYARD_CONTROL_FORMAT_YAML_H_

#include <string>

#include "absl/strings/string_view.h"
#include "control/format/value.h"

namespace switchyard::format {

// Block-style YAML as `kubectl get -o yaml` prints it: map keys sorted,
// list items at their parent key's indent, strings quoted only where a
// YAML 1.1 or 1.2 reader would otherwise take them for something else.
std::string WriteYaml(const Value& value);

// True when `s` can be written as a plain (unquoted) YAML scalar and still
// read back as the same string by YAML 1.1 (Go's yaml.v2, which kubectl
// uses) and YAML 1.2 (yaml-cpp) readers alike.
bool IsSafePlainYaml(absl::string_view s);

}  // namespace switchyard::format

#endif  // SWITCHYARD_CONTROL_FORMAT_YAML_H_
