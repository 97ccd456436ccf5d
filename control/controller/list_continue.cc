// SPDX-License-Identifier: Apache-2.0
#include "control/controller/list_continue.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace switchyard::controller {
namespace {

// The first field; a token of another layout is refused, not misread.
constexpr absl::string_view kLayout = "c1";
constexpr size_t kFields = 8;

absl::Status NotOurs(absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("continue: not a token this controller gave out (", why,
                   "); list again without one"));
}

bool ParseKind(absl::string_view text, v1::Kind* kind) {
  int value = 0;
  if (!absl::SimpleAtoi(text, &value) || !v1::Kind_IsValid(value)) {
    return false;
  }
  *kind = static_cast<v1::Kind>(value);
  return true;
}

}  // namespace

// Fields are joined with '\n', which no namespace or name can hold
// (Kubernetes names are DNS labels and subdomains, validation.h).
std::string EncodeListContinue(const ListContinue& token) {
  std::string text = absl::StrJoin(
      {std::string(kLayout), token.state_id, absl::StrCat(token.version),
       absl::StrCat(static_cast<int>(token.kind)), token.ns,
       absl::StrCat(static_cast<int>(token.last.kind)), token.last.ns,
       token.last.name},
      "\n");
  return absl::WebSafeBase64Escape(text);
}

absl::StatusOr<ListContinue> DecodeListContinue(absl::string_view token) {
  std::string text;
  if (!absl::WebSafeBase64Unescape(token, &text)) return NotOurs("not base64");
  std::vector<absl::string_view> fields = absl::StrSplit(text, '\n');
  if (fields.size() != kFields || fields[0] != kLayout) {
    return NotOurs("unknown layout");
  }
  ListContinue out;
  out.state_id = std::string(fields[1]);
  if (!absl::SimpleAtoi(fields[2], &out.version) ||
      !ParseKind(fields[3], &out.kind) ||
      !ParseKind(fields[5], &out.last.kind)) {
    return NotOurs("damaged");
  }
  out.ns = std::string(fields[4]);
  out.last.ns = std::string(fields[6]);
  out.last.name = std::string(fields[7]);
  if (out.state_id.empty() || out.last.name.empty() ||
      out.last.kind == v1::KIND_UNSPECIFIED) {
    return NotOurs("damaged");
  }
  return out;
}

}  // namespace switchyard::controller
