// SPDX-License-Identifier: Apache-2.0
// JSON text from a Value: the one JSON writer, and the one place strings
// are escaped for JSON.
#ifndef SWITCHYARD_CONTROL_FORMAT_JSON_H_
#define SWITCHYARD_CONTROL_FORMAT_JSON_H_

#include <string>

#include "absl/strings/string_view.h"
#include "control/format/value.h"

namespace switchyard::format {

// Kubernetes-style JSON as `kubectl get -o json` prints it: four-space
// indent, fields in insertion order, trailing newline. For documents
// people read and tools load (yardctl -o json, bench results).
std::string WriteJson(const Value& value);

// One line, no spaces, no trailing newline, as Go's json.Marshal writes
// it: for answers whose exact bytes clients may compare (kube-proxy's
// health-check body).
std::string WriteCompactJson(const Value& value);

// The JSON string literal for `s`, quotes included: `"` and `\` escaped,
// \n \t \r by name, other control characters (and DEL) as \u00XX; bytes
// >= 0x80 pass through, since UTF-8 is valid JSON. The escapes are also
// valid YAML double-quoted escapes, so the YAML writer quotes with it, and
// messages quote user input with it.
std::string QuoteString(absl::string_view s);

}  // namespace switchyard::format

#endif  // SWITCHYARD_CONTROL_FORMAT_JSON_H_
