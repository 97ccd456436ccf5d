// SPDX-License-Identifier: Apache-2.0
#include "bench/kube_fanout/http_client.h"

#include <curl/curl.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace switchyard::bench {
namespace {

size_t Collect(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(
    HttpClientOptions options) {
  // Idempotent and thread-unsafe only against itself; the bench calls it
  // from main's thread before anything else uses curl.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(options), curl));
}

HttpClient::HttpClient(HttpClientOptions options, void* curl)
    : options_(std::move(options)), curl_(curl) {}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

absl::StatusOr<std::string> HttpClient::Get(const std::string& path) {
  return Perform("GET", path, nullptr, nullptr);
}

absl::StatusOr<std::string> HttpClient::MergePatch(const std::string& path,
                                                   const std::string& body) {
  return Perform("PATCH", path, &body, "application/merge-patch+json");
}

absl::StatusOr<std::string> HttpClient::Perform(const std::string& method,
                                                const std::string& path,
                                                const std::string* body,
                                                const char* content_type) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);  // keeps the connection cache
  const std::string url = options_.base_url + path;
  std::string response;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: application/json");
  if (!options_.token.empty()) {
    headers = curl_slist_append(
        headers,
        absl::StrCat("Authorization: Bearer ", options_.token).c_str());
  }
  if (content_type != nullptr) {
    headers = curl_slist_append(
        headers, absl::StrCat("Content-Type: ", content_type).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (body != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body->size()));
  }
  if (!options_.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  // Small requests one at a time: Nagle would add its delay to the timed
  // write's answer.
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  if (code != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat(method, " ", url, ": ", curl_easy_strerror(code)));
  }
  if (status < 200 || status >= 300) {
    return absl::FailedPreconditionError(absl::StrCat(
        method, " ", url, ": HTTP ", status, ": ", response.substr(0, 400)));
  }
  return response;
}

}  // namespace switchyard::bench
