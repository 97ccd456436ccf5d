// SPDX-License-Identifier: Apache-2.0
// Topology-aware routing: which endpoints of a service port a node prefers,
// from the endpoints' zone hints and the node's zone.
//
// The rule is kube-proxy's (pkg/proxy/topology.go): zone hints are used
// when the node has a zone, every ready endpoint carries hints, and at
// least one is hinted for the node's zone; then new flows go only to
// endpoints hinted for that zone. Otherwise every endpoint serves, so a
// half-hinted slice or a zone without endpoints never loses traffic. Like
// kube-proxy, hints are honoured whenever the slices carry them (it is the
// EndpointSlice controller that writes them only for services that ask).
//
// Switchyard also serves slices written by hand, without that controller:
// for a service with trafficDistribution: PreferClose, an endpoint without
// hints counts as hinted for its own `zone`, which is the hint the
// controller would have given it.
//
// Only clusterwide sets use hints: a traffic policy of Local already
// narrows to this node's endpoints, and kube-proxy ignores topology there.
#ifndef SWITCHYARD_CONTROL_TRANSLATE_TOPOLOGY_H_
#define SWITCHYARD_CONTROL_TRANSLATE_TOPOLOGY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "control/translate/cluster_state.h"

namespace switchyard::translate {

inline constexpr char kPreferClose[] = "PreferClose";

// The zones (ClusterState zone indexes) an endpoint serves new flows of.
std::vector<uint32_t> EffectiveZoneHints(const Slice& slice,
                                         const SliceEndpoint& endpoint,
                                         bool prefer_close);

// One endpoint as the rule sees it.
struct ZoneHinted {
  bool ready = false;  // counts towards "every ready endpoint has hints"
  const std::vector<uint32_t>* hints = nullptr;
};

// Whether new flows should go only to endpoints hinted for node_zone
// (kNoZone: the node has no zone, or no endpoint names it).
bool UseZoneHints(const std::vector<ZoneHinted>& endpoints, uint32_t node_zone);

// Whether hints name zone.
bool HintedFor(const std::vector<uint32_t>& hints, uint32_t zone);

// The node's zone as an index of state's zone names; kNoZone when the
// node has no topology.kubernetes.io/zone label or no endpoint names it.
uint32_t NodeZoneIndex(const ClusterState& state, const std::string& node);

}  // namespace switchyard::translate

#endif  // SWITCHYARD_CONTROL_TRANSLATE_TOPOLOGY_H_
