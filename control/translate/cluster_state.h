// SPDX-License-Identifier: Apache-2.0
// An agent's copy of the cluster state, kept by applying the controller's
// snapshots and deltas. Pure data: no I/O, no kernel.
#ifndef SWITCHYARD_CONTROL_TRANSLATE_CLUSTER_STATE_H_
#define SWITCHYARD_CONTROL_TRANSLATE_CLUSTER_STATE_H_

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "control/translate/lb_policy.h"
#include "switchyard/v1/cluster.pb.h"
#include "switchyard/v1/controller.pb.h"

namespace switchyard::translate {

// An EndpointSlice as the agent keeps it: parsed once on arrival into what
// translation reads. A full v1 proto costs about 3 KB per 10-endpoint
// slice, this about 200 bytes, which at 10,000 services is the larger part
// of the agent's memory.
inline constexpr uint32_t kNoZone = UINT32_MAX;

// 20 bytes: a cluster holds one per endpoint, and its hints (rare) live in
// the slice rather than in a vector of each endpoint's own.
struct SliceEndpoint {
  uint32_t addr_be = 0;
  uint32_t node = 0;        // index into ClusterState::node_name()
  uint32_t zone = kNoZone;  // `zone`: index into ClusterState::zone_name()
  // hints.forZones (Slice::HintsOf): the run of Slice::zone_hints from
  // hints_begin, hints_count long.
  uint32_t hints_begin = 0;
  uint8_t hints_count = 0;
  bool ready = true;    // unknown conditions already defaulted as Kubernetes
  bool serving = true;  // says: ready/serving true, terminating false
  bool terminating = false;
};

struct SlicePort {
  std::string name;
  std::string protocol;  // "TCP" when unset
  int32_t port = 0;
};

struct Slice {
  std::string service_key;  // "namespace/name" of the owning Service
  bool ipv4 = false;
  std::vector<SlicePort> ports;
  std::vector<SliceEndpoint> endpoints;  // one per IPv4 address
  // Every endpoint's hints, one run after the other.
  std::vector<uint32_t> zone_hints;

  // An endpoint's hints.forZones, as zone indexes: where the EndpointSlice
  // controller wants it used from (topology-aware routing).
  std::span<const uint32_t> HintsOf(const SliceEndpoint& endpoint) const {
    return std::span<const uint32_t>(zone_hints)
        .subspan(endpoint.hints_begin, endpoint.hints_count);
  }
};

// A Service as the agent keeps it: the fields translation reads. The v1
// proto with its maps and nested messages costs about 2 KB a service.
struct ServicePortSpec {
  std::string name;
  std::string protocol;  // "TCP" when unset
  int32_t port = 0;
  // targetPort: a number, a name, or unset (then the port itself).
  int32_t target_number = 0;
  std::string target_name;
  int32_t node_port = 0;
};

struct ServiceSpec {
  std::string type;                            // "ClusterIP" when unset
  std::vector<std::string> cluster_ips;        // clusterIPs, or [clusterIP]
  bool headless = false;                       // clusterIP "None"
  std::vector<std::string> external_ips;       // spec.externalIPs
  std::vector<std::string> load_balancer_ips;  // status...ingress[].ip
  std::vector<std::string> load_balancer_source_ranges;  // CIDRs
  int32_t health_check_node_port = 0;
  std::string session_affinity;
  std::string external_traffic_policy;
  std::string internal_traffic_policy;
  // sessionAffinityConfig.clientIP.timeoutSeconds as given (0: unset).
  int32_t aff_timeout_s = 0;
  std::string traffic_distribution;  // "" or PreferClose (or newer values)
  bool publish_not_ready_addresses = false;
  std::vector<ServicePortSpec> ports;
  // The switchyard.io annotations that choose endpoint selection, raw:
  // translation parses them (lb_policy.h) and reports a bad one.
  LbAnnotationTexts lb;
};

class ClusterState {
 public:
  // A snapshot replaces everything; a delta must continue from version():
  // a gap means a missed message, which the caller answers by asking for a
  // snapshot rather than guessing.
  absl::Status Apply(const v1::WatchResponse& update);

  uint64_t version() const { return version_; }

  // Keyed "namespace/name" (nodes by name alone), ordered, so translation
  // visits objects in a stable order.
  const std::map<std::string, ServiceSpec>& services() const {
    return services_;
  }
  const std::map<std::string, Slice>& endpoint_slices() const {
    return slices_;
  }
  // The node name an endpoint's `node` index stands for.
  const std::string& node_name(uint32_t index) const {
    return node_names_[index];
  }
  const std::map<std::string, v1::Node>& nodes() const { return nodes_; }
  // The zone name an endpoint's `zone` or hint index stands for.
  const std::string& zone_name(uint32_t index) const {
    return zone_names_[index];
  }
  // The index of a zone name, or kNoZone when no endpoint names it.
  uint32_t FindZone(const std::string& name) const;
  // The topology.kubernetes.io/zone label of a node; "" when it has none
  // or is unknown.
  std::string NodeZone(const std::string& node_name) const;

  // The IPv4 EndpointSlices of a service ("namespace/name"), from an index
  // kept as slices come and go, so one service's translation never scans
  // every slice in the cluster.
  std::vector<const Slice*> SlicesOf(const std::string& service_key) const;

  // The services ("namespace/name") whose translation `update` can change:
  // those it writes or deletes, and the owners (before and after) of the
  // EndpointSlices it touches. Call before Apply(update).
  std::set<std::string> AffectedServices(const v1::WatchResponse& update) const;

 private:
  void Upsert(const v1::Object& object);
  void Remove(const v1::ObjectRef& ref);
  void IndexSlice(const std::string& slice_key, const Slice& slice, bool add);
  Slice Compact(const v1::EndpointSlice& slice);
  static ServiceSpec Compact(const v1::Service& service);
  uint32_t NodeIndex(const std::string& name);
  uint32_t ZoneIndex(const std::string& name);

  uint64_t version_ = 0;
  bool has_snapshot_ = false;
  std::map<std::string, ServiceSpec> services_;
  std::map<std::string, Slice> slices_;
  // Interned node names: endpoints name a handful of nodes many times.
  std::vector<std::string> node_names_;
  std::map<std::string, uint32_t> node_index_;
  // Interned zone names, likewise.
  std::vector<std::string> zone_names_;
  std::map<std::string, uint32_t> zone_index_;
  std::map<std::string, v1::Node> nodes_;
  // (service key, slice key) pairs, in order: a service's slices are one
  // run. One B-tree instead of a map of sets: two tree nodes a service
  // fewer.
  absl::btree_set<std::pair<std::string, std::string>> slices_by_service_;
};

// The service ("namespace/name") an EndpointSlice belongs to, or "" when
// it has no kubernetes.io/service-name label.
std::string ServiceKeyOf(const v1::EndpointSlice& slice);

// "namespace/name", with Kubernetes' default namespace filled in.
std::string NamespacedName(const v1::ObjectMeta& meta);

// The label that ties an EndpointSlice to its Service.
inline constexpr char kServiceNameLabel[] = "kubernetes.io/service-name";
// The label that gives a node's zone.
inline constexpr char kZoneLabel[] = "topology.kubernetes.io/zone";

}  // namespace switchyard::translate

#endif  // SWITCHYARD_CONTROL_TRANSLATE_CLUSTER_STATE_H_
