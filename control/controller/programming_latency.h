// SPDX-License-Identifier: Apache-2.0
// Programming latency: from a write's arrival at this controller to each
// node's ack of a version that holds it, one observation per node and
// write, as kube-proxy's network programming duration is per change. What
// an operator reads to see how long a change takes to reach the nodes.
//
// Matching the two ends. The writer learns its version only after the
// write is durable, but agents get the version before the flush (see
// cluster_store.h), so an ack can come first. Whichever of the two comes
// second makes the observation: an ack whose versions have no arrival yet
// waits here, bounded, until the writer says when they arrived.
//
// Which versions an ack covers. A watch stream counts from the version it
// started at (acks come in order, and the first one is of the stream's
// snapshot or resume point, which measures connecting, not a change):
// each later ack covers every version since the stream's previous one, so
// a change the agent received folded into a later update is counted too.
// A rejected version is counted when a later ack says it was programmed.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_PROGRAMMING_LATENCY_H_
#define SWITCHYARD_CONTROL_CONTROLLER_PROGRAMMING_LATENCY_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace switchyard::controller {

class ProgrammingLatency {
 public:
  using Observe = std::function<void(absl::Duration)>;

  // `observe` gets each latency, from whichever thread completes it; it
  // must not call back into this object. `retained`: how many versions'
  // arrivals are kept. `max_waiting`: how many acks may wait for theirs
  // (every node's ack of a write can come before its writer is told, so
  // this is sized for clusters of many nodes; 32 bytes each).
  explicit ProgrammingLatency(Observe observe, size_t retained = 4096,
                              size_t max_waiting = 65536);

  // The write that made `version` arrived at `arrived`. A version already
  // known (a write that changed nothing returns the current version) or
  // older than what is retained is ignored.
  void Written(uint64_t version, absl::Time arrived);

  // A node acked, at `at`, every version in (`after`, `through`].
  void Acked(uint64_t after, uint64_t through, absl::Time at);

 private:
  // An ack some of whose versions have no arrival yet.
  struct Waiting {
    uint64_t after;
    uint64_t through;
    absl::Time at;
    uint64_t unmatched;  // versions in (after, through] not yet observed
  };
  // Versions older than `retained_` back from the newest go, and so do
  // the arrivals and waiting acks past their bounds, oldest first.
  void Trim() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Observe observe_;
  const size_t retained_;
  const size_t max_waiting_;
  absl::Mutex mu_;
  absl::btree_map<uint64_t, absl::Time> arrived_ ABSL_GUARDED_BY(mu_);
  // The newest version seen here, written or acked: what "retained" is
  // counted back from.
  uint64_t newest_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Waiting> waiting_ ABSL_GUARDED_BY(mu_);
};

// Per watch stream: which versions each ack covers (see above). Used from
// the one thread that reads the stream's acks.
class StreamAcks {
 public:
  explicit StreamAcks(ProgrammingLatency* latency) : latency_(latency) {}
  // The node acked (applied) or rejected `version` at `at`.
  void Ack(uint64_t version, bool applied, absl::Time at);

 private:
  ProgrammingLatency* latency_;
  bool started_ = false;
  uint64_t counted_through_ = 0;
};

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_PROGRAMMING_LATENCY_H_
