// SPDX-License-Identifier: Apache-2.0
#include "control/format/yaml_number.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace switchyard::format {
namespace {

bool IsDecimalDigit(char c) { return c >= '0' && c <= '9'; }
bool IsOctalDigit(char c) { return c >= '0' && c <= '7'; }
bool IsBinaryDigit(char c) { return c == '0' || c == '1'; }
bool IsHexDigit(char c) {
  return absl::ascii_isxdigit(static_cast<unsigned char>(c));
}

// Drops the longest prefix of `s` whose characters are `digit` or '_';
// returns how many it dropped.
template <typename DigitFn>
size_t ConsumeDigits(absl::string_view* s, DigitFn digit) {
  size_t n = 0;
  while (n < s->size() && (digit((*s)[n]) || (*s)[n] == '_')) ++n;
  s->remove_prefix(n);
  return n;
}

// All of `s` is one or more `digit`s or underscores.
template <typename DigitFn>
bool AllDigits(absl::string_view s, DigitFn digit) {
  return ConsumeDigits(&s, digit) > 0 && s.empty();
}

// [.[0-9_]*] to the end.
bool FractionToEnd(absl::string_view s) {
  if (s.empty()) return true;
  if (s.front() != '.') return false;
  s.remove_prefix(1);
  ConsumeDigits(&s, IsDecimalDigit);
  return s.empty();
}

// [0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?, such as 1:20 or 190:20:30.5.
bool IsSexagesimal(absl::string_view s) {
  if (s.empty() || !IsDecimalDigit(s.front())) return false;
  ConsumeDigits(&s, IsDecimalDigit);
  size_t groups = 0;
  while (!s.empty() && s.front() == ':') {
    s.remove_prefix(1);
    // Two digits when they make 00-59; otherwise one. Taking one where two
    // fit can never match, as the group must end at ':', '.' or the end.
    if (s.size() >= 2 && s[0] >= '0' && s[0] <= '5' && IsDecimalDigit(s[1])) {
      s.remove_prefix(2);
    } else if (!s.empty() && IsDecimalDigit(s.front())) {
      s.remove_prefix(1);
    } else {
      return false;
    }
    ++groups;
  }
  return groups > 0 && FractionToEnd(s);
}

// (\.[0-9_]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?, such as 80,
// 1.5, .5, 1_000 or 1e3.
bool IsDecimal(absl::string_view s) {
  if (s.empty()) return false;
  if (s.front() == '.') {
    s.remove_prefix(1);
    if (ConsumeDigits(&s, IsDecimalDigit) == 0) return false;
  } else {
    if (!IsDecimalDigit(s.front())) return false;
    ConsumeDigits(&s, IsDecimalDigit);
    if (!s.empty() && s.front() == '.') {
      s.remove_prefix(1);
      ConsumeDigits(&s, IsDecimalDigit);
    }
  }
  if (s.empty()) return true;
  if (s.front() != 'e' && s.front() != 'E') return false;
  s.remove_prefix(1);
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  size_t n = 0;
  while (n < s.size() && IsDecimalDigit(s[n])) ++n;
  return n > 0 && n == s.size();
}

}  // namespace

bool IsYamlNumber(absl::string_view s) {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  if (absl::StartsWith(s, "0b")) {
    if (AllDigits(s.substr(2), IsBinaryDigit)) return true;
  }
  if (absl::StartsWith(s, "0x")) {
    if (AllDigits(s.substr(2), IsHexDigit)) return true;
  }
  if (absl::StartsWith(s, "0")) {
    absl::string_view octal = s.substr(1);
    if (absl::StartsWith(octal, "o")) octal.remove_prefix(1);
    if (AllDigits(octal, IsOctalDigit)) return true;
  }
  return IsSexagesimal(s) || IsDecimal(s);
}

}  // namespace switchyard::format
