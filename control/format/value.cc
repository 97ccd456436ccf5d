// SPDX-License-Identifier: Apache-2.0
#include "control/format/value.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace switchyard::format {

Value Value::Bool(bool b) {
  Value v;
  v.type_ = Type::kBool;
  v.bool_ = b;
  return v;
}

Value Value::Int(int64_t i) {
  Value v;
  v.type_ = Type::kInt;
  v.int_ = i;
  return v;
}

Value Value::Fixed(double value, int decimals) {
  Value v;
  v.type_ = Type::kFixed;
  v.fixed_ = value;
  // More digits than a double holds would print noise.
  v.decimals_ = std::clamp(decimals, 0, 17);
  return v;
}

Value Value::String(std::string s) {
  Value v;
  v.type_ = Type::kString;
  v.string_ = std::move(s);
  return v;
}

Value Value::List() {
  Value v;
  v.type_ = Type::kList;
  return v;
}

Value Value::Map() {
  Value v;
  v.type_ = Type::kMap;
  return v;
}

bool Value::IsEmpty() const {
  switch (type_) {
    case Type::kNull:
      return true;
    case Type::kString:
      return string_.empty();
    case Type::kList:
      return items_.empty();
    case Type::kMap:
      return fields_.empty();
    case Type::kBool:
    case Type::kInt:
    case Type::kFixed:
      return false;
  }
  return false;
}

std::string FixedText(const Value& v) {
  if (!std::isfinite(v.fixed_value())) return "null";
  return absl::StrFormat("%.*f", v.decimals(), v.fixed_value());
}

}  // namespace switchyard::format
