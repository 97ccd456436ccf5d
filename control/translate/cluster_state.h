// SPDX-License-Identifier: Apache-2.0
// An agent's copy of the cluster state, kept by applying the controller's
// snapshots and deltas. Pure data: no I/O, no kernel.
#ifndef SWITCHYARD_CONTROL_TRANSLATE_CLUSTER_STATE_H_
#define SWITCHYARD_CONTROL_TRANSLATE_CLUSTER_STATE_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "switchyard/v1/cluster.pb.h"
#include "switchyard/v1/controller.pb.h"

namespace switchyard::translate {

class ClusterState {
 public:
  // A snapshot replaces everything; a delta must continue from version():
  // a gap means a missed message, which the caller answers by asking for a
  // snapshot rather than guessing.
  absl::Status Apply(const v1::WatchResponse& update);

  uint64_t version() const { return version_; }

  // Keyed "namespace/name" (nodes by name alone), ordered, so translation
  // visits objects in a stable order.
  const std::map<std::string, v1::Service>& services() const {
    return services_;
  }
  const std::map<std::string, v1::EndpointSlice>& endpoint_slices() const {
    return slices_;
  }
  const std::map<std::string, v1::Node>& nodes() const { return nodes_; }

 private:
  void Upsert(const v1::Object& object);
  void Remove(const v1::ObjectRef& ref);

  uint64_t version_ = 0;
  bool has_snapshot_ = false;
  std::map<std::string, v1::Service> services_;
  std::map<std::string, v1::EndpointSlice> slices_;
  std::map<std::string, v1::Node> nodes_;
};

// "namespace/name", with Kubernetes' default namespace filled in.
std::string NamespacedName(const v1::ObjectMeta& meta);

// The label that ties an EndpointSlice to its Service.
inline constexpr char kServiceNameLabel[] = "kubernetes.io/service-name";

}  // namespace switchyard::translate

#endif  // SWITCHYARD_CONTROL_TRANSLATE_CLUSTER_STATE_H_
