// SPDX-License-Identifier: Apache-2.0
#include "control/kube/line_splitter.h"

#include "absl/strings/strip.h"

namespace switchyard::kube {

bool LineSplitter::Emit(absl::string_view line, OnLine on_line) {
  absl::ConsumeSuffix(&line, "\r");
  if (line.empty()) return true;
  if (!on_line(line)) stopped_ = true;
  return !stopped_;
}

bool LineSplitter::Feed(absl::string_view piece, OnLine on_line) {
  if (stopped_) return false;
  while (!piece.empty()) {
    size_t end = piece.find('\n');
    if (end == absl::string_view::npos) {
      pending_.append(piece.data(), piece.size());
      return true;
    }
    bool go_on;
    if (pending_.empty()) {
      // The common case, a whole line inside one piece: no copy.
      go_on = Emit(piece.substr(0, end), on_line);
    } else {
      pending_.append(piece.data(), end);
      std::string line = std::move(pending_);
      pending_.clear();
      go_on = Emit(line, on_line);
    }
    if (!go_on) return false;
    piece.remove_prefix(end + 1);
  }
  return true;
}

bool LineSplitter::Finish(OnLine on_line) {
  if (stopped_) return false;
  std::string line = std::move(pending_);
  pending_.clear();
  return Emit(line, on_line);
}

}  // namespace switchyard::kube
