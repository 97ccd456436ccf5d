// SPDX-License-Identifier: Apache-2.0
// Percent-encoding of URL query values: continue tokens are base64 and
// carry '+', '/' and '=', which a query must not hold raw.
#ifndef SWITCHYARD_CONTROL_KUBE_QUERY_H_
#define SWITCHYARD_CONTROL_KUBE_QUERY_H_

#include <string>

#include "absl/strings/string_view.h"

namespace switchyard::kube {

// Letters, digits and -._~ stay; every other byte becomes %XX.
inline std::string QueryEscape(absl::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                 c == '~';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace switchyard::kube

#endif  // SWITCHYARD_CONTROL_KUBE_QUERY_H_
