// SPDX-License-Identifier: Apache-2.0
// How the Kubernetes client reaches the API server: a GET answered whole
// (lists, single objects) and a GET whose body streams line by line (watch).
// The reflector is written against this interface so it can be tested with
// a fake, and so the HTTP library (libcurl) stays inside one file.
#ifndef SWITCHYARD_CONTROL_KUBE_API_TRANSPORT_H_
#define SWITCHYARD_CONTROL_KUBE_API_TRANSPORT_H_

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::kube {

struct ApiResponse {
  int http_status = 0;
  // The whole body for Get; for Watch, only the body of a non-2xx answer
  // (a 2xx body is handed to on_line instead).
  std::string body;
};

class ApiTransport {
 public:
  virtual ~ApiTransport() = default;

  // GET `path_and_query` ("/api/v1/services?limit=500"). Any HTTP answer,
  // 2xx or not, is returned with its status and body: what a 403 or a 410
  // means is the caller's business. An error means no answer: connection
  // refused, TLS verification failed, timed out, cancelled (Unavailable,
  // DeadlineExceeded or Cancelled, with what failed and the server's URL).
  virtual absl::StatusOr<ApiResponse> Get(
      const std::string& path_and_query) = 0;

  // GET `path_and_query` as a stream: while the answer is 2xx, `on_line` is
  // called with each complete line of the body as it arrives (without the
  // line end; empty lines are skipped). Returning false from `on_line` ends
  // the request. Returns when the server ends the body, `on_line` says
  // stop, or Cancel() is called; a connection that dies mid-body is an
  // error (Unavailable) even after lines were delivered.
  virtual absl::StatusOr<ApiResponse> Watch(
      const std::string& path_and_query,
      absl::FunctionRef<bool(absl::string_view line)> on_line) = 0;

  // Ends any request in progress, from any thread, within about 100 ms, and
  // makes every later request fail with Cancelled. For shutdown.
  virtual void Cancel() = 0;

  // The server's URL, for messages ("https://10.0.0.1:6443").
  virtual std::string server() const = 0;
};

}  // namespace switchyard::kube

#endif  // SWITCHYARD_CONTROL_KUBE_API_TRANSPORT_H_
