// SPDX-License-Identifier: Apache-2.0
#include "control/controller/programming_latency.h"

#include <algorithm>
#include <utility>

namespace switchyard::controller {

ProgrammingLatency::ProgrammingLatency(Observe observe, size_t retained,
                                       size_t max_waiting)
    : observe_(std::move(observe)),
      retained_(std::max<size_t>(retained, 1)),
      max_waiting_(std::max<size_t>(max_waiting, 1)) {}

void ProgrammingLatency::Written(uint64_t version, absl::Time arrived) {
  absl::MutexLock lock(&mu_);
  if (version == 0 || arrived_.contains(version) ||
      version + retained_ < newest_) {
    return;
  }
  arrived_[version] = arrived;
  newest_ = std::max(newest_, version);
  // Acks that came before the writer was told its version.
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (version > it->after && version <= it->through) {
      observe_(it->at - arrived);
      if (--it->unmatched == 0) {
        it = waiting_.erase(it);
        continue;
      }
    }
    ++it;
  }
  Trim();
}

void ProgrammingLatency::Acked(uint64_t after, uint64_t through,
                               absl::Time at) {
  if (through <= after) return;
  absl::MutexLock lock(&mu_);
  newest_ = std::max(newest_, through);
  uint64_t matched = 0;
  for (auto it = arrived_.upper_bound(after);
       it != arrived_.end() && it->first <= through; ++it) {
    observe_(at - it->second);
    ++matched;
  }
  if (matched < through - after) {
    waiting_.push_back({after, through, at, through - after - matched});
  }
  Trim();
}

void ProgrammingLatency::Trim() {
  auto too_old = [this](uint64_t version) {
    return version + retained_ < newest_;
  };
  while (!arrived_.empty() &&
         (arrived_.size() > retained_ || too_old(arrived_.begin()->first))) {
    arrived_.erase(arrived_.begin());
  }
  // A version never written here (the stream's own start, or one whose
  // writer gave up) leaves its ack waiting until it is this old.
  while (!waiting_.empty() && (waiting_.size() > max_waiting_ ||
                               too_old(waiting_.front().through))) {
    waiting_.pop_front();
  }
}

void StreamAcks::Ack(uint64_t version, bool applied, absl::Time at) {
  if (!started_) {
    started_ = true;
    counted_through_ = version;
    return;
  }
  if (!applied || version <= counted_through_) return;
  latency_->Acked(counted_through_, version, at);
  counted_through_ = version;
}

}  // namespace switchyard::controller
