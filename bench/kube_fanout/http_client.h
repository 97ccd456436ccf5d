// SPDX-License-Identifier: Apache-2.0
// A small libcurl client for the bench: the API-server stand-in's REST
// API (TLS verified against its CA, bearer token) and the controller's
// plain-HTTP metrics. One easy handle, so the connection is kept alive
// between requests and a timed write does not pay for a TLS handshake.
#ifndef SWITCHYARD_BENCH_KUBE_FANOUT_HTTP_CLIENT_H_
#define SWITCHYARD_BENCH_KUBE_FANOUT_HTTP_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace switchyard::bench {

struct HttpClientOptions {
  std::string base_url;  // https://127.0.0.1:PORT, or http://... for metrics
  std::string ca_file;   // empty: plain HTTP
  std::string token;     // empty: no Authorization header
};

class HttpClient {
 public:
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(
      HttpClientOptions options);
  ~HttpClient();

  // The response body of a 2xx answer; any other status is an error that
  // quotes the body.
  absl::StatusOr<std::string> Get(const std::string& path);
  // JSON merge patch, as `kubectl patch --type=merge` sends.
  absl::StatusOr<std::string> MergePatch(const std::string& path,
                                         const std::string& body);

 private:
  HttpClient(HttpClientOptions options, void* curl);
  absl::StatusOr<std::string> Perform(const std::string& method,
                                      const std::string& path,
                                      const std::string* body,
                                      const char* content_type);

  const HttpClientOptions options_;
  void* const curl_;  // CURL*, kept out of this header
};

}  // namespace switchyard::bench

#endif  // SWITCHYARD_BENCH_KUBE_FANOUT_HTTP_CLIENT_H_
