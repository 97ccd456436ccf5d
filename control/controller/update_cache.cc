// SPDX-License-Identifier: Apache-2.0
#include "control/controller/update_cache.h"

#include <optional>
#include <utility>

namespace switchyard::controller {

std::shared_ptr<const v1::WatchResponse> UpdateCache::Update(uint64_t from,
                                                             bool snapshot) {
  absl::MutexLock lock(&mu_);
  const uint64_t current = store_->version();
  for (const Entry& entry : entries_) {
    // A delta from version 0 is not a snapshot: it would not clear what
    // an agent holds from another controller.
    if (entry.to != current || entry.snapshot != snapshot) continue;
    if (snapshot || entry.from == from) return entry.response;
  }
  std::optional<v1::WatchResponse> built;
  if (!snapshot) {
    built = store_->ChangesSince(from, ClusterStore::Upserts::kEncoded);
  }
  if (!built.has_value()) {
    built = store_->Snapshot(ClusterStore::Upserts::kEncoded);
  }
  auto response = std::make_shared<const v1::WatchResponse>(std::move(*built));
  // A delta that turned into a snapshot is filed as one.
  entries_.push_back({response->snapshot(), response->snapshot() ? 0 : from,
                      response->version(), response});
  while (entries_.size() > kEntries) entries_.pop_front();
  return response;
}

}  // namespace switchyard::controller
