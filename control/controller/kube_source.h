// SPDX-License-Identifier: Apache-2.0
// Feeds a mirror ClusterStore from the Kubernetes API server: a reflector
// per resource (Services, EndpointSlices, Nodes), each on a thread of its
// own, sharing one transport. Whatever the number of agents watching this
// controller, the API server sees three watches from it: the store is the
// fan-out cache in between.
//
// The store is marked synced once all three resources have been listed,
// so that no agent is ever handed a partial cluster (Services without
// their EndpointSlices would read as "no endpoints" and reject traffic).
#ifndef SWITCHYARD_CONTROL_CONTROLLER_KUBE_SOURCE_H_
#define SWITCHYARD_CONTROL_CONTROLLER_KUBE_SOURCE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "control/controller/cluster_store.h"
#include "control/kube/api_transport.h"
#include "control/kube/reflector.h"

namespace switchyard::controller {

struct KubeSourceOptions {
  kube::ServingRules rules;
  kube::ReflectorOptions reflector;
  // Told of each write that made a new version, and when its change
  // arrived from the API server (programming_latency.h). May be empty.
  std::function<void(uint64_t version, absl::Time arrived)> on_written;
};

struct KubeSourceStats {
  std::vector<kube::ReflectorStats> resources;  // in kube::kResources order
  uint64_t skipped = 0;   // objects this proxy does not serve
  uint64_t rejected = 0;  // objects the store could not take
};

class KubeSource final : public kube::StateSink {
 public:
  // Starts the reflectors; returns at once (the store becomes synced when
  // the first lists complete). `store` must be a mirror and outlive this.
  KubeSource(ClusterStore* store, std::shared_ptr<kube::ApiTransport> api,
             KubeSourceOptions options);
  ~KubeSource() override;
  KubeSource(const KubeSource&) = delete;
  KubeSource& operator=(const KubeSource&) = delete;

  // Ends every request in progress and joins the threads.
  void Stop();
  KubeSourceStats stats() const;

  // kube::StateSink, called by the reflectors.
  void Replace(v1::Kind kind, std::vector<kube::Converted> items) override;
  void Upsert(kube::Converted item) override;
  void Remove(const v1::ObjectRef& ref) override;

 private:
  void Write(MirrorWrite write);

  ClusterStore* const store_;
  std::shared_ptr<kube::ApiTransport> api_;
  const std::function<void(uint64_t, absl::Time)> on_written_;
  std::vector<std::unique_ptr<kube::Reflector>> reflectors_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};

  mutable absl::Mutex mu_;
  absl::flat_hash_set<int> listed_kinds_ ABSL_GUARDED_BY(mu_);
  uint64_t skipped_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t rejected_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_KUBE_SOURCE_H_
