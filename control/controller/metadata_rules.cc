// SPDX-License-Identifier: Apache-2.0
#include "control/controller/metadata_rules.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "control/common/apply_limits.h"
#include "control/controller/validation.h"

namespace switchyard::controller {
namespace {

bool IsAlnum(char c) { return absl::ascii_isalnum(c); }

// Kubernetes' qualified-name and label-value grammar:
// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool IsNamePart(absl::string_view text) {
  if (text.empty() || !IsAlnum(text.front()) || !IsAlnum(text.back())) {
    return false;
  }
  return std::all_of(text.begin(), text.end(), [](char c) {
    return IsAlnum(c) || c == '-' || c == '_' || c == '.';
  });
}

constexpr char kNameGrammar[] =
    "letters, digits, '-', '_' and '.', starting and ending with a letter "
    "or digit";

// Messages quote keys and values, shortened: the value being refused may
// be the 1 MB one.
std::string Shown(absl::string_view text) {
  constexpr size_t kShown = 80;
  if (text.size() <= kShown) return absl::StrCat("\"", text, "\"");
  return absl::StrCat("\"", text.substr(0, kShown), "...\" (", text.size(),
                      " bytes)");
}

// Map iteration order is unspecified; errors name the first key in
// sorted order so the same input always gives the same message.
std::vector<const std::string*> SortedKeys(
    const google::protobuf::Map<std::string, std::string>& map) {
  std::vector<const std::string*> keys;
  keys.reserve(map.size());
  for (const auto& [key, value] : map) keys.push_back(&key);
  std::sort(keys.begin(), keys.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  return keys;
}

}  // namespace

bool IsDns1035Label(absl::string_view text) {
  return IsDns1123Label(text) && absl::ascii_islower(text.front());
}

std::optional<std::string> QualifiedNameProblem(absl::string_view key) {
  absl::string_view name = key;
  size_t slash = key.find('/');
  if (slash != absl::string_view::npos) {
    absl::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty()) return "the prefix before '/' is empty";
    if (prefix.size() > kDns1123SubdomainMaxLength ||
        !IsDns1123Subdomain(prefix)) {
      return absl::StrCat(
          "the prefix ", Shown(prefix),
          " is not a DNS subdomain (lowercase letters, digits, '-' and '.', "
          "at most ",
          kDns1123SubdomainMaxLength, " characters)");
    }
    if (name.find('/') != absl::string_view::npos) {
      return "more than one '/' (a key is [prefix/]name)";
    }
  }
  if (name.empty()) return "the name part is empty";
  if (name.size() > kQualifiedNameMaxLength) {
    return absl::StrCat("the name part is ", name.size(),
                        " characters long, more than Kubernetes' limit of ",
                        kQualifiedNameMaxLength);
  }
  if (!IsNamePart(name)) {
    return absl::StrCat("the name part ", Shown(name), " must be ",
                        kNameGrammar);
  }
  return std::nullopt;
}

std::optional<std::string> LabelValueProblem(absl::string_view value) {
  if (value.empty()) return std::nullopt;
  if (value.size() > kLabelValueMaxLength) {
    return absl::StrCat("is ", value.size(),
                        " characters long, more than Kubernetes' limit of ",
                        kLabelValueMaxLength, " for a label value");
  }
  if (!IsNamePart(value)) return absl::StrCat("must be ", kNameGrammar);
  return std::nullopt;
}

absl::Status CheckLabels(
    const v1::ObjectRef& ref, absl::string_view field,
    const google::protobuf::Map<std::string, std::string>& labels) {
  for (const std::string* key : SortedKeys(labels)) {
    if (std::optional<std::string> problem = QualifiedNameProblem(*key)) {
      return FieldError(ref, field,
                        absl::StrCat("key ", Shown(*key), ": ", *problem));
    }
    const std::string& value = labels.at(*key);
    if (std::optional<std::string> problem = LabelValueProblem(value)) {
      return FieldError(ref, absl::StrCat(field, "[", *key, "]"),
                        absl::StrCat("value ", Shown(value), " ", *problem));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckAnnotations(
    const v1::ObjectRef& ref,
    const google::protobuf::Map<std::string, std::string>& annotations) {
  int64_t total = 0;
  for (const auto& [key, value] : annotations) {
    total += static_cast<int64_t>(key.size() + value.size());
  }
  if (total > kMaxAnnotationBytes) {
    return FieldError(
        ref, "metadata.annotations",
        absl::StrCat(total,
                     " bytes of keys and values exceed Kubernetes' "
                     "limit of ",
                     kMaxAnnotationBytes, " bytes (256 KiB) per object"));
  }
  for (const std::string* key : SortedKeys(annotations)) {
    // Kubernetes checks annotation keys lowercased: case is free here.
    if (std::optional<std::string> problem =
            QualifiedNameProblem(absl::AsciiStrToLower(*key))) {
      return FieldError(ref, "metadata.annotations",
                        absl::StrCat("key ", Shown(*key), ": ", *problem));
    }
  }
  return absl::OkStatus();
}

}  // namespace switchyard::controller
