// SPDX-License-Identifier: Apache-2.0
#include "control/format/yaml.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/format/json.h"
#include "control/format/yaml_number.h"

namespace switchyard::format {
namespace {

// Plain scalars a YAML reader resolves to something other than a string.
// YAML 1.1 (Go's yaml.v2, behind kubectl) is the looser of the two schemas:
// it also takes yes/no/on/off, sexagesimal 1:20 and 0777 octal.
bool ResolvesToNonString(absl::string_view s) {
  static const char* const kWords[] = {
      "y",     "Y",     "yes",   "Yes",   "YES",   "n",     "N",     "no",
      "No",    "NO",    "true",  "True",  "TRUE",  "false", "False", "FALSE",
      "on",    "On",    "ON",    "off",   "Off",   "OFF",   "null",  "Null",
      "NULL",  "~",     "<<",    "=",     ".inf",  ".Inf",  ".INF",  "+.inf",
      "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",  ".NaN",  ".NAN"};
  for (const char* word : kWords) {
    if (s == word) return true;
  }
  return IsYamlNumber(s);
}

}  // namespace

bool IsSafePlainYaml(absl::string_view s) {
  if (s.empty()) return false;
  // Indicators that start a different construct (sequence entry, flow
  // collection, anchor, tag, block scalar, directive, quoted scalar).
  if (absl::string_view("-?:,[]{}#&*!|>'\"%@`").find(s.front()) !=
      absl::string_view::npos) {
    return false;
  }
  if (absl::ascii_isspace(static_cast<unsigned char>(s.front())) ||
      absl::ascii_isspace(static_cast<unsigned char>(s.back())) ||
      s.back() == ':') {
    return false;
  }
  if (absl::StartsWith(s, "...")) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  if (absl::StrContains(s, ": ") || absl::StrContains(s, " #")) return false;
  return !ResolvesToNonString(s);
}

namespace {

std::string Indent(int n) { return std::string(n, ' '); }

std::string YamlScalar(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull:
      return "null";
    case Value::Type::kBool:
      return v.bool_value() ? "true" : "false";
    case Value::Type::kInt:
      return absl::StrCat(v.int_value());
    case Value::Type::kFixed:
      return FixedText(v);
    case Value::Type::kString:
      return IsSafePlainYaml(v.string_value()) ? v.string_value()
                                               : QuoteString(v.string_value());
    case Value::Type::kList:
      return "[]";  // only reached when empty
    case Value::Type::kMap:
      return "{}";
  }
  return "";
}

bool IsBlock(const Value& v) {
  return (v.type() == Value::Type::kList && !v.items().empty()) ||
         (v.type() == Value::Type::kMap && !v.fields().empty());
}

void YamlList(const Value& v, int indent, std::string first, std::string* out);

// `first` is what starts the first line (a "- " from an enclosing list
// item); every later line starts with `indent` spaces. Both are `indent`
// columns wide.
void YamlMap(const Value& v, int indent, std::string first, std::string* out) {
  std::vector<const std::pair<std::string, Value>*> fields;
  for (const auto& field : v.fields()) fields.push_back(&field);
  std::stable_sort(
      fields.begin(), fields.end(),
      [](const auto* a, const auto* b) { return a->first < b->first; });
  for (const auto* field : fields) {
    const auto& [key, value] = *field;
    std::string prefix = first.empty() ? Indent(indent) : std::move(first);
    first.clear();
    std::string key_text = IsSafePlainYaml(key) ? key : QuoteString(key);
    if (!IsBlock(value)) {
      absl::StrAppend(out, prefix, key_text, ": ", YamlScalar(value), "\n");
    } else if (value.type() == Value::Type::kMap) {
      absl::StrAppend(out, prefix, key_text, ":\n");
      YamlMap(value, indent + 2, "", out);
    } else {
      // Like kubectl: a list's dashes line up with its key.
      absl::StrAppend(out, prefix, key_text, ":\n");
      YamlList(value, indent, "", out);
    }
  }
}

void YamlList(const Value& v, int indent, std::string first, std::string* out) {
  for (const Value& item : v.items()) {
    std::string prefix = first.empty() ? Indent(indent) : std::move(first);
    first.clear();
    if (!IsBlock(item)) {
      absl::StrAppend(out, prefix, "- ", YamlScalar(item), "\n");
    } else if (item.type() == Value::Type::kMap) {
      YamlMap(item, indent + 2, prefix + "- ", out);
    } else {
      YamlList(item, indent + 2, prefix + "- ", out);
    }
  }
}

}  // namespace

std::string WriteYaml(const Value& value) {
  std::string out;
  if (value.type() == Value::Type::kMap && !value.fields().empty()) {
    YamlMap(value, 0, "", &out);
  } else if (value.type() == Value::Type::kList && !value.items().empty()) {
    YamlList(value, 0, "", &out);
  } else {
    out = YamlScalar(value) + "\n";
  }
  return out;
}

}  // namespace switchyard::format
