// SPDX-License-Identifier: Apache-2.0
#include "control/format/yaml_number.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "control/format/value.h"
#include "control/format/yaml.h"

namespace switchyard::format {
namespace {

// The grammar as a regular expression: YAML 1.1's int and float types plus
// YAML 1.2's 0o octal. The oracle for short strings only: libstdc++'s
// matcher recurses once per character.
bool MatchesNumberRegex(const std::string& s) {
  static const std::regex kNumber(
      "[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(:[0-5]?[0-9])+"
      "(\\.[0-9_]*)?|(\\.[0-9_]+|[0-9][0-9_]*(\\.[0-9_]*)?)([eE][-+]?[0-9]+)?"
      ")",
      std::regex::ECMAScript | std::regex::optimize);
  return std::regex_match(s, kNumber);
}

TEST(IsYamlNumber, AgreesWithTheGrammarOnEveryShortString) {
  // Every string of up to five characters over the characters the grammar
  // gives meaning to, and a few it does not.
  const std::string alphabet = "0159_:.eE+-oxbaF";
  std::string s;
  int checked = 0;
  auto visit = [&](auto&& self, size_t length) -> void {
    if (s.size() == length) {
      ASSERT_EQ(IsYamlNumber(s), MatchesNumberRegex(s)) << '"' << s << '"';
      ++checked;
      return;
    }
    for (char c : alphabet) {
      s.push_back(c);
      self(self, length);
      s.pop_back();
      if (testing::Test::HasFatalFailure()) return;
    }
  };
  for (size_t length = 0; length <= 5; ++length) visit(visit, length);
  EXPECT_GT(checked, 1000000);
}

TEST(IsYamlNumber, KnownSpellings) {
  for (const char* number :
       {"0", "80", "-1", "+1", "1_000", "1.5", ".5", "1.", "1e3", "1E-3",
        "0b101", "0777", "0o17", "0x1F", "1:20", "190:20:30.15", "-1:59"}) {
    EXPECT_TRUE(IsYamlNumber(number)) << number;
  }
  for (const char* text :
       {"", "-", ".", "e3", "1e", "0x", "0b2", "089x", "1:60", "1:", ":1",
        "1.2.3", "10.96.0.1", "v1", ".inf", "1 2", "0o"}) {
    EXPECT_FALSE(IsYamlNumber(text)) << text;
  }
}

// Values are user text: an annotation of a few megabytes of digits must be
// quoted, not crash the writer (a backtracking matcher overflowed the stack
// on a few thousand characters under the fuzzer's sanitizers).
TEST(IsYamlNumber, LongTextTakesNoStack) {
  const std::string digits(4 << 20, '7');
  EXPECT_TRUE(IsYamlNumber(digits));
  EXPECT_TRUE(IsYamlNumber("1" + std::string(4 << 20, '_') + ".5e+3"));
  std::string sexagesimal = "1";
  for (int i = 0; i < 1 << 20; ++i) sexagesimal += ":59";
  EXPECT_TRUE(IsYamlNumber(sexagesimal));
  EXPECT_FALSE(IsYamlNumber(digits + "x"));

  Value map = Value::Map();
  map.Set("annotation", Value::String(digits));
  EXPECT_EQ(WriteYaml(map), "annotation: \"" + digits + "\"\n");
}

}  // namespace
}  // namespace switchyard::format
