// SPDX-License-Identifier: Apache-2.0
// The little of HTTP/1.x the metrics endpoint needs: finding the end of a
// request's head, parsing its request line, and writing a whole response.
// Pure functions, so malformed input is unit-tested without sockets.
#ifndef SWITCHYARD_CONTROL_METRICS_HTTP_REQUEST_H_
#define SWITCHYARD_CONTROL_METRICS_HTTP_REQUEST_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::metrics {

struct HttpRequest {
  std::string method;   // "GET"
  std::string path;     // "/metrics", without the query
  std::string version;  // "HTTP/1.1"
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string allow;  // the Allow header of a 405; "" for none
};

// The length of the request head in `data` (request line and headers, up to
// and including the blank line that ends them), or 0 while incomplete.
// Bare "\n" line ends are accepted beside "\r\n", as RFC 9112 allows.
size_t RequestHeadLength(absl::string_view data);

// Parses a complete head. InvalidArgument for anything that is not
// `METHOD SP /target SP HTTP/1.x` followed by `Name: value` header lines.
absl::StatusOr<HttpRequest> ParseRequestHead(absl::string_view head);

// "200 OK", "404 Not Found"...
absl::string_view ReasonPhrase(int status);

// Status line, Content-Type, Content-Length, Connection: close, and the
// body unless `head_only` (a HEAD request).
std::string FormatResponse(const HttpResponse& response, bool head_only);

}  // namespace switchyard::metrics

#endif  // SWITCHYARD_CONTROL_METRICS_HTTP_REQUEST_H_
