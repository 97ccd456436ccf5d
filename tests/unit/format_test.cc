// SPDX-License-Identifier: Apache-2.0
// The JSON and YAML writers on their own: layout, escaping, numbers. The
// documents built from them (manifests, yardctl output, bench results)
// are tested where they are built.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "control/format/json.h"
#include "control/format/value.h"
#include "control/format/yaml.h"

namespace switchyard::format {
namespace {

Value Sample() {
  Value doc = Value::Map();
  doc.Set("name", Value::String("web"));
  doc.Set("port", Value::Int(80));
  doc.Set("ratio", Value::Fixed(2.8, 2));
  doc.Set("open", Value::Bool(true));
  doc.Set("left", Value());
  Value list = Value::List();
  list.Append(Value::Int(1));
  list.Append(Value::String("two"));
  doc.Set("list", std::move(list));
  doc.Set("empty", Value::List());
  return doc;
}

TEST(WriteJson, KubectlLayout) {
  EXPECT_EQ(WriteJson(Sample()), R"({
    "name": "web",
    "port": 80,
    "ratio": 2.80,
    "open": true,
    "left": null,
    "list": [
        1,
        "two"
    ],
    "empty": []
}
)");
  EXPECT_EQ(WriteJson(Value::Map()), "{}\n");
}

TEST(WriteCompactJson, OneLineNoSpaces) {
  EXPECT_EQ(WriteCompactJson(Sample()),
            R"({"name":"web","port":80,"ratio":2.80,"open":true,)"
            R"("left":null,"list":[1,"two"],"empty":[]})");
  Value nested = Value::Map();
  Value inner = Value::Map();
  inner.Set("a", Value::Int(1));
  nested.Set("in", std::move(inner));
  EXPECT_EQ(WriteCompactJson(nested), R"({"in":{"a":1}})");
}

TEST(WriteYaml, SortedBlockStyle) {
  EXPECT_EQ(WriteYaml(Sample()), R"(empty: []
left: null
list:
- 1
- two
name: web
open: true
port: 80
ratio: 2.80
)");
}

TEST(Fixed, DecimalsAsAskedAndNullWhenNotFinite) {
  EXPECT_EQ(WriteCompactJson(Value::Fixed(0.4395381, 6)), "0.439538");
  EXPECT_EQ(WriteCompactJson(Value::Fixed(2275117.4, 0)), "2275117");
  EXPECT_EQ(WriteCompactJson(Value::Fixed(-1.26, 1)), "-1.3");
  EXPECT_EQ(WriteCompactJson(Value::Fixed(std::nan(""), 2)), "null");
  EXPECT_EQ(WriteCompactJson(
                Value::Fixed(std::numeric_limits<double>::infinity(), 2)),
            "null");
  EXPECT_FALSE(Value::Fixed(0, 1).IsEmpty());
}

TEST(QuoteString, EscapesWhatJsonRequires) {
  EXPECT_EQ(QuoteString("plain"), R"("plain")");
  EXPECT_EQ(QuoteString("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(QuoteString("l1\nl2\tx\r"), R"("l1\nl2\tx\r")");
  EXPECT_EQ(QuoteString(std::string("\x01\x1f\x7f", 3)),
            R"("\u0001\u001f\u007f")");
  EXPECT_EQ(QuoteString("caf\xc3\xa9"), "\"caf\xc3\xa9\"");  // UTF-8 as is
  Value key = Value::Map();
  key.Set("we\"ird", Value::String("x"));
  EXPECT_EQ(WriteCompactJson(key), R"({"we\"ird":"x"})");
}

TEST(IsSafePlainYaml, QuotesWhatReadersWouldMisread) {
  for (const char* plain :
       {"web", "10.96.0.1", "fd00::1", "app.kubernetes.io/name",
        "unix:///run/x.sock", "http-web", "v1.29.2", "a b", "x:y"}) {
    EXPECT_TRUE(IsSafePlainYaml(plain)) << plain;
  }
  for (const char* quoted :
       {"",          "80",       "-1",          "1.5",     "1e3",  "0x1F",
        "0777",      "1:20",     "true",        "False",   "yes",  "off",
        "null",      "~",        "::1",         "- x",     "a: b", "a #b",
        "trailing ", " leading", "*alias",      "&anchor", "!tag", "{x}",
        "[x]",       "'q",       "\"q",         "%d",      "@x",   "`x",
        "|",         ">",        "line\nbreak", "...",     ".inf", "<<"}) {
    EXPECT_FALSE(IsSafePlainYaml(quoted)) << quoted;
  }
}

}  // namespace
}  // namespace switchyard::format
