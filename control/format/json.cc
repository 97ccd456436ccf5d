// SPDX-License-Identifier: Apache-2.0
#include "control/format/json.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace switchyard::format {

std::string QuoteString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

namespace {

// `indent` < 0: compact, no whitespace at all.
void JsonTo(const Value& v, int indent, std::string* out) {
  const bool compact = indent < 0;
  // Opening a container's members: a newline and one level deeper, or
  // nothing; closing: back to the container's own indent.
  auto open = [&](int level) {
    if (!compact) absl::StrAppend(out, "\n", std::string(level, ' '));
  };
  auto close = [&] {
    if (!compact) absl::StrAppend(out, "\n", std::string(indent, ' '));
  };
  const int inner = compact ? -1 : indent + 4;
  switch (v.type()) {
    case Value::Type::kNull:
      *out += "null";
      return;
    case Value::Type::kBool:
      *out += v.bool_value() ? "true" : "false";
      return;
    case Value::Type::kInt:
      absl::StrAppend(out, v.int_value());
      return;
    case Value::Type::kFixed:
      *out += FixedText(v);
      return;
    case Value::Type::kString:
      *out += QuoteString(v.string_value());
      return;
    case Value::Type::kList: {
      if (v.items().empty()) {
        *out += "[]";
        return;
      }
      *out += "[";
      for (size_t i = 0; i < v.items().size(); ++i) {
        if (i > 0) *out += ",";
        open(inner);
        JsonTo(v.items()[i], inner, out);
      }
      close();
      *out += "]";
      return;
    }
    case Value::Type::kMap: {
      if (v.fields().empty()) {
        *out += "{}";
        return;
      }
      *out += "{";
      for (size_t i = 0; i < v.fields().size(); ++i) {
        const auto& [key, value] = v.fields()[i];
        if (i > 0) *out += ",";
        open(inner);
        absl::StrAppend(out, QuoteString(key), compact ? ":" : ": ");
        JsonTo(value, inner, out);
      }
      close();
      *out += "}";
      return;
    }
  }
}

}  // namespace

std::string WriteJson(const Value& value) {
  std::string out;
  JsonTo(value, 0, &out);
  out += "\n";
  return out;
}

std::string WriteCompactJson(const Value& value) {
  std::string out;
  JsonTo(value, -1, &out);
  return out;
}

}  // namespace switchyard::format
