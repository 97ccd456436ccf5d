// SPDX-License-Identifier: Apache-2.0
// Cuts a streamed body into lines, whatever sizes the pieces arrive in. A
// watch answer is one JSON event per line, but TCP, TLS records and HTTP
// chunks split it anywhere: mid-line, mid-"\r\n", many lines at once. Pure,
// so every way of splitting is tested without a network.
#ifndef SWITCHYARD_CONTROL_KUBE_LINE_SPLITTER_H_
#define SWITCHYARD_CONTROL_KUBE_LINE_SPLITTER_H_

#include <cstddef>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace switchyard::kube {

// Lines end at "\n"; a "\r" before it is dropped too. Empty lines are not
// passed on (a server may send them to keep a connection alive).
class LineSplitter {
 public:
  using OnLine = absl::FunctionRef<bool(absl::string_view line)>;

  // Passes on each line `piece` completes, in order. False as soon as
  // `on_line` does (the rest of `piece` is then dropped, and so is anything
  // fed later: the reader said stop).
  bool Feed(absl::string_view piece, OnLine on_line);
  // At the body's clean end: passes on a last line that had no line end.
  // False if `on_line` said stop.
  bool Finish(OnLine on_line);

  // Bytes of a line begun but not ended: the caller caps it, so a server
  // that never sends "\n" cannot grow it without bound.
  size_t pending_size() const { return pending_.size(); }

 private:
  bool Emit(absl::string_view line, OnLine on_line);

  std::string pending_;
  bool stopped_ = false;
};

}  // namespace switchyard::kube

#endif  // SWITCHYARD_CONTROL_KUBE_LINE_SPLITTER_H_
