// SPDX-License-Identifier: Apache-2.0
// ClusterStore's mirror mode: the state comes from a source of truth (the
// Kubernetes API server) rather than from writers. See cluster_store.h.
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "control/controller/cluster_store.h"
#include "control/controller/objects.h"
#include "google/protobuf/util/message_differencer.h"

namespace switchyard::controller {
namespace {

// The source assigned clusterIPs and nodePorts from ranges of its own,
// which this controller need not be told: any address and port pass.
ServiceRules AnyRange() {
  ServiceRules rules;
  rules.service_cidr = Ipv4Cidr{0, 0};
  rules.service_cidr_text = "0.0.0.0/0";
  rules.node_port_min = 1;
  rules.node_port_max = 65535;
  return rules;
}

}  // namespace

absl::Status ClusterStore::MirrorRefusesWrites() const {
  return absl::FailedPreconditionError(absl::StrCat(
      "this controller mirrors the Kubernetes API server ", config_.mirror_of,
      ": change Services, EndpointSlices and Nodes there, with kubectl "
      "(kubectl apply -f, kubectl delete); yardctl can only read"));
}

absl::StatusOr<MirrorResult> ClusterStore::Mirror(MirrorWrite write) {
  if (config_.mirror_of.empty()) {
    return absl::FailedPreconditionError(
        "Mirror: this store is written through Apply, not mirrored");
  }
  static const ServiceRules kAnyRange = AnyRange();
  MirrorResult result;
  std::vector<std::pair<ObjectKey, v1::Object>> upserts;
  upserts.reserve(write.upserts.size());
  absl::flat_hash_set<ObjectKey> listed;
  for (v1::Object& object : write.upserts) {
    v1::ObjectRef ref = RefOf(object);
    if (absl::Status s = NormalizeObject(kAnyRange, object); !s.ok()) {
      result.rejected.push_back(std::string(s.message()));
      write.deletes.push_back(std::move(ref));
      continue;
    }
    ObjectKey key = ObjectKey::Of(RefOf(object));
    if (key.kind == write.replace_kind) listed.insert(key);
    upserts.emplace_back(std::move(key), std::move(object));
  }

  absl::ReleasableMutexLock lock(&mu_);
  Delta delta{version_ + 1, {}};
  for (auto& [key, object] : upserts) {
    auto stored = objects_.find(key);
    bool existed = stored != objects_.end();
    if (existed && google::protobuf::util::MessageDifferencer::Equals(
                       object, stored->second)) {
      continue;
    }
    delta.changes.emplace_back(key, existed);
    objects_.insert_or_assign(key, std::move(object));
  }
  for (const v1::ObjectRef& ref : write.deletes) {
    ObjectKey key = ObjectKey::Of(NormalizeRef(ref));
    if (objects_.erase(key) > 0) delta.changes.emplace_back(key, true);
  }
  if (write.replace_kind != v1::KIND_UNSPECIFIED) {
    for (auto it = objects_.lower_bound(ObjectKey{write.replace_kind, "", ""});
         it != objects_.end() && it->first.kind == write.replace_kind;) {
      if (listed.contains(it->first)) {
        ++it;
        continue;
      }
      delta.changes.emplace_back(it->first, true);
      it = objects_.erase(it);
    }
  }
  result.changed = delta.changes.size();
  if (!delta.changes.empty()) {
    ++version_;
    RecordDelta(std::move(delta));
  }
  result.version = version_;
  lock.Release();
  if (result.changed > 0) PublishVersion(result.version);
  return result;
}

void ClusterStore::MarkSynced() {
  absl::MutexLock lock(&mu_);
  synced_ = true;
}

bool ClusterStore::synced() const {
  absl::ReaderMutexLock lock(&mu_);
  return synced_;
}

bool ClusterStore::WaitSynced(absl::Duration timeout) const {
  mu_.ReaderLockWhenWithTimeout(absl::Condition(&synced_), timeout);
  bool synced = synced_;
  mu_.ReaderUnlock();
  return synced;
}

}  // namespace switchyard::controller
