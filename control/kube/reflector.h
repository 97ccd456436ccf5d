// SPDX-License-Identifier: Apache-2.0
// Keeps one Kubernetes resource (Services, EndpointSlices or Nodes) in step
// with the API server, the way client-go's reflector does:
//   list (paged with limit/continue) -> the whole set, and its
//   resourceVersion -> watch from it with allowWatchBookmarks -> each event
//   and bookmark moves the version on -> a dropped watch resumes from the
//   last version -> 410 Gone (HTTP or an ERROR event) means that version is
//   compacted away: list again, and hand the sink the whole set, which it
//   turns into the difference.
// Failures back off with jitter (200 ms doubling to 30 s) and never end
// the loop: the controller keeps serving the last state it had.
//
// One Reflector per resource per controller, however many agents watch the
// controller: the API server sees three watches from each controller.
#ifndef SWITCHYARD_CONTROL_KUBE_REFLECTOR_H_
#define SWITCHYARD_CONTROL_KUBE_REFLECTOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "control/kube/api_transport.h"
#include "control/kube/kube_objects.h"
#include "control/kube/resources.h"

namespace switchyard::kube {

// Where a reflector's results go (the controller's store). Called from the
// reflector's thread only.
class StateSink {
 public:
  virtual ~StateSink() = default;
  // After a list: `items` are the whole of `kind` now; anything else of
  // that kind is gone. Items may be unserved (object unset).
  virtual void Replace(v1::Kind kind, std::vector<Converted> items) = 0;
  // An ADDED or MODIFIED object; an unserved one removes what was served.
  virtual void Upsert(Converted item) = 0;
  virtual void Remove(const v1::ObjectRef& ref) = 0;
};

struct ReflectorOptions {
  // Items per list page (the API server's `limit`).
  int page_size = 500;
  // Each watch asks the server to end it after a random time in
  // [watch_timeout, 2 * watch_timeout], so that controllers do not all
  // re-watch together and a silently stuck stream is replaced.
  absl::Duration watch_timeout = absl::Minutes(5);
  absl::Duration backoff_initial = absl::Milliseconds(200);
  absl::Duration backoff_max = absl::Seconds(30);
  uint32_t seed = 0;  // 0: random
};

struct ReflectorStats {
  bool synced = false;  // a first list has completed
  std::string resource_version;
  uint64_t lists = 0;    // completed lists (each of one or more pages)
  uint64_t relists = 0;  // lists after 410 Gone
  uint64_t watches = 0;  // watch requests started
  uint64_t events = 0;   // ADDED/MODIFIED/DELETED applied
  uint64_t bookmarks = 0;
  uint64_t failures = 0;  // failed requests and undecodable events
  std::string last_error;
};

class Reflector {
 public:
  Reflector(const Resource& resource, ApiTransport* transport, StateSink* sink,
            ServingRules rules, ReflectorOptions options);
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  // Lists and watches until Stop(); blocks, so give it a thread.
  void Run();
  // Makes Run return at its next step. A request in progress ends only
  // when the transport is cancelled (the owner does that once for all).
  void Stop();

  ReflectorStats stats() const;
  const Resource& resource() const { return resource_; }

 private:
  enum class WatchEnd { kResume, kRelist };

  // Lists every page; on success hands the sink the whole set.
  absl::Status List();
  // Watches from the current version until the stream ends.
  absl::StatusOr<WatchEnd> Watch();
  // Applies one line of the stream; kRelist on a 410 ERROR event.
  absl::StatusOr<WatchEnd> OnLine(absl::string_view line, bool& stop);
  void Failed(const absl::Status& status);
  std::string resource_version() const;

  const Resource resource_;
  ApiTransport* const transport_;
  StateSink* const sink_;
  const ServingRules rules_;
  const ReflectorOptions options_;
  absl::Notification stop_;

  mutable absl::Mutex mu_;
  ReflectorStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::kube

#endif  // SWITCHYARD_CONTROL_KUBE_REFLECTOR_H_
