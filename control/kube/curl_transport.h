// SPDX-License-Identifier: Apache-2.0
// ApiTransport over libcurl: HTTPS/1.1 to one API server, TLS always
// verified, the bearer token (kept current with its file) on every request.
// The only file that includes curl.h.
//
// Timeouts. Connecting (TCP and TLS) may take 10 s. A Get may take 60 s in
// all. A Watch has no overall limit (the caller bounds it with
// `timeoutSeconds` in the query, as client-go does); instead a stream that
// stalls is ended: TCP keepalive (idle 30 s, then every 10 s; the kernel's
// 9 probes make about 2 minutes) finds a peer that is gone, and less than
// 1 byte/s for 120 s ends the watch as Unavailable ("... (watch stalled)").
// libcurl averages the speed over its last 5 s, so the end comes up to 5 s
// after that. 120 s is safe because a live watch is never that quiet: the
// API server sends a BOOKMARK about once a minute to a client that asked
// for them (allowWatchBookmarks=true), and ends the watch itself at
// timeoutSeconds.
//
// Threads. One CurlTransport may be used from several threads at once
// (a list on one while watches run on others): every request runs on its
// own curl handles, taken from a small pool of idle ones so that a list's
// pages reuse one connection. Cancel() may be called from any thread;
// the transport may be destroyed once every request has returned.
//
// Proxies from the environment (https_proxy) are not used: the API server
// is reached directly, as the node's other components reach it, and a
// proxy variable inherited by a DaemonSet is more often a surprise than a
// wish.
#ifndef SWITCHYARD_CONTROL_KUBE_CURL_TRANSPORT_H_
#define SWITCHYARD_CONTROL_KUBE_CURL_TRANSPORT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/kube/api_transport.h"
#include "control/kube/bearer_token.h"
#include "control/kube/kube_config.h"

namespace switchyard::kube {

struct CurlTransportOptions {
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration get_timeout = absl::Seconds(60);
  // A watch that receives less than 1 byte per second for this long ends
  // (Unavailable). Whole seconds (libcurl's unit), at least 1.
  absl::Duration watch_stall_timeout = absl::Seconds(120);
  absl::Duration keepalive_idle = absl::Seconds(30);
  absl::Duration keepalive_interval = absl::Seconds(10);
  // How often the token file is looked at (see BearerToken).
  absl::Duration token_check_interval = absl::Seconds(1);
  // A Get body, or one line of a watch, larger than this ends the request
  // (ResourceExhausted): the caller pages lists (`limit`), so only a
  // broken or hostile server sends this much.
  size_t max_body_bytes = size_t{256} << 20;
};

class CurlTransport final : public ApiTransport {
 public:
  // Checks `config` (https:// server, certificate and key both or neither,
  // a readable token file) and initialises libcurl once per process. Opens
  // no connection: the first request does.
  static absl::StatusOr<std::unique_ptr<CurlTransport>> Create(
      const ApiServerConfig& config, CurlTransportOptions options = {});
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  absl::StatusOr<ApiResponse> Get(const std::string& path_and_query) override;
  absl::StatusOr<ApiResponse> Watch(
      const std::string& path_and_query,
      absl::FunctionRef<bool(absl::string_view line)> on_line) override;
  void Cancel() override;
  std::string server() const override { return config_.server; }

 private:
  struct Handles;  // a curl multi handle and its one easy handle
  struct Request;  // one request's state, seen by curl's callbacks

  // curl's callbacks (CURLOPT_WRITEFUNCTION, CURLOPT_XFERINFOFUNCTION);
  // `user` is the Request.
  static size_t OnBody(char* data, size_t size, size_t count, void* user);
  static int OnProgress(void* user, int64_t, int64_t, int64_t, int64_t);

  CurlTransport(ApiServerConfig config, CurlTransportOptions options,
                std::unique_ptr<BearerToken> token);

  absl::StatusOr<ApiResponse> Perform(const std::string& path_and_query,
                                      Request& request);
  // Sets every option of one request on a freshly reset easy handle.
  absl::Status Configure(Handles& handles, const std::string& url,
                         Request& request);
  // Runs the transfer until it ends or Cancel() is called; curl's result.
  absl::Status Run(Handles& handles, const std::string& url, Request& request);

  std::unique_ptr<Handles> Acquire();
  void Release(std::unique_ptr<Handles> handles);

  const ApiServerConfig config_;
  const CurlTransportOptions options_;
  const std::unique_ptr<BearerToken> token_;  // null: no Authorization
  const std::string user_agent_;

  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::vector<std::unique_ptr<Handles>> idle_;  // guarded by mu_
  // Multi handles of requests in progress, woken by Cancel(); guarded by
  // mu_, which Cancel() holds while waking them so none is freed meanwhile.
  std::unordered_set<void*> running_;
};

}  // namespace switchyard::kube

#endif  // SWITCHYARD_CONTROL_KUBE_CURL_TRANSPORT_H_
