// SPDX-License-Identifier: Apache-2.0
// Whether a plain YAML scalar reads as a number.
#ifndef SWITCHYARD_CONTROL_FORMAT_YAML_NUMBER_H_
#define SWITCHYARD_CONTROL_FORMAT_YAML_NUMBER_H_

#include "absl/strings/string_view.h"

namespace switchyard::format {

// True when a YAML reader would take plain `s` for an integer or a float:
// YAML 1.1's int and float types (binary 0b1, octal 0777, hex 0x1F,
// sexagesimal 1:20 and 1:20.5, underscores between digits, 1e3, .5) and
// YAML 1.2's 0o7 octal. Named values (.inf, .nan) are not numbers here.
//
// A single left-to-right pass in constant stack: the values it checks are
// user text (an annotation may hold a megabyte), and a backtracking
// matcher's recursion grows with the text's length.
bool IsYamlNumber(absl::string_view s);

}  // namespace switchyard::format

#endif  // SWITCHYARD_CONTROL_FORMAT_YAML_NUMBER_H_
