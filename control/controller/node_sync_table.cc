// SPDX-License-Identifier: Apache-2.0
#include "control/controller/node_sync_table.h"

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
}

void NodeSyncTable::Disconnected(const std::string& node) {
  absl::MutexLock lock(&mu_);
  if (--streams_[node] <= 0) {
    streams_.erase(node);
    Entry(node).set_connected(false);
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
}

std::vector<v1::NodeSync> NodeSyncTable::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::NodeSync> out;
  for (const auto& [name, entry] : nodes_) out.push_back(entry);
  return out;
}

}  // namespace switchyard::controller
