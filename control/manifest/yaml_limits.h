// SPDX-License-Identifier: Apache-2.0
// The checks a manifest's text passes before it is turned into a tree:
// valid UTF-8, nesting depth, alias expansion, nothing after the document.
// They run on yaml-cpp's event stream, which costs one pass over the text
// and builds nothing, so a hostile file is refused before it can cost
// memory: a 237 KB file of nested aliases ("billion laughs") expands to
// 65 MB when walked, while its event stream is 237 KB long.
#ifndef SWITCHYARD_CONTROL_MANIFEST_YAML_LIMITS_H_
#define SWITCHYARD_CONTROL_MANIFEST_YAML_LIMITS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace switchyard::manifest {

// Maps and lists inside one another. Kubernetes objects nest about 10
// deep (a Deployment's pod template); 100 is room for any real manifest.
inline constexpr int kMaxNestingDepth = 100;

// What aliases (*name) may add to a document when expanded, in bytes of
// scalars plus one per node: this much, or the document's own size when
// that is larger, so a large List that shares a few blocks still loads.
inline constexpr int64_t kMinAliasExpansionBytes = int64_t{1} << 20;

// One manifest file or stdin. Larger ones could not be applied anyway
// (see kMaxApplyBytes) and are refused before they are read into memory.
inline constexpr int64_t kMaxManifestBytes = int64_t{128} << 20;

// "<source>: larger than 134217728 bytes (the limit for one manifest...)".
absl::Status ManifestTooLarge(absl::string_view source);

// 1-based, as editors count.
struct TextPosition {
  int line = 1;
  int column = 1;
};

// Where the first byte that is not valid UTF-8 is, if any. Overlong
// forms, surrogates and code points past U+10FFFF count as invalid, as
// protobuf (which carries every string on to the controller) sees them.
std::optional<TextPosition> FirstInvalidUtf8(absl::string_view text);

// Parses the one document in `text` as events and checks nesting depth,
// alias expansion and that nothing follows the document. Errors are
// INVALID_ARGUMENT reading "line L, column C: <problem>", with lines
// counted from the document's first line (0-based `first_line` in the
// stream is added). A YAML syntax error is thrown as yaml-cpp's
// ParserException for the caller to report like any other.
absl::Status CheckYamlDocument(const std::string& text, int first_line);

}  // namespace switchyard::manifest

#endif  // SWITCHYARD_CONTROL_MANIFEST_YAML_LIMITS_H_
