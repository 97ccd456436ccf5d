// SPDX-License-Identifier: Apache-2.0
#include "control/manifest/yaml_limits.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace switchyard::manifest {
namespace {

// Length of the UTF-8 sequence at `text[i]`, or 0 when it is not valid.
size_t Utf8SequenceLength(absl::string_view text, size_t i) {
  const auto byte = [&](size_t at) {
    return at < text.size() ? static_cast<unsigned char>(text[at]) : 0u;
  };
  const auto continuation = [&](size_t at, unsigned lo = 0x80,
                                unsigned hi = 0xbf) {
    unsigned b = byte(at);
    return at < text.size() && b >= lo && b <= hi;
  };
  unsigned lead = byte(i);
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return continuation(i + 1) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    // E0 needs A0+ (no overlong forms), ED at most 9F (no surrogates).
    unsigned lo = lead == 0xe0 ? 0xa0 : 0x80;
    unsigned hi = lead == 0xed ? 0x9f : 0xbf;
    return continuation(i + 1, lo, hi) && continuation(i + 2) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    // F0 needs 90+ (no overlong forms), F4 at most 8F (U+10FFFF).
    unsigned lo = lead == 0xf0 ? 0x90 : 0x80;
    unsigned hi = lead == 0xf4 ? 0x8f : 0xbf;
    return continuation(i + 1, lo, hi) && continuation(i + 2) &&
                   continuation(i + 3)
               ? 4
               : 0;
  }
  return 0;
}

// Thrown by the handler to stop the parser at the first limit crossed;
// it never leaves this file.
struct LimitCrossed {
  absl::Status status;
};

// Counts what the document would be with every alias expanded, and how
// deep it nests, as the events arrive.
class LimitsHandler : public YAML::EventHandler {
 public:
  LimitsHandler(int64_t alias_budget, int first_line)
      : alias_budget_(alias_budget), first_line_(first_line) {}

  int documents() const { return documents_; }
  const YAML::Mark& second_document() const { return second_document_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) second_document_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t anchor) override {
    Leaf(anchor, 1);
  }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    Leaf(anchor, 1 + static_cast<int64_t>(value.size()));
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchor_sizes_.find(anchor);
    // An alias inside its own anchor's node (a cycle) has no size yet;
    // yaml-cpp builds it as a cycle, and counting it once is enough here.
    int64_t size = it == anchor_sizes_.end() ? 1 : it->second;
    alias_bytes_ += size;
    total_ += size;
    if (alias_bytes_ > alias_budget_) {
      throw LimitCrossed{Error(
          mark, absl::StrCat("aliases expand this document by more than ",
                             alias_budget_,
                             " bytes (the limit on alias expansion: 1 MiB or "
                             "the document's own size, whichever is larger); "
                             "write the repeated content out instead"))};
    }
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&,
                       YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&,
                  YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    Open(mark, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    YAML::anchor_t anchor;
    int64_t total_at_start;
  };

  absl::Status Error(const YAML::Mark& mark, absl::string_view problem) const {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", mark.line + first_line_ + 1, ", column ",
                     mark.column + 1, ": ", problem));
  }

  void Leaf(YAML::anchor_t anchor, int64_t size) {
    total_ += size;
    if (anchor != YAML::NullAnchor) anchor_sizes_[anchor] = size;
  }
  void Open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (static_cast<int>(open_.size()) >= kMaxNestingDepth) {
      throw LimitCrossed{Error(
          mark, absl::StrCat("maps and lists nest deeper than ",
                             kMaxNestingDepth, " levels (the nesting limit)"))};
    }
    total_ += 1;
    open_.push_back(Frame{anchor, total_});
  }
  void Close() {
    Frame frame = open_.back();
    open_.pop_back();
    if (frame.anchor != YAML::NullAnchor) {
      anchor_sizes_[frame.anchor] = 1 + total_ - frame.total_at_start;
    }
  }

  const int64_t alias_budget_;
  const int first_line_;
  int documents_ = 0;
  YAML::Mark second_document_ = YAML::Mark::null_mark();
  int64_t total_ = 0;
  int64_t alias_bytes_ = 0;
  std::vector<Frame> open_;
  absl::flat_hash_map<YAML::anchor_t, int64_t> anchor_sizes_;
};

}  // namespace

absl::Status ManifestTooLarge(absl::string_view source) {
  return absl::InvalidArgumentError(absl::StrCat(
      source, ": larger than ", kMaxManifestBytes,
      " bytes (the limit for one manifest file); split it into several"));
}

std::optional<TextPosition> FirstInvalidUtf8(absl::string_view text) {
  TextPosition at;
  for (size_t i = 0; i < text.size();) {
    size_t length = Utf8SequenceLength(text, i);
    if (length == 0) return at;
    if (text[i] == '\n') {
      ++at.line;
      at.column = 1;
    } else {
      ++at.column;
    }
    i += length;
  }
  return std::nullopt;
}

absl::Status CheckYamlDocument(const std::string& text, int first_line) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  LimitsHandler handler(std::max<int64_t>(kMinAliasExpansionBytes,
                                          static_cast<int64_t>(text.size())),
                        first_line);
  try {
    // The second call finds whatever follows the first document: within
    // one of ours that is a mistake (a stray word or bracket), which
    // YAML::Load would drop without a word.
    if (parser.HandleNextDocument(handler) &&
        parser.HandleNextDocument(handler) && handler.documents() >= 2) {
      const YAML::Mark& mark = handler.second_document();
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", (mark.is_null() ? 0 : mark.line) + first_line + 1,
          ": YAML syntax error: more content after the document's end (a "
          "stray word or bracket?)"));
    }
  } catch (const LimitCrossed& crossed) {
    return crossed.status;
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own guard (2000 levels) for shapes that nest without a
    // map or list event, such as long chains of tags or anchors.
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", e.mark.line + first_line + 1, ", column ", e.mark.column + 1,
        ": nesting deeper than the parser allows (", e.depth(), " levels)"));
  }
  return absl::OkStatus();
}

}  // namespace switchyard::manifest
