// SPDX-License-Identifier: Apache-2.0
#include "control/sync/reconciler.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"

namespace switchyard::sync {

Reconciler::Reconciler(MapWriter* writer, Capacity capacity,
                       translate::NodeContext node, bool health_checks)
    : node_(std::move(node)),
      serve_health_checks_(health_checks),
      programmer_(writer, capacity) {}

void Reconciler::Adopt(const ProgrammedEntries& entries) {
  absl::MutexLock lock(&mu_);
  programmer_.Adopt(entries);
}

ReconcileOutcome Reconciler::Apply(const v1::WatchResponse& update) {
  absl::Time start = absl::Now();
  ReconcileOutcome out;
  out.version = update.version();
  absl::MutexLock lock(&mu_);
  // Controllers only send deltas to agents resuming from their own
  // history; one that does not fit what is applied is a fault, and
  // applying it could silently program the wrong state.
  if (!update.snapshot() && applied_version_ != 0 &&
      update.state_id() != applied_state_id_) {
    out.status = absl::FailedPreconditionError(absl::StrCat(
        "delta to version ", update.version(), " is for controller state ",
        update.state_id(), ", but version ", applied_version_,
        " applied is from state ", applied_state_id_));
  }
  // What the update touches is read before it is applied: a deleted
  // service is named only by the state it leaves.
  std::set<std::string> affected;
  // The node's zone decides every service's zone-hinted sets: a change of
  // it (a relabelled Node) retranslates everything.
  const std::string zone_before = state_.NodeZone(node_.node_name);
  if (out.status.ok()) {
    affected = state_.AffectedServices(update);
    out.status = state_.Apply(update);
  }
  if (out.status.ok()) {
    out.full = update.snapshot() || !reconciled_ ||
               state_.NodeZone(node_.node_name) != zone_before;
    translate::DesiredChange change =
        out.full ? desired_.Rebuild(state_, node_)
                 : desired_.Update(state_, node_, affected);
    out.status = out.full ? programmer_.Apply(desired_.desired())
                          : programmer_.Apply(desired_.desired(), change);
    out.writes = programmer_.last_writes();
  }
  out.counts = programmer_.counts();
  out.took = absl::Now() - start;
  reconciled_ = out.status.ok();
  if (!out.status.ok()) {
    applied_version_ = 0;
    applied_state_id_.clear();
    return out;
  }
  applied_version_ = update.version();
  applied_state_id_ = update.state_id();
  if (serve_health_checks_) {
    out.health_checks_changed =
        RefreshHealthChecks(out.full, affected) || !checks_handed_out_;
    checks_handed_out_ = true;
  }
  if (out.full) out.skipped = desired_.skipped();
  return out;
}

bool Reconciler::RefreshHealthChecks(bool full,
                                     const std::set<std::string>& services) {
  bool changed = false;
  auto refresh = [&](const std::string& key) {
    std::optional<translate::HealthCheck> check =
        translate::HealthCheckOf(state_, key, node_);
    auto it = checks_.find(key);
    if (!check) {
      if (it != checks_.end()) {
        checks_.erase(it);
        changed = true;
      }
    } else if (it == checks_.end() || !(it->second == *check)) {
      checks_[key] = *std::move(check);
      changed = true;
    }
  };
  if (!full) {
    for (const std::string& key : services) refresh(key);
    return changed;
  }
  std::set<std::string> keys;
  for (const auto& [key, check] : checks_) keys.insert(key);
  for (const auto& [key, service] : state_.services()) keys.insert(key);
  for (const std::string& key : keys) refresh(key);
  return changed;
}

ResumePoint Reconciler::Resume() {
  absl::MutexLock lock(&mu_);
  return {applied_version_, applied_state_id_};
}

ProgrammedCounts Reconciler::counts() {
  absl::MutexLock lock(&mu_);
  return programmer_.counts();
}

std::vector<translate::HealthCheck> Reconciler::health_checks() {
  absl::MutexLock lock(&mu_);
  std::vector<translate::HealthCheck> out;
  out.reserve(checks_.size());
  for (const auto& [key, check] : checks_) out.push_back(check);
  return out;
}

void Reconciler::HealthChecksNotServed() {
  absl::MutexLock lock(&mu_);
  checks_handed_out_ = false;
}

bool Reconciler::TryServiceNames(
    std::map<translate::FrontendKey, std::string>& names) {
  if (!mu_.TryLock()) return false;
  names.clear();
  for (const auto& [key, frontend] : desired_.desired().frontends) {
    if (!frontend.service.empty()) names[key] = frontend.service;
  }
  mu_.Unlock();
  return true;
}

}  // namespace switchyard::sync
