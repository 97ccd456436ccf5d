// SPDX-License-Identifier: Apache-2.0
// Cluster state -> the entries one node's datapath should hold. Pure C++:
// unit-tested without a kernel.
#ifndef SWITCHYARD_CONTROL_TRANSLATE_TRANSLATE_H_
#define SWITCHYARD_CONTROL_TRANSLATE_TRANSLATE_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "control/translate/cluster_state.h"
#include "control/translate/desired_state.h"
#include "yard_abi.h"

namespace switchyard::translate {

struct NodeContext {
  std::string node_name;  // for the traffic policies' Local
  // The node's zone, for topology-aware routing, is read from its Node
  // object in the cluster state (topology.h).
  // This node's addresses that serve NodePorts (network order).
  std::vector<uint32_t> node_port_addrs_be;
  // Endpoint selection of Services that name none (enum yard_policy; the
  // agent's --default_lb_policy), and the Maglev table size of those that
  // use Maglev without switchyard.io/maglev-table-size.
  uint8_t default_policy = YARD_POLICY_RANDOM;
  uint32_t maglev_table_size = YARD_DEFAULT_MAGLEV_TABLE_SIZE;
};

// What one service contributes. Backend sets are named after the service
// port ("ns/name:80/TCP"), so they are never shared between services.
struct ServiceEntries {
  std::map<FrontendKey, Frontend> frontends;
  std::map<std::string, BackendSet> sets;
  // Parts that could not be programmed and were skipped (an IPv6
  // clusterIP, an SCTP port, ...): for logs and status, not errors, since
  // the rest of the cluster must still be served.
  std::vector<std::string> skipped;
};

// sessionAffinity: ClientIP's timeout as Kubernetes defines it: 10800 s
// when unset, at most 86400 (the API refuses more; a larger value from an
// unchecked source is capped rather than trusted). 0 without affinity.
inline constexpr uint32_t kDefaultAffinityTimeoutS = 10800;
inline constexpr uint32_t kMaxAffinityTimeoutS = 86400;
uint32_t AffinityTimeoutSeconds(const ServiceSpec& spec);

ServiceEntries TranslateService(const ClusterState& state,
                                const std::string& service_key,
                                const ServiceSpec& service,
                                const NodeContext& node);

// The desired state of a node, kept up to date service by service.
// Frontends two services both claim (an external IP:port declared twice)
// go to the first in key order; the other's claim is reported as skipped
// and takes over if the first goes away.
class DesiredStateCache {
 public:
  // Recomputes everything.
  DesiredChange Rebuild(const ClusterState& state, const NodeContext& node);
  // Recomputes `services` ("namespace/name"; gone ones are removed) and
  // returns what changed.
  DesiredChange Update(const ClusterState& state, const NodeContext& node,
                       const std::set<std::string>& services);

  const DesiredState& desired() const { return desired_; }
  std::vector<std::string> skipped() const;

 private:
  void Remove(const std::string& service, DesiredChange& change);
  void Add(const std::string& service, ServiceEntries entries,
           DesiredChange& change);

  // What each service contributed, by key only: the values live once, in
  // desired_ (the winning claims) or rivals_.
  struct Footprint {
    std::vector<FrontendKey> frontends;
    std::vector<std::string> sets;
    std::vector<std::string> skipped;
  };
  std::map<std::string, Footprint> by_service_;
  // The claims on a frontend that lost to the one in desired_, by service
  // key; only contested frontends have an entry. Keeping every claim here
  // as well as the winner in desired_ cost a second copy of each frontend
  // and its strings: about 1 KB a service.
  std::map<FrontendKey, std::map<std::string, Frontend>> rivals_;
  DesiredState desired_;
};

// A health-check node port this node serves, as kube-proxy does for
// LoadBalancer services with externalTrafficPolicy: Local: load balancers
// probe it to learn which nodes have endpoints.
struct HealthCheck {
  std::string service;  // "namespace/name"
  uint16_t port = 0;
  uint32_t local_endpoints = 0;  // ready endpoints on this node
  bool operator==(const HealthCheck&) const = default;
};
// The health check of one service ("namespace/name"), if it has one.
std::optional<HealthCheck> HealthCheckOf(const ClusterState& state,
                                         const std::string& service_key,
                                         const NodeContext& node);
// Every service's, in key order.
std::vector<HealthCheck> HealthChecks(const ClusterState& state,
                                      const NodeContext& node);

}  // namespace switchyard::translate

#endif  // SWITCHYARD_CONTROL_TRANSLATE_TRANSLATE_H_
