// SPDX-License-Identifier: Apache-2.0
// Per node: the last version its agent acknowledged or rejected, and
// whether it is connected now. What `yardctl status --cluster` shows.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_NODE_SYNC_TABLE_H_
#define SWITCHYARD_CONTROL_CONTROLLER_NODE_SYNC_TABLE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "switchyard/v1/controller.pb.h"

namespace switchyard::controller {

class NodeSyncTable {
 public:
  void Connected(const std::string& node);
  void Disconnected(const std::string& node);
  void Acked(const std::string& node, const v1::WatchAck& ack);
  std::vector<v1::NodeSync> List() const;
  // Waits until every node in `nodes` (empty: every connected node) has
  // acked or rejected `version` or a later one, `deadline` passes, or
  // `cancelled` says so (checked every 100 ms). Returns whether they had.
  bool WaitSynced(uint64_t version, const std::vector<std::string>& nodes,
                  absl::Time deadline,
                  const std::function<bool()>& cancelled) const;

 private:
  v1::NodeSync& Entry(const std::string& node)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Synced(uint64_t version, const std::vector<std::string>& nodes) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, v1::NodeSync> nodes_ ABSL_GUARDED_BY(mu_);
  // A node may briefly have two streams (reconnect before the old one is
  // noticed dead); it is connected while any is open.
  std::map<std::string, int> streams_ ABSL_GUARDED_BY(mu_);
  // Signalled on every change, for WaitSynced.
  mutable absl::CondVar changed_;
};

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_NODE_SYNC_TABLE_H_
