// SPDX-License-Identifier: Apache-2.0
// A small ordered JSON-like tree: the one intermediate from which both the
// YAML and the JSON forms of an object are written, so the two can never
// disagree about which fields exist or what type a value has. (yaml-cpp's
// Node cannot serve: it keeps every scalar as text, and JSON must know
// whether "80" is a number or a string.)
#ifndef SWITCHYARD_CONTROL_MANIFEST_VALUE_H_
#define SWITCHYARD_CONTROL_MANIFEST_VALUE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace switchyard::manifest {

class Value {
 public:
  enum class Type { kNull, kBool, kInt, kString, kList, kMap };

  Value() = default;
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value String(std::string s);
  static Value List();
  static Value Map();

  Type type() const { return type_; }
  bool bool_value() const { return bool_; }
  int64_t int_value() const { return int_; }
  const std::string& string_value() const { return string_; }
  const std::vector<Value>& items() const { return items_; }
  const std::vector<std::pair<std::string, Value>>& fields() const {
    return fields_;
  }

  // Appends to a list.
  void Append(Value v) { items_.push_back(std::move(v)); }
  // Appends a field to a map; insertion order is the JSON output order, as
  // Kubernetes writes struct fields in declaration order.
  void Set(std::string key, Value v) {
    fields_.emplace_back(std::move(key), std::move(v));
  }
  // Sets only when `v` carries something: Kubernetes omits empty fields
  // (`omitempty`), and so does this, so output stays as short as kubectl's.
  void SetIfNotEmpty(std::string key, Value v) {
    if (!v.IsEmpty()) Set(std::move(key), std::move(v));
  }

  // Null, "", an empty list or map. Zero and false are not empty: callers
  // decide for those, since an explicit 0 sometimes means something.
  bool IsEmpty() const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  int64_t int_ = 0;
  std::string string_;
  std::vector<Value> items_;
  std::vector<std::pair<std::string, Value>> fields_;
};

// Kubernetes-style JSON as `kubectl get -o json` prints it: four-space
// indent, fields in insertion order, trailing newline.
std::string WriteJson(const Value& value);

// Block-style YAML as `kubectl get -o yaml` prints it: map keys sorted,
// list items at their parent key's indent, strings quoted only where a
// YAML 1.1 or 1.2 reader would otherwise take them for something else.
std::string WriteYaml(const Value& value);

// The JSON string literal for `s`, quotes included. JSON escapes are also
// valid YAML double-quoted escapes, so both writers share it.
std::string QuoteString(absl::string_view s);

// True when `s` can be written as a plain (unquoted) YAML scalar and still
// read back as the same string by YAML 1.1 (Go's yaml.v2, which kubectl
// uses) and YAML 1.2 (yaml-cpp) readers alike.
bool IsSafePlainYaml(absl::string_view s);

}  // namespace switchyard::manifest

#endif  // SWITCHYARD_CONTROL_MANIFEST_VALUE_H_
