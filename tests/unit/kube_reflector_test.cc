// SPDX-License-Identifier: Apache-2.0
// The reflector's list/watch protocol against a scripted API server: what
// it asks for (paths, versions, continue tokens) and what it hands the
// sink, through pages, events, bookmarks, 410s and dropped connections.
#include <deque>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "control/kube/reflector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace switchyard::kube {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One scripted answer to a watch: lines, then how the stream ends.
struct Stream {
  std::vector<std::string> lines;
  absl::StatusOr<ApiResponse> end = ApiResponse{200, ""};
};

class ScriptedApi : public ApiTransport {
 public:
  void AddList(std::string body, int status = 200) {
    absl::MutexLock lock(&mu_);
    lists_.push_back({status, std::move(body)});
  }
  void AddWatch(Stream stream) {
    absl::MutexLock lock(&mu_);
    watches_.push_back(std::move(stream));
  }
  std::vector<std::string> paths() const {
    absl::MutexLock lock(&mu_);
    return paths_;
  }
  // Waits until `n` requests were made.
  bool WaitForRequests(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return paths_.size() >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(5));
  }

  absl::StatusOr<ApiResponse> Get(const std::string& path) override {
    absl::MutexLock lock(&mu_);
    paths_.push_back(path);
    if (lists_.empty()) return absl::UnavailableError("no list scripted");
    ApiResponse response = lists_.front();
    lists_.pop_front();
    return response;
  }

  absl::StatusOr<ApiResponse> Watch(
      const std::string& path,
      absl::FunctionRef<bool(absl::string_view)> on_line) override {
    Stream stream;
    {
      absl::MutexLock lock(&mu_);
      paths_.push_back(path);
      // Nothing scripted: hang like a quiet watch until cancelled.
      mu_.Await(absl::Condition(
          +[](ScriptedApi* a) { return !a->watches_.empty() || a->cancelled_; },
          this));
      if (cancelled_) return absl::CancelledError("cancelled");
      stream = std::move(watches_.front());
      watches_.pop_front();
    }
    for (const std::string& line : stream.lines) {
      if (!on_line(line)) return ApiResponse{200, ""};
    }
    return stream.end;
  }

  void Cancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }
  std::string server() const override { return "https://api.test:6443"; }

 private:
  mutable absl::Mutex mu_;
  std::deque<ApiResponse> lists_ ABSL_GUARDED_BY(mu_);
  std::deque<Stream> watches_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> paths_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

// Records what the reflector hands on, as short strings.
class RecordingSink : public StateSink {
 public:
  void Replace(v1::Kind, std::vector<Converted> items) override {
    std::string names;
    for (const Converted& item : items) {
      absl::StrAppend(&names, names.empty() ? "" : ",", item.ref.name());
    }
    Add(absl::StrCat("replace ", names));
  }
  void Upsert(Converted item) override {
    Add(absl::StrCat("upsert ", item.ref.name(),
                     item.object.has_value() ? "" : " (unserved)"));
  }
  void Remove(const v1::ObjectRef& ref) override {
    Add(absl::StrCat("remove ", ref.name()));
  }
  std::vector<std::string> calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  bool WaitForCalls(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&] { return calls_.size() >= n; };
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (!enough() && absl::Now() < deadline) {
      mu_.AwaitWithDeadline(absl::Condition(&enough), deadline);
    }
    return enough();
  }

 private:
  void Add(std::string call) {
    absl::MutexLock lock(&mu_);
    calls_.push_back(std::move(call));
  }
  mutable absl::Mutex mu_;
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
};

std::string ServiceList(absl::string_view version, absl::string_view cont,
                        std::vector<std::string> names) {
  std::string items;
  for (const std::string& name : names) {
    absl::StrAppend(
        &items, items.empty() ? "" : ",", R"({"metadata":{"name":")", name,
        R"(","namespace":"default","resourceVersion":"1"},"spec":{"clusterIP":"10.96.0.9","ports":[{"port":80}]}})");
  }
  return absl::StrCat(
      R"({"kind":"ServiceList","metadata":{"resourceVersion":")", version,
      R"(","continue":")", cont, R"("},"items":[)", items, "]}");
}

std::string Event(absl::string_view type, absl::string_view name,
                  absl::string_view version) {
  return absl::StrCat(
      R"({"type":")", type,
      R"(","object":{"kind":"Service","metadata":{"name":")", name,
      R"(","namespace":"default","resourceVersion":")", version,
      R"("},"spec":{"clusterIP":"10.96.0.9","ports":[{"port":80}]}}})");
}

std::string Bookmark(absl::string_view version) {
  return absl::StrCat(
      R"({"type":"BOOKMARK","object":{"kind":"Service","metadata":{"resourceVersion":")",
      version, R"("}}})");
}

constexpr char kGone[] =
    R"j({"type":"ERROR","object":{"kind":"Status","status":"Failure","message":"too old resource version: 20 (30)","reason":"Expired","code":410}})j";

ReflectorOptions FastOptions() {
  ReflectorOptions options;
  options.page_size = 2;
  options.backoff_initial = absl::Milliseconds(5);
  options.backoff_max = absl::Milliseconds(20);
  options.seed = 7;
  return options;
}

// Runs a reflector for services on a thread, stopping it at scope exit.
class Running {
 public:
  Running(ScriptedApi& api, RecordingSink& sink, ServingRules rules = {})
      : api_(api),
        reflector_(kResources[0], &api, &sink, std::move(rules), FastOptions()),
        thread_([this] { reflector_.Run(); }) {}
  ~Running() {
    reflector_.Stop();
    api_.Cancel();
    thread_.join();
  }
  Reflector& reflector() { return reflector_; }

 private:
  ScriptedApi& api_;
  Reflector reflector_;
  std::thread thread_;
};

TEST(Reflector, ListsEveryPageThenWatchesFromTheListVersion) {
  ScriptedApi api;
  RecordingSink sink;
  api.AddList(ServiceList("", "tok+1/=", {"a", "b"}));
  api.AddList(ServiceList("20", "", {"c"}));
  api.AddWatch({{Event("ADDED", "d", "21"), Event("MODIFIED", "a", "22"),
                 Event("DELETED", "b", "23"), Bookmark("30")}});
  Running running(api, sink);
  ASSERT_TRUE(api.WaitForRequests(4));
  ASSERT_TRUE(sink.WaitForCalls(4));
  EXPECT_THAT(sink.calls(),
              ElementsAre("replace a,b,c", "upsert d", "upsert a", "remove b"));
  std::vector<std::string> paths = api.paths();
  EXPECT_EQ(paths[0], "/api/v1/services?limit=2");
  EXPECT_EQ(paths[1], "/api/v1/services?limit=2&continue=tok%2B1%2F%3D")
      << "continue tokens are escaped";
  EXPECT_THAT(paths[2], HasSubstr("watch=true&allowWatchBookmarks=true"
                                  "&resourceVersion=20&timeoutSeconds="));
  // The first stream ended cleanly after its bookmark: the next watch
  // resumes from the bookmark's version, not the list's.
  EXPECT_THAT(paths[3], HasSubstr("resourceVersion=30&"));
  ReflectorStats stats = running.reflector().stats();
  EXPECT_TRUE(stats.synced);
  EXPECT_EQ(stats.events, 3u);
  EXPECT_EQ(stats.bookmarks, 1u);
  EXPECT_EQ(stats.lists, 1u);
}

TEST(Reflector, DroppedWatchResumesFromTheLastEvent) {
  ScriptedApi api;
  RecordingSink sink;
  api.AddList(ServiceList("10", "", {"a"}));
  api.AddWatch({{Event("ADDED", "b", "11")},
                absl::UnavailableError("connection reset")});
  Running running(api, sink);
  ASSERT_TRUE(api.WaitForRequests(3));
  std::vector<std::string> paths = api.paths();
  EXPECT_THAT(paths[2], HasSubstr("resourceVersion=11&"));
  EXPECT_EQ(running.reflector().stats().lists, 1u) << "no relist needed";
  EXPECT_THAT(running.reflector().stats().last_error,
              HasSubstr("connection reset"));
}

TEST(Reflector, GoneEventMeansListAgainAndReplace) {
  ScriptedApi api;
  RecordingSink sink;
  api.AddList(ServiceList("20", "", {"a", "b"}));
  api.AddWatch({{kGone, Event("ADDED", "never", "99")}});
  api.AddList(ServiceList("40", "", {"a", "c"}));
  Running running(api, sink);
  ASSERT_TRUE(api.WaitForRequests(4));
  ASSERT_TRUE(sink.WaitForCalls(2));
  // Nothing after the ERROR is applied; the relist carries the whole set,
  // from which the store takes the difference (b gone, c new).
  EXPECT_THAT(sink.calls(), ElementsAre("replace a,b", "replace a,c"));
  EXPECT_THAT(api.paths()[3], HasSubstr("resourceVersion=40&"));
  EXPECT_EQ(running.reflector().stats().relists, 1u);
}

TEST(Reflector, GoneAsHttpStatusAlsoRelists) {
  ScriptedApi api;
  RecordingSink sink;
  api.AddList(ServiceList("20", "", {"a"}));
  api.AddWatch({{}, ApiResponse{410, R"({"kind":"Status","code":410})"}});
  api.AddList(ServiceList("41", "", {"a"}));
  Running running(api, sink);
  ASSERT_TRUE(api.WaitForRequests(4));
  EXPECT_THAT(api.paths()[1], HasSubstr("watch=true"));
  EXPECT_EQ(api.paths()[2], "/api/v1/services?limit=2");
  EXPECT_THAT(api.paths()[3], HasSubstr("resourceVersion=41&"));
}

TEST(Reflector, ExpiredContinueTokenRestartsWithOneWholeList) {
  ScriptedApi api;
  RecordingSink sink;
  api.AddList(ServiceList("", "page2", {"a", "b"}));
  api.AddList(R"({"kind":"Status","code":410,"reason":"Expired"})", 410);
  api.AddList(ServiceList("50", "", {"a", "b", "c"}));
  Running running(api, sink);
  ASSERT_TRUE(api.WaitForRequests(4));
  ASSERT_TRUE(sink.WaitForCalls(1));
  EXPECT_EQ(api.paths()[2], "/api/v1/services");
  EXPECT_THAT(sink.calls(), ElementsAre("replace a,b,c"))
      << "the pages of the expired list are not mixed in";
}

TEST(Reflector, FailedListBacksOffAndTriesAgain) {
  ScriptedApi api;
  RecordingSink sink;
  api.AddList(
      R"({"kind":"Status","code":403,"reason":"Forbidden","message":"services is forbidden"})",
      403);
  api.AddList(ServiceList("5", "", {"a"}));
  Running running(api, sink);
  ASSERT_TRUE(sink.WaitForCalls(1));
  ReflectorStats stats = running.reflector().stats();
  EXPECT_EQ(stats.failures, 1u);
  EXPECT_THAT(stats.last_error, HasSubstr("HTTP 403 Forbidden"));
  EXPECT_THAT(stats.last_error, HasSubstr("https://api.test:6443"));
}

TEST(Reflector, UndecodableEventIsNotSkipped) {
  ScriptedApi api;
  RecordingSink sink;
  api.AddList(ServiceList("10", "", {}));
  api.AddWatch(
      {{Event("ADDED", "a", "11"), "garbage", Event("ADDED", "b", "12")}});
  Running running(api, sink);
  ASSERT_TRUE(api.WaitForRequests(3));
  // Skipping the bad line would lose whatever it said; the next watch
  // starts again right after the last good event.
  EXPECT_THAT(api.paths()[2], HasSubstr("resourceVersion=11&"));
  EXPECT_THAT(sink.calls(), ElementsAre("replace ", "upsert a"));
}

TEST(Reflector, UnservedObjectIsHandedOnSoItsOldVersionGoes) {
  ScriptedApi api;
  RecordingSink sink;
  api.AddList(ServiceList("10", "", {"a"}));
  api.AddWatch(
      {{R"({"type":"MODIFIED","object":{"metadata":{"name":"a","namespace":"default","resourceVersion":"12","labels":{"service.kubernetes.io/service-proxy-name":"other"}},"spec":{"clusterIP":"10.96.0.9"}}})"}});
  Running running(api, sink);
  ASSERT_TRUE(sink.WaitForCalls(2));
  EXPECT_THAT(sink.calls(), ElementsAre("replace a", "upsert a (unserved)"));
}

TEST(Reflector, StopEndsAHangingWatch) {
  ScriptedApi api;
  RecordingSink sink;
  api.AddList(ServiceList("10", "", {}));
  absl::Time start;
  {
    Running running(api, sink);
    ASSERT_TRUE(api.WaitForRequests(2));
    start = absl::Now();
  }
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
}

}  // namespace
}  // namespace switchyard::kube
