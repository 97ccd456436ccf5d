// SPDX-License-Identifier: Apache-2.0
// The watch body's line splitter, fed every way a body can be cut.
#include <string>
#include <vector>

#include "control/kube/line_splitter.h"
#include "gtest/gtest.h"

namespace switchyard::kube {
namespace {

using Lines = std::vector<std::string>;

// Feeds `pieces` in order, then finishes; the lines passed on.
Lines Split(const std::vector<std::string>& pieces) {
  LineSplitter splitter;
  Lines lines;
  auto collect = [&lines](absl::string_view line) {
    lines.emplace_back(line);
    return true;
  };
  for (const std::string& piece : pieces) splitter.Feed(piece, collect);
  splitter.Finish(collect);
  return lines;
}

const char kBody[] =
    "{\"type\":\"ADDED\"}\n"
    "{\"type\":\"MODIFIED\"}\r\n"
    "\n"
    "\r\n"
    "{\"type\":\"BOOKMARK\"}\n";
const Lines kLines = {"{\"type\":\"ADDED\"}", "{\"type\":\"MODIFIED\"}",
                      "{\"type\":\"BOOKMARK\"}"};

TEST(LineSplitterTest, WholeBody) { EXPECT_EQ(Split({kBody}), kLines); }

TEST(LineSplitterTest, EveryCutIntoTwoAndThreePieces) {
  const std::string body = kBody;
  for (size_t i = 0; i <= body.size(); ++i) {
    EXPECT_EQ(Split({body.substr(0, i), body.substr(i)}), kLines)
        << "cut at " << i;
    for (size_t j = i; j <= body.size(); ++j) {
      EXPECT_EQ(
          Split({body.substr(0, i), body.substr(i, j - i), body.substr(j)}),
          kLines)
          << "cut at " << i << " and " << j;
    }
  }
}

TEST(LineSplitterTest, OneByteAtATime) {
  std::vector<std::string> bytes;
  for (char c : std::string(kBody)) bytes.emplace_back(1, c);
  EXPECT_EQ(Split(bytes), kLines);
}

TEST(LineSplitterTest, ALastLineWithoutLineEndComesAtFinish) {
  LineSplitter splitter;
  Lines lines;
  auto collect = [&lines](absl::string_view line) {
    lines.emplace_back(line);
    return true;
  };
  EXPECT_TRUE(splitter.Feed("a\nbc", collect));
  EXPECT_EQ(lines, Lines{"a"});
  EXPECT_EQ(splitter.pending_size(), 2u);
  EXPECT_TRUE(splitter.Finish(collect));
  EXPECT_EQ(lines, (Lines{"a", "bc"}));
  EXPECT_EQ(splitter.pending_size(), 0u);
}

TEST(LineSplitterTest, StopsWhenTheReaderSaysSo) {
  LineSplitter splitter;
  Lines lines;
  auto two = [&lines](absl::string_view line) {
    lines.emplace_back(line);
    return lines.size() < 2;
  };
  EXPECT_FALSE(splitter.Feed("1\n2\n3\n", two));
  EXPECT_EQ(lines, (Lines{"1", "2"}));
  // Nothing more once stopped, not even at the end.
  EXPECT_FALSE(splitter.Feed("4\n", two));
  EXPECT_FALSE(splitter.Finish(two));
  EXPECT_EQ(lines, (Lines{"1", "2"}));
}

TEST(LineSplitterTest, AStopOnALineCompletedAcrossPieces) {
  LineSplitter splitter;
  Lines lines;
  auto first = [&lines](absl::string_view line) {
    lines.emplace_back(line);
    return false;
  };
  EXPECT_TRUE(splitter.Feed("hel", first));
  EXPECT_FALSE(splitter.Feed("lo\nworld\n", first));
  EXPECT_EQ(lines, Lines{"hello"});
}

}  // namespace
}  // namespace switchyard::kube
