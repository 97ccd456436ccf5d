// SPDX-License-Identifier: Apache-2.0
// A small ordered JSON-like tree: the one intermediate from which every
// JSON and YAML document Switchyard prints is written (yardctl's output,
// the bench results, the health-check answers), so escaping and layout
// are decided once, and the YAML and JSON forms of one document can never
// disagree about which fields exist or what type a value has. (yaml-cpp's
// Node cannot serve: it keeps every scalar as text, and JSON must know
// whether "80" is a number or a string.)
#ifndef SWITCHYARD_CONTROL_FORMAT_VALUE_H_
#define SWITCHYARD_CONTROL_FORMAT_VALUE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace switchyard::format {

class Value {
 public:
  enum class Type { kNull, kBool, kInt, kFixed, kString, kList, kMap };

  Value() = default;
  static Value Bool(bool b);
  static Value Int(int64_t i);
  // A measured number, written with `decimals` digits after the point
  // ("0.439538", "2.80"): the precision is the measurement's, chosen by
  // whoever measured, not whatever the double happens to hold. NaN and
  // infinities, which JSON cannot hold, are written as null.
  static Value Fixed(double value, int decimals);
  static Value String(std::string s);
  static Value List();
  static Value Map();

  Type type() const { return type_; }
  bool bool_value() const { return bool_; }
  int64_t int_value() const { return int_; }
  double fixed_value() const { return fixed_; }
  int decimals() const { return decimals_; }
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
  double fixed_ = 0;
  int decimals_ = 0;
  std::string string_;
  std::vector<Value> items_;
  std::vector<std::pair<std::string, Value>> fields_;
};

// The text of a kFixed value ("2.80"), or "null" when it is not finite;
// both writers print numbers through it.
std::string FixedText(const Value& v);

}  // namespace switchyard::format

#endif  // SWITCHYARD_CONTROL_FORMAT_VALUE_H_
