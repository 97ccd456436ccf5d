// SPDX-License-Identifier: Apache-2.0
// The agent's logic without its kernel: takes the controller's updates
// (snapshots and deltas), keeps the node's copy of the cluster state, turns
// it into desired map entries and has the programmer write the difference
// through a MapWriter. It decides what an update means: a snapshot, or any
// update after a failure, reconciles every entry; a delta only the services
// it touches. It keeps the version to resume from (with the id of the
// controller state it belongs to), and adopts what a restarted agent finds
// in the maps. A snapshot from another controller is no different from
// any other: reconciled against what the maps hold, so moving between
// controllers writes only what differs, never flushes.
//
// Pure C++: the real agent hands it a writer over the pinned maps, tests a
// fake one. Thread-safe: the watch stream applies updates while a metrics
// scrape reads the service names.
#ifndef SWITCHYARD_CONTROL_SYNC_RECONCILER_H_
#define SWITCHYARD_CONTROL_SYNC_RECONCILER_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "control/sync/map_writer.h"
#include "control/sync/programmer.h"
#include "control/sync/resume_point.h"
#include "control/translate/cluster_state.h"
#include "control/translate/translate.h"
#include "switchyard/v1/controller.pb.h"

namespace switchyard::sync {

// What one update did, for the caller's metrics and logs.
struct ReconcileOutcome {
  absl::Status status;
  uint64_t version = 0;  // the update's
  bool full = false;     // every entry reconciled, not only a delta's
  size_t writes = 0;     // map writes, also those of a failed update
  absl::Duration took;
  ProgrammedCounts counts;  // what the maps hold afterwards
  // True when the health checks this node serves changed (or were never
  // handed out): then health_checks() holds the new set.
  bool health_checks_changed = false;
  // Services the update could not program (full updates only), e.g. a
  // service with more endpoints than a set holds.
  std::vector<std::string> skipped;
};

class Reconciler {
 public:
  // `health_checks`: whether this node serves health-check node ports (it
  // has external devices); without, no update spends work on them.
  Reconciler(MapWriter* writer, Capacity capacity, translate::NodeContext node,
             bool health_checks = true);
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  // Takes what the maps hold already (a restarted agent's pins) as
  // programmed: nothing is written, and the first snapshot keeps what is
  // still desired and removes only what went stale.
  void Adopt(const ProgrammedEntries& entries);

  // Applies one update from the controller; its status is the ack. A
  // delta must come from the state the last update came from (its
  // state_id): one from another history is rejected, which asks for a
  // snapshot at the next connect.
  ReconcileOutcome Apply(const v1::WatchResponse& update);

  // Where to resume from: version 0 (and no state id) until a snapshot
  // has been programmed, and after a failed update (so the next connect
  // asks for a snapshot); else the last update's version and state id.
  ResumePoint Resume();
  uint64_t ResumeVersion() { return Resume().version; }
  ProgrammedCounts counts();

  // The health-check node ports this node serves, by service.
  std::vector<translate::HealthCheck> health_checks();
  // Says the last set handed out could not be served, so the next update
  // reports health checks as changed even when they are not.
  void HealthChecksNotServed();

  // Fills `names` with the service of each programmed frontend, or
  // returns false without waiting when an update is being applied (a
  // snapshot of a large cluster takes seconds; a scrape must not stall).
  bool TryServiceNames(std::map<translate::FrontendKey, std::string>& names);

 private:
  // Recomputes the health checks of `services` (all when `full`); true
  // when any changed.
  bool RefreshHealthChecks(bool full, const std::set<std::string>& services)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const translate::NodeContext node_;
  const bool serve_health_checks_;
  absl::Mutex mu_;
  translate::ClusterState state_ ABSL_GUARDED_BY(mu_);
  translate::DesiredStateCache desired_ ABSL_GUARDED_BY(mu_);
  Programmer programmer_ ABSL_GUARDED_BY(mu_);
  // False until a full reconcile succeeded, and after any failure: then
  // the next update reconciles everything rather than trusting a scope.
  bool reconciled_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t applied_version_ ABSL_GUARDED_BY(mu_) = 0;
  std::string applied_state_id_ ABSL_GUARDED_BY(mu_);
  // Kept per update like the desired state, so an endpoint change costs
  // work for its service only.
  std::map<std::string, translate::HealthCheck> checks_ ABSL_GUARDED_BY(mu_);
  bool checks_handed_out_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace switchyard::sync

#endif  // SWITCHYARD_CONTROL_SYNC_RECONCILER_H_
