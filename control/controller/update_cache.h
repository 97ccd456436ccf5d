// SPDX-License-Identifier: Apache-2.0
// The updates watch streams send, built once and shared. A change wakes
// every agent's stream at once, nearly all at the same version: without
// sharing, each stream built its own copy of the same delta (and, when a
// thousand agents connect, of the same snapshot: 14.5 MB each at 10,000
// services), which cost the controller ~0.27 ms of CPU per stream per
// change and ~25 MB of memory per connecting stream.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_UPDATE_CACHE_H_
#define SWITCHYARD_CONTROL_CONTROLLER_UPDATE_CACHE_H_

#include <cstdint>
#include <deque>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "control/controller/cluster_store.h"
#include "switchyard/v1/controller.pb.h"

namespace switchyard::controller {

class UpdateCache {
 public:
  explicit UpdateCache(const ClusterStore* store) : store_(store) {}

  // What takes a watcher at version `from` to the current version: the
  // changes since `from`, or a snapshot when `snapshot` is set or those
  // changes are no longer held. Streams asking the same get the same
  // object; it is immutable. Its upserts are encoded, ready to send
  // (ClusterStore::Upserts::kEncoded): read them from its wire form.
  std::shared_ptr<const v1::WatchResponse> Update(uint64_t from, bool snapshot);

 private:
  struct Entry {
    bool snapshot;
    uint64_t from;  // deltas only: a snapshot fits every watcher
    uint64_t to;
    std::shared_ptr<const v1::WatchResponse> response;
  };
  // The few most recent: all streams but the slowest ask for one of them.
  static constexpr size_t kEntries = 4;

  const ClusterStore* const store_;
  // Held while building, so that a thousand streams woken together build
  // an update once and the rest take it from here.
  absl::Mutex mu_;
  std::deque<Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_UPDATE_CACHE_H_
