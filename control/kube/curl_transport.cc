// SPDX-License-Identifier: Apache-2.0
#include "control/kube/curl_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/kube/line_splitter.h"

// CURLOPT_CAINFO_BLOB (7.77) is the newest option used; Debian 12 has 7.88.
#if LIBCURL_VERSION_NUM < 0x074d00
#error "libcurl 7.77 or later is needed (CURLOPT_CAINFO_BLOB)"
#endif

// The callbacks are declared in the header without curl.h.
static_assert(std::is_same_v<curl_off_t, int64_t>);

#ifndef YARD_VERSION
#define YARD_VERSION "dev"
#endif

namespace switchyard::kube {
namespace {

// Idle handles kept for reuse: enough for the three watches and a list
// running at once; more would only hold connections open.
constexpr size_t kMaxIdleHandles = 4;

// How long one wait for the socket may last when nothing happens. Cancel()
// wakes the wait at once, so this only bounds a missed wakeup.
constexpr int kPollMillis = 1000;

// libcurl's global state, set up once per process whoever asks first. Its
// documentation requires this before any other call when threads are in
// play; it is never torn down (the process ending does that).
absl::Status InitCurlOnce() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("curl_global_init: ", curl_easy_strerror(result)));
  }
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  if ((info->features & CURL_VERSION_SSL) == 0) {
    return absl::FailedPreconditionError(
        "this libcurl has no TLS support; the API server needs it");
  }
  return absl::OkStatus();
}

bool Is2xx(long status) { return status >= 200 && status < 300; }

long Seconds(absl::Duration d) {
  return std::max<long>(1, static_cast<long>(absl::ToInt64Seconds(d)));
}

curl_blob Blob(const std::string& pem) {
  curl_blob blob;
  blob.data = const_cast<char*>(pem.data());
  blob.len = pem.size();
  blob.flags = CURL_BLOB_COPY;
  return blob;
}

}  // namespace

struct CurlTransport::Handles {
  Handles() : multi(curl_multi_init()), easy(curl_easy_init()) {}
  ~Handles() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
  }
  Handles(const Handles&) = delete;
  Handles& operator=(const Handles&) = delete;

  // The multi handle holds the connection cache: kept with its easy handle
  // so that the next request through them reuses the connection.
  CURLM* multi;
  CURL* easy;
};

struct CurlTransport::Request {
  explicit Request(size_t max_bytes) : max_bytes(max_bytes) {}
  ~Request() { curl_slist_free_all(headers); }
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  // Set for Watch: where a 2xx body's lines go.
  std::optional<absl::FunctionRef<bool(absl::string_view)>> on_line;
  const size_t max_bytes;
  CURL* easy = nullptr;
  const std::atomic<bool>* cancelled = nullptr;
  curl_slist* headers = nullptr;

  long http_status = 0;  // known from the first byte of the body
  std::string body;      // Get's body, or a watch's non-2xx body
  LineSplitter lines;
  bool stopped_by_caller = false;
  bool too_large = false;
  char error[CURL_ERROR_SIZE] = {};
};

// CURLOPT_WRITEFUNCTION. Returning less than `size` ends the transfer
// (CURLE_WRITE_ERROR); the flags in Request say why.
size_t CurlTransport::OnBody(char* data, size_t size, size_t count,
                             void* user) {
  auto* request = static_cast<Request*>(user);
  size *= count;  // libcurl passes bytes as 1 × count
  absl::string_view piece(data, size);
  if (request->http_status == 0) {
    curl_easy_getinfo(request->easy, CURLINFO_RESPONSE_CODE,
                      &request->http_status);
  }
  if (request->on_line.has_value() && Is2xx(request->http_status)) {
    if (!request->lines.Feed(piece, *request->on_line)) {
      request->stopped_by_caller = true;
      return 0;
    }
    if (request->lines.pending_size() > request->max_bytes) {
      request->too_large = true;
      return 0;
    }
    return size;
  }
  if (request->body.size() + size > request->max_bytes) {
    request->too_large = true;
    return 0;
  }
  request->body.append(piece.data(), piece.size());
  return size;
}

// CURLOPT_XFERINFOFUNCTION: called often while a transfer moves, and from
// each turn of Run()'s loop. Non-zero aborts (CURLE_ABORTED_BY_CALLBACK).
int CurlTransport::OnProgress(void* user, int64_t, int64_t, int64_t, int64_t) {
  auto* request = static_cast<Request*>(user);
  return request->cancelled->load(std::memory_order_relaxed) ? 1 : 0;
}

absl::StatusOr<std::unique_ptr<CurlTransport>> CurlTransport::Create(
    const ApiServerConfig& config, CurlTransportOptions options) {
  if (!absl::StartsWith(config.server, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("API server \"", config.server,
                     "\" is not an https:// URL; TLS is always used"));
  }
  for (const PemSource* pem :
       {&config.certificate_authority, &config.client_certificate,
        &config.client_key}) {
    if (!pem->file.empty() && !pem->pem.empty()) {
      return absl::InvalidArgumentError(
          "a certificate or key given both as a file and inline");
    }
  }
  if (config.client_certificate.empty() != config.client_key.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate needs its key, and a key its certificate");
  }
  std::unique_ptr<BearerToken> token;
  if (!config.token_file.empty()) {
    BearerToken::Options token_options;
    token_options.check_interval = options.token_check_interval;
    absl::StatusOr<std::unique_ptr<BearerToken>> from_file =
        BearerToken::FromFile(config.token_file, std::move(token_options));
    if (!from_file.ok()) return from_file.status();
    token = *std::move(from_file);
  } else if (!config.token.empty()) {
    if (absl::Status s = CheckToken(config.token); !s.ok()) return s;
    token = BearerToken::Fixed(config.token);
  }
  if (absl::Status s = InitCurlOnce(); !s.ok()) return s;
  return std::unique_ptr<CurlTransport>(
      new CurlTransport(config, options, std::move(token)));
}

CurlTransport::CurlTransport(ApiServerConfig config,
                             CurlTransportOptions options,
                             std::unique_ptr<BearerToken> token)
    : config_(std::move(config)),
      options_(options),
      token_(std::move(token)),
      user_agent_(absl::StrCat("yard-controller/", YARD_VERSION)) {}

CurlTransport::~CurlTransport() = default;

absl::StatusOr<ApiResponse> CurlTransport::Get(
    const std::string& path_and_query) {
  Request request(options_.max_body_bytes);
  return Perform(path_and_query, request);
}

absl::StatusOr<ApiResponse> CurlTransport::Watch(
    const std::string& path_and_query,
    absl::FunctionRef<bool(absl::string_view line)> on_line) {
  Request request(options_.max_body_bytes);
  request.on_line.emplace(on_line);
  return Perform(path_and_query, request);
}

void CurlTransport::Cancel() {
  cancelled_.store(true);
  std::lock_guard<std::mutex> lock(mu_);
  for (void* multi : running_) curl_multi_wakeup(static_cast<CURLM*>(multi));
  idle_.clear();
}

std::unique_ptr<CurlTransport::Handles> CurlTransport::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<Handles> handles = std::move(idle_.back());
      idle_.pop_back();
      return handles;
    }
  }
  auto handles = std::make_unique<Handles>();
  if (handles->multi == nullptr || handles->easy == nullptr) return nullptr;
  return handles;
}

void CurlTransport::Release(std::unique_ptr<Handles> handles) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!cancelled_.load() && idle_.size() < kMaxIdleHandles) {
    idle_.push_back(std::move(handles));
  }
}

absl::Status CurlTransport::Configure(Handles& handles, const std::string& url,
                                      Request& request) {
  CURL* easy = handles.easy;
  // Forgets the last request's options but keeps the connection cache.
  curl_easy_reset(easy);
  request.easy = easy;
  request.cancelled = &cancelled_;

  CURLcode rc = CURLE_OK;
  auto check = [&rc](CURLcode code) {
    if (rc == CURLE_OK) rc = code;
  };
  check(curl_easy_setopt(easy, CURLOPT_URL, url.c_str()));
  check(curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https"));
  check(curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1));
  // Threads: no SIGALRM for DNS timeouts, which is process-wide.
  check(curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L));
  check(curl_easy_setopt(easy, CURLOPT_PROXY, ""));
  check(curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, request.error));
  check(curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody));
  check(curl_easy_setopt(easy, CURLOPT_WRITEDATA, &request));
  check(curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L));
  check(curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, OnProgress));
  check(curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &request));
  check(curl_easy_setopt(
      easy, CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout))));
  check(curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L));
  check(curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE,
                         Seconds(options_.keepalive_idle)));
  check(curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL,
                         Seconds(options_.keepalive_interval)));

  // TLS, verified. A given CA replaces the system's trust store instead of
  // adding to it: CAPATH would otherwise still add /etc/ssl/certs.
  check(curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L));
  check(curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L));
  check(curl_easy_setopt(easy, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2));
  const PemSource& ca = config_.certificate_authority;
  if (!ca.file.empty()) {
    check(curl_easy_setopt(easy, CURLOPT_CAINFO, ca.file.c_str()));
    check(curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr));
#if LIBCURL_VERSION_NUM >= 0x075700
    // libcurl 7.87 keeps a parsed CA file for 24 h per multi handle, and
    // pooled handles live that long: read it at each new connection
    // instead, so a CA bundle replaced on disk is trusted from then on.
    check(curl_easy_setopt(easy, CURLOPT_CA_CACHE_TIMEOUT, 0L));
#endif
  } else if (!ca.pem.empty()) {
    curl_blob blob = Blob(ca.pem);
    check(curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob));
    check(curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr));
  }
  const PemSource& cert = config_.client_certificate;
  const PemSource& key = config_.client_key;
  if (!cert.empty()) {
    check(curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM"));
    check(curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM"));
    if (!cert.file.empty()) {
      check(curl_easy_setopt(easy, CURLOPT_SSLCERT, cert.file.c_str()));
    } else {
      curl_blob blob = Blob(cert.pem);
      check(curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &blob));
    }
    if (!key.file.empty()) {
      check(curl_easy_setopt(easy, CURLOPT_SSLKEY, key.file.c_str()));
    } else {
      curl_blob blob = Blob(key.pem);
      check(curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &blob));
    }
  }

  request.headers =
      curl_slist_append(request.headers, "Accept: application/json");
  if (token_ != nullptr) {
    std::string authorization =
        absl::StrCat("Authorization: Bearer ", token_->Current());
    request.headers = curl_slist_append(request.headers, authorization.c_str());
  }
  check(curl_easy_setopt(easy, CURLOPT_HTTPHEADER, request.headers));
  check(curl_easy_setopt(easy, CURLOPT_USERAGENT, user_agent_.c_str()));

  if (request.on_line.has_value()) {
    check(curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L));
    check(curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME,
                           Seconds(options_.watch_stall_timeout)));
  } else {
    check(curl_easy_setopt(
        easy, CURLOPT_TIMEOUT_MS,
        static_cast<long>(absl::ToInt64Milliseconds(options_.get_timeout))));
    // Lists of many objects compress well; the API server gzips large
    // answers when asked. Watches it never compresses.
    check(curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, ""));
  }
  if (rc != CURLE_OK || request.headers == nullptr) {
    return absl::InternalError(absl::StrCat(
        url, ": setting up the request: ",
        rc != CURLE_OK ? curl_easy_strerror(rc) : "out of memory"));
  }
  return absl::OkStatus();
}

absl::Status CurlTransport::Run(Handles& handles, const std::string& url,
                                Request& request) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Checked under the lock Cancel() takes: either Cancel() sees this
    // request in running_ and wakes it, or this sees cancelled_.
    if (cancelled_.load()) return absl::CancelledError(url + ": cancelled");
    running_.insert(handles.multi);
  }
  CURLMcode multi_code = curl_multi_add_handle(handles.multi, handles.easy);
  std::optional<CURLcode> result;
  while (multi_code == CURLM_OK) {
    int still_running = 0;
    multi_code = curl_multi_perform(handles.multi, &still_running);
    if (multi_code != CURLM_OK) break;
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(handles.multi, &queued)) {
      if (message->msg == CURLMSG_DONE) result = message->data.result;
    }
    if (result.has_value()) break;
    if (cancelled_.load()) {
      result = CURLE_ABORTED_BY_CALLBACK;
      break;
    }
    multi_code =
        curl_multi_poll(handles.multi, nullptr, 0, kPollMillis, nullptr);
  }
  // Mid-transfer, this closes the connection rather than reuse it.
  curl_multi_remove_handle(handles.multi, handles.easy);
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_.erase(handles.multi);
  }

  if (multi_code != CURLM_OK) {
    return absl::InternalError(
        absl::StrCat(url, ": ", curl_multi_strerror(multi_code)));
  }
  if (*result == CURLE_OK) return absl::OkStatus();
  if (request.stopped_by_caller) return absl::OkStatus();
  if (*result == CURLE_ABORTED_BY_CALLBACK && cancelled_.load()) {
    return absl::CancelledError(url + ": cancelled");
  }
  if (request.too_large) {
    return absl::ResourceExhaustedError(absl::StrCat(
        url, ": ",
        request.on_line.has_value() ? "a watch event line" : "the answer",
        " is larger than ", options_.max_body_bytes, " bytes"));
  }
  std::string text = request.error[0] != '\0' ? std::string(request.error)
                                              : curl_easy_strerror(*result);
  std::string message = absl::StrCat(url, ": ", text);
  // libcurl's text for a failed connect says "Couldn't connect to server"
  // whatever the cause; the errno tells refused from unreachable.
  long os_errno = 0;
  if (*result == CURLE_COULDNT_CONNECT &&
      curl_easy_getinfo(handles.easy, CURLINFO_OS_ERRNO, &os_errno) ==
          CURLE_OK &&
      os_errno != 0) {
    absl::StrAppend(&message, " (", std::strerror(static_cast<int>(os_errno)),
                    ")");
  }
  if (*result == CURLE_OPERATION_TIMEDOUT) {
    // A Get has a deadline; a watch has none, so what timed out there is a
    // connection that stalled or could not be made: try again.
    if (!request.on_line.has_value()) {
      return absl::DeadlineExceededError(message);
    }
    long status = 0;
    curl_easy_getinfo(handles.easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 0) absl::StrAppend(&message, " (watch stalled)");
  }
  return absl::UnavailableError(message);
}

absl::StatusOr<ApiResponse> CurlTransport::Perform(
    const std::string& path_and_query, Request& request) {
  if (!absl::StartsWith(path_and_query, "/")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request path \"", path_and_query, "\" does not start with /"));
  }
  std::string url = config_.server + path_and_query;
  if (cancelled_.load()) return absl::CancelledError(url + ": cancelled");
  std::unique_ptr<Handles> handles = Acquire();
  if (handles == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat(url, ": cannot allocate a curl handle"));
  }
  if (absl::Status s = Configure(*handles, url, request); !s.ok()) return s;
  if (absl::Status s = Run(*handles, url, request); !s.ok()) return s;

  ApiResponse response;
  curl_easy_getinfo(handles->easy, CURLINFO_RESPONSE_CODE,
                    &request.http_status);
  response.http_status = static_cast<int>(request.http_status);
  if (request.on_line.has_value() && Is2xx(request.http_status)) {
    // The body ended cleanly, so a last line without "\n" is whole.
    if (!request.stopped_by_caller) request.lines.Finish(*request.on_line);
  } else {
    response.body = std::move(request.body);
  }
  Release(std::move(handles));
  return response;
}

}  // namespace switchyard::kube
