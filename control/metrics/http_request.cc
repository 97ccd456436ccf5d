// SPDX-License-Identifier: Apache-2.0
#include "control/metrics/http_request.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace switchyard::metrics {
namespace {

// RFC 9110 token characters: method and header names.
bool TokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) !=
             absl::string_view::npos;
}

bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!TokenChar(c)) return false;
  }
  return true;
}

// Printable ASCII, no spaces: what an origin-form target may hold once
// percent-encoded.
bool TargetChar(char c) { return c > 0x20 && c < 0x7f; }

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed request: ", what));
}

}  // namespace

size_t RequestHeadLength(absl::string_view data) {
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] != '\n') continue;
    // A line end followed by an empty line: "\n\n" or "\n\r\n".
    if (i + 1 < data.size() && data[i + 1] == '\n') return i + 2;
    if (i + 2 < data.size() && data[i + 1] == '\r' && data[i + 2] == '\n') {
      return i + 3;
    }
  }
  return 0;
}

absl::StatusOr<HttpRequest> ParseRequestHead(absl::string_view head) {
  std::vector<absl::string_view> lines = absl::StrSplit(head, '\n');
  for (absl::string_view& line : lines) absl::ConsumeSuffix(&line, "\r");
  // The head ends with an empty line (and the split leaves one after it).
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) return Malformed("empty");

  std::vector<absl::string_view> parts = absl::StrSplit(lines[0], ' ');
  if (parts.size() != 3) return Malformed("request line is not 3 fields");
  HttpRequest request;
  if (!IsToken(parts[0])) return Malformed("method");
  absl::string_view target = parts[1];
  if (target.empty() || target[0] != '/') return Malformed("target");
  for (char c : target) {
    if (!TargetChar(c)) return Malformed("target");
  }
  if (parts[2] != "HTTP/1.1" && parts[2] != "HTTP/1.0") {
    return Malformed("version");
  }
  request.method = std::string(parts[0]);
  request.path = std::string(target.substr(0, target.find('?')));
  request.version = std::string(parts[2]);

  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    // No whitespace between name and colon (RFC 9112 5.1), and no obsolete
    // line folding.
    if (colon == absl::string_view::npos ||
        !IsToken(lines[i].substr(0, colon))) {
      return Malformed(absl::StrCat("header line ", i));
    }
  }
  return request;
}

absl::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
  }
  return "Unknown";
}

std::string FormatResponse(const HttpResponse& response, bool head_only) {
  std::string out = absl::StrCat(
      "HTTP/1.1 ", response.status, " ", ReasonPhrase(response.status),
      "\r\nContent-Type: ", response.content_type,
      "\r\nContent-Length: ", response.body.size(), "\r\n");
  if (!response.allow.empty()) {
    absl::StrAppend(&out, "Allow: ", response.allow, "\r\n");
  }
  absl::StrAppend(&out, "Connection: close\r\n\r\n");
  if (!head_only) out += response.body;
  return out;
}

}  // namespace switchyard::metrics
