// SPDX-License-Identifier: Apache-2.0
#include "control/kube/reflector.h"

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "control/common/backoff.h"
#include "control/common/log.h"
#include "control/kube/api_decode.h"
#include "control/kube/query.h"

namespace switchyard::kube {

Reflector::Reflector(const Resource& resource, ApiTransport* transport,
                     StateSink* sink, ServingRules rules,
                     ReflectorOptions options)
    : resource_(resource),
      transport_(transport),
      sink_(sink),
      rules_(std::move(rules)),
      options_(options) {}

void Reflector::Stop() {
  absl::MutexLock lock(&mu_);
  if (!stop_.HasBeenNotified()) stop_.Notify();
}

ReflectorStats Reflector::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

std::string Reflector::resource_version() const {
  absl::MutexLock lock(&mu_);
  return stats_.resource_version;
}

void Reflector::Failed(const absl::Status& status) {
  LOG(WARNING) << "kubernetes " << resource_.plural << ": " << status.message();
  absl::MutexLock lock(&mu_);
  ++stats_.failures;
  stats_.last_error = std::string(status.message());
}

void Reflector::Run() {
  uint32_t seed = options_.seed != 0 ? options_.seed : std::random_device{}();
  Backoff backoff(options_.backoff_initial, options_.backoff_max, seed);
  bool need_list = true;
  while (!stop_.HasBeenNotified()) {
    if (need_list) {
      if (absl::Status s = List(); !s.ok()) {
        Failed(s);
        stop_.WaitForNotificationWithTimeout(backoff.Next());
        continue;
      }
      need_list = false;
      backoff.Reset();
    }
    uint64_t seen_before = 0;
    {
      absl::MutexLock lock(&mu_);
      seen_before = stats_.events + stats_.bookmarks;
    }
    absl::StatusOr<WatchEnd> end = Watch();
    if (stop_.HasBeenNotified()) break;
    bool progress = false;
    {
      absl::MutexLock lock(&mu_);
      progress = stats_.events + stats_.bookmarks > seen_before;
    }
    if (!end.ok()) {
      Failed(end.status());
    } else if (*end == WatchEnd::kRelist) {
      LOG(INFO) << "kubernetes " << resource_.plural << ": version "
                << resource_version()
                << " is too old for the API server (410 Gone): listing again";
      absl::MutexLock lock(&mu_);
      ++stats_.relists;
      need_list = true;
      continue;  // at once: the state is already as old as it can be
    }
    if (progress) {
      backoff.Reset();
      if (end.ok()) continue;  // a watch that ran its time: resume at once
    }
    // A watch that failed, or ended without a single event: wait before the
    // next, so a server that closes at once is not hammered.
    stop_.WaitForNotificationWithTimeout(backoff.Next());
  }
}

absl::Status Reflector::List() {
  std::vector<Converted> all;
  std::string continue_token;
  std::string version;
  bool paged = true;
  while (true) {
    std::string path = std::string(resource_.collection_path);
    if (paged) {
      absl::StrAppend(&path, "?limit=", options_.page_size);
      if (!continue_token.empty()) {
        absl::StrAppend(&path, "&continue=", QueryEscape(continue_token));
      }
    }
    absl::StatusOr<ApiResponse> response = transport_->Get(path);
    if (!response.ok()) return response.status();
    if (response->http_status == 410 && !continue_token.empty()) {
      // The continue token outlived the API server's history: the pages
      // already read are from a version that is gone. Read it all at once.
      LOG(INFO) << "kubernetes " << resource_.plural
                << ": list continuation expired; listing without pages";
      all.clear();
      continue_token.clear();
      paged = false;
      continue;
    }
    if (response->http_status != 200) {
      return absl::UnavailableError(
          absl::StrCat("list ", transport_->server(), path, ": ",
                       DescribeFailure(response->http_status, response->body)));
    }
    absl::StatusOr<ListPage> page =
        DecodeList(resource_.kind, response->body, rules_);
    if (!page.ok()) return page.status();
    for (Converted& item : page->items) all.push_back(std::move(item));
    if (page->continue_token.empty() || !paged) {
      version = page->resource_version;
      break;
    }
    continue_token = page->continue_token;
  }
  {
    // Counted before the sink acts on it, so whoever the sink wakes sees
    // this list in the stats.
    absl::MutexLock lock(&mu_);
    if (!stats_.synced) {
      LOG(INFO) << "kubernetes " << resource_.plural << ": listed "
                << all.size() << " at version " << version;
    }
    stats_.synced = true;
    stats_.resource_version = version;
    ++stats_.lists;
  }
  sink_->Replace(resource_.kind, std::move(all));
  return absl::OkStatus();
}

absl::StatusOr<Reflector::WatchEnd> Reflector::OnLine(absl::string_view line,
                                                      bool& stop) {
  absl::StatusOr<WatchEvent> event =
      DecodeWatchEvent(resource_.kind, line, rules_);
  if (!event.ok()) return event.status();
  switch (event->type) {
    case WatchEvent::Type::kError:
      if (event->error_code == 410) return WatchEnd::kRelist;
      return absl::UnavailableError(absl::StrCat(
          "watch ERROR event ", event->error_code, ": ", event->error_message));
    case WatchEvent::Type::kBookmark: {
      absl::MutexLock lock(&mu_);
      ++stats_.bookmarks;
      stats_.resource_version = event->resource_version;
      break;
    }
    case WatchEvent::Type::kAdded:
    case WatchEvent::Type::kModified:
    case WatchEvent::Type::kDeleted: {
      if (event->type == WatchEvent::Type::kDeleted) {
        sink_->Remove(event->item.ref);
      } else {
        sink_->Upsert(std::move(event->item));
      }
      absl::MutexLock lock(&mu_);
      ++stats_.events;
      stats_.resource_version = event->resource_version;
      break;
    }
  }
  stop = stop_.HasBeenNotified();
  return WatchEnd::kResume;
}

absl::StatusOr<Reflector::WatchEnd> Reflector::Watch() {
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> spread(1.0, 2.0);
  int64_t timeout_seconds = static_cast<int64_t>(
      absl::ToDoubleSeconds(options_.watch_timeout) * spread(rng));
  std::string path = absl::StrCat(
      resource_.collection_path, "?watch=true&allowWatchBookmarks=true",
      "&resourceVersion=", QueryEscape(resource_version()),
      "&timeoutSeconds=", std::max<int64_t>(timeout_seconds, 1));
  {
    absl::MutexLock lock(&mu_);
    ++stats_.watches;
  }
  WatchEnd end = WatchEnd::kResume;
  absl::Status line_error;
  absl::StatusOr<ApiResponse> response =
      transport_->Watch(path, [&](absl::string_view line) {
        bool stop = false;
        absl::StatusOr<WatchEnd> result = OnLine(line, stop);
        if (!result.ok()) {
          line_error = result.status();
          return false;
        }
        end = *result;
        return end == WatchEnd::kResume && !stop;
      });
  if (!line_error.ok()) return line_error;
  if (end == WatchEnd::kRelist) return end;
  if (!response.ok()) return response.status();
  if (response->http_status == 410) return WatchEnd::kRelist;
  if (response->http_status != 200) {
    return absl::UnavailableError(
        absl::StrCat("watch ", transport_->server(), path, ": ",
                     DescribeFailure(response->http_status, response->body)));
  }
  return WatchEnd::kResume;
}

}  // namespace switchyard::kube
