// SPDX-License-Identifier: Apache-2.0
// An agent's copy of the cluster state, kept by applying the controller's
// snapshots and deltas. Pure data: no I/O, no kernel.
#ifndef SWITCHYARD_CONTROL_TRANSLATE_CLUSTER_STATE_H_
#define SWITCHYARD_CONTROL_TRANSLATE_CLUSTER_STATE_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

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

  // The IPv4 EndpointSlices of a service ("namespace/name"), from an index
  // kept as slices come and go, so one service's translation never scans
  // every slice in the cluster.
  std::vector<const v1::EndpointSlice*> SlicesOf(
      const std::string& service_key) const;

  // The services ("namespace/name") whose translation `update` can change:
  // those it writes or deletes, and the owners (before and after) of the
  // EndpointSlices it touches. Call before Apply(update).
  std::set<std::string> AffectedServices(const v1::WatchResponse& update) const;

 private:
  void Upsert(const v1::Object& object);
  void Remove(const v1::ObjectRef& ref);
  void IndexSlice(const std::string& slice_key, const v1::EndpointSlice& slice,
                  bool add);

  uint64_t version_ = 0;
  bool has_snapshot_ = false;
  std::map<std::string, v1::Service> services_;
  std::map<std::string, v1::EndpointSlice> slices_;
  std::map<std::string, v1::Node> nodes_;
  std::map<std::string, std::set<std::string>> slices_by_service_;
};

// The service ("namespace/name") an EndpointSlice belongs to, or "" when
// it has no kubernetes.io/service-name label.
std::string ServiceKeyOf(const v1::EndpointSlice& slice);

// "namespace/name", with Kubernetes' default namespace filled in.
std::string NamespacedName(const v1::ObjectMeta& meta);

// The label that ties an EndpointSlice to its Service.
inline constexpr char kServiceNameLabel[] = "kubernetes.io/service-name";

}  // namespace switchyard::translate

#endif  // SWITCHYARD_CONTROL_TRANSLATE_CLUSTER_STATE_H_
