// SPDX-License-Identifier: Apache-2.0
#include "control/controller/node_sync_table.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace switchyard::controller {

v1::NodeSync& NodeSyncTable::Entry(const std::string& node) {
  v1::NodeSync& entry = nodes_[node];
  entry.set_node_name(node);
  entry.set_last_seen_unix_ms(absl::ToUnixMillis(absl::Now()));
  return entry;
}

void NodeSyncTable::Connected(const std::string& node) {
  absl::MutexLock lock(&mu_);
  ++streams_[node];
  Entry(node).set_connected(true);
  changed_.SignalAll();
}

void NodeSyncTable::Disconnected(const std::string& node) {
  absl::MutexLock lock(&mu_);
  if (--streams_[node] <= 0) {
    streams_.erase(node);
    Entry(node).set_connected(false);
    changed_.SignalAll();
  }
}

void NodeSyncTable::Acked(const std::string& node, const v1::WatchAck& ack) {
  absl::MutexLock lock(&mu_);
  v1::NodeSync& entry = Entry(node);
  if (ack.applied()) {
    entry.set_acked_version(ack.version());
    entry.set_acked_unix_us(absl::ToUnixMicros(absl::Now()));
  } else {
    entry.set_rejected_version(ack.version());
    entry.set_rejected_error(ack.error());
  }
  changed_.SignalAll();
}

bool NodeSyncTable::Synced(uint64_t version,
                           const std::vector<std::string>& nodes) const {
  auto done = [version](const v1::NodeSync& entry) {
    return entry.acked_version() >= version ||
           entry.rejected_version() >= version;
  };
  if (nodes.empty()) {
    for (const auto& [name, entry] : nodes_) {
      if (entry.connected() && !done(entry)) return false;
    }
    return true;
  }
  for (const std::string& node : nodes) {
    auto it = nodes_.find(node);
    if (it == nodes_.end() || !done(it->second)) return false;
  }
  return true;
}

bool NodeSyncTable::WaitSynced(uint64_t version,
                               const std::vector<std::string>& nodes,
                               absl::Time deadline,
                               const std::function<bool()>& cancelled) const {
  absl::MutexLock lock(&mu_);
  while (true) {
    if (Synced(version, nodes)) return true;
    absl::Time now = absl::Now();
    if (now >= deadline || cancelled()) return false;
    changed_.WaitWithDeadline(
        &mu_, std::min(deadline, now + absl::Milliseconds(100)));
  }
}

std::vector<v1::NodeSync> NodeSyncTable::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::NodeSync> out;
  for (const auto& [name, entry] : nodes_) out.push_back(entry);
  return out;
}

}  // namespace switchyard::controller
