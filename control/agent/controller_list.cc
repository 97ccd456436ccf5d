// SPDX-License-Identifier: Apache-2.0
#include "control/agent/controller_list.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace switchyard::agent {

absl::StatusOr<std::vector<std::string>> ParseControllerList(
    absl::string_view list) {
  if (list.empty()) {
    return absl::InvalidArgumentError(
        "--controller: no address given (want unix:///path or host:port, "
        "comma-separated for several)");
  }
  std::vector<std::string> out;
  for (absl::string_view entry : absl::StrSplit(list, ',')) {
    const size_t n = out.size() + 1;
    if (entry.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--controller: entry ", n, " of '", list,
                       "' is empty (a stray comma?)"));
    }
    if (std::any_of(entry.begin(), entry.end(),
                    [](char c) { return absl::ascii_isspace(c); })) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--controller: entry ", n, " '", entry,
          "' contains whitespace; separate addresses with commas only"));
    }
    if (std::find(out.begin(), out.end(), entry) != out.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--controller: '", entry, "' is listed twice"));
    }
    out.emplace_back(entry);
  }
  return out;
}

}  // namespace switchyard::agent
