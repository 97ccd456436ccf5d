// SPDX-License-Identifier: Apache-2.0
#include "control/translate/translate.h"

#include <netinet/in.h>

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "control/common/ipv4.h"
#include "control/translate/lb_policy.h"
#include "control/translate/topology.h"
#include "yard_abi.h"

namespace switchyard::translate {
namespace {

std::optional<uint8_t> ProtocolNumber(const std::string& protocol) {
  if (protocol.empty() || protocol == "TCP") return IPPROTO_TCP;
  if (protocol == "UDP") return IPPROTO_UDP;
  return std::nullopt;  // SCTP: not in the datapath yet
}

// The endpoint port a slice gives a service port. Slices name their ports
// after the service's (the EndpointSlice controller resolves a named
// targetPort per pod into these numbers), so matching is by name. A slice
// without that name (hand-written ones often have none) falls back to a
// numeric targetPort, or the service port itself when targetPort is unset.
std::optional<int> EndpointPort(const ServicePortSpec& svc_port,
                                const Slice& slice) {
  for (const SlicePort& p : slice.ports) {
    if (p.name == svc_port.name && p.protocol == svc_port.protocol) {
      return p.port;
    }
  }
  if (!svc_port.target_name.empty()) return std::nullopt;  // needs a slice
  return svc_port.target_number != 0 ? svc_port.target_number : svc_port.port;
}

struct Candidate {
  BackendAddr addr;
  bool ready = false;
  bool serving = false;
  bool terminating = false;
  bool local = false;
  std::vector<uint32_t> zone_hints;  // effective: see topology.h
};

std::vector<uint32_t> Ipv4s(const std::string& service_key,
                            const std::string& field,
                            const std::vector<std::string>& texts,
                            std::vector<std::string>& skipped) {
  std::vector<uint32_t> addrs;
  for (const std::string& text : texts) {
    absl::StatusOr<uint32_t> addr = ParseIpv4(text);
    if (addr.ok()) {
      addrs.push_back(*addr);
    } else {
      skipped.push_back(
          absl::StrCat(service_key, ": ", field, " ", text,
                       " is not IPv4 (IPv6 comes with dual-stack)"));
    }
  }
  return addrs;
}

std::vector<Candidate> Candidates(const ClusterState& state,
                                  const std::vector<const Slice*>& slices,
                                  const ServicePortSpec& svc_port,
                                  const NodeContext& node, bool prefer_close) {
  std::vector<Candidate> out;
  for (const Slice* slice : slices) {
    std::optional<int> port = EndpointPort(svc_port, *slice);
    if (!port || *port < 1 || *port > 65535) continue;
    uint16_t port_be = htons(static_cast<uint16_t>(*port));
    for (const SliceEndpoint& ep : slice->endpoints) {
      out.push_back({{ep.addr_be, port_be},
                     ep.ready,
                     ep.serving,
                     ep.terminating,
                     state.node_name(ep.node) == node.node_name,
                     EffectiveZoneHints(*slice, ep, prefer_close)});
    }
  }
  return out;
}

// Whether the clusterwide set of a service port keeps to the node's zone
// (topology.h): decided over the endpoints new flows could use.
bool KeepsToZone(const std::vector<Candidate>& candidates,
                 bool publish_not_ready, uint32_t node_zone) {
  std::vector<ZoneHinted> hinted;
  for (const Candidate& c : candidates) {
    hinted.push_back(
        {publish_not_ready || (c.ready && !c.terminating), &c.zone_hints});
  }
  return UseZoneHints(hinted, node_zone);
}

// Kubernetes' endpoint eligibility: ready endpoints; when none is ready,
// those still serving while terminating, so a rollout that terminates
// every pod at once keeps answering; with publishNotReadyAddresses,
// everything. With zone hints in use (zone != kNoZone), ready endpoints
// of other zones take no new flows but keep the ones they have.
BackendSet MakeSet(const std::vector<Candidate>& candidates,
                   bool publish_not_ready, bool local_only,
                   uint32_t zone = kNoZone) {
  std::set<BackendAddr> eligible, draining;
  auto considered = [&](const Candidate& c) { return !local_only || c.local; };
  for (const Candidate& c : candidates) {
    if (considered(c) && (publish_not_ready || (c.ready && !c.terminating))) {
      if (zone == kNoZone || HintedFor(c.zone_hints, zone)) {
        eligible.insert(c.addr);
      } else {
        draining.insert(c.addr);
      }
    }
  }
  for (const BackendAddr& addr : eligible) draining.erase(addr);
  bool fallback = eligible.empty();
  for (const Candidate& c : candidates) {
    if (!considered(c) || !c.serving || !c.terminating) continue;
    if (fallback) {
      eligible.insert(c.addr);
    } else if (!eligible.contains(c.addr)) {
      draining.insert(c.addr);
    }
  }
  return {{eligible.begin(), eligible.end()},
          {draining.begin(), draining.end()}};
}

Frontend Wildcard(const std::string& service) {
  Frontend wildcard;
  wildcard.flags = YARD_SVC_F_WILDCARD;
  wildcard.service = service;
  return wildcard;
}

// loadBalancerSourceRanges as prefixes, host bits cleared (Kubernetes
// accepts "10.0.0.1/8"); duplicates merged.
std::vector<SourceRange> SourceRanges(const std::string& service_key,
                                      const std::vector<std::string>& texts,
                                      std::vector<std::string>& skipped) {
  std::set<SourceRange> ranges;
  for (const std::string& text : texts) {
    absl::StatusOr<Ipv4Cidr> cidr = ParseIpv4Cidr(text);
    if (!cidr.ok()) {
      skipped.push_back(absl::StrCat(service_key,
                                     ": loadBalancerSourceRanges entry ", text,
                                     " is not IPv4 (IPv6 comes with "
                                     "dual-stack)"));
      continue;
    }
    ranges.insert(
        {htonl(cidr->network()), static_cast<uint8_t>(cidr->prefix_len)});
  }
  return {ranges.begin(), ranges.end()};
}

Frontend Translating(const std::string& set, const std::string& port_name,
                     uint8_t policy, uint32_t aff_timeout_s) {
  Frontend fe;
  fe.set = set;
  fe.policy = policy;
  fe.service = port_name;
  if (aff_timeout_s != 0) {
    fe.flags |= YARD_SVC_F_AFFINITY;
    fe.aff_timeout_s = aff_timeout_s;
  }
  return fe;
}

// How the service's new flows choose: its annotations over the node's
// defaults. A bad annotation (the controller refuses one at apply, but a
// Service mirrored from Kubernetes cannot be refused) is reported, and the
// Service served with the defaults.
LbOptions SelectionOf(const std::string& key, const ServiceSpec& spec,
                      const NodeContext& node,
                      std::vector<std::string>& skipped) {
  absl::StatusOr<LbOptions> parsed = ParseLbAnnotations(spec.lb);
  LbOptions out;
  if (parsed.ok()) {
    out = *std::move(parsed);
  } else {
    skipped.push_back(absl::StrCat(key, ": ", parsed.status().message(),
                                   "; served with the node's default (",
                                   LbPolicyName(node.default_policy), ")"));
  }
  if (!out.policy) out.policy = node.default_policy;
  if (out.maglev_table_size == 0)
    out.maglev_table_size = node.maglev_table_size;
  return out;
}

// What a Maglev set needs besides its endpoints: the table size, and the
// weights of its endpoints (by address; 1 when not listed).
void AddMaglev(const LbOptions& lb, BackendSet& set) {
  if (lb.policy != YARD_POLICY_MAGLEV) return;
  set.maglev_table_size = lb.maglev_table_size;
  if (lb.weights.empty()) return;
  for (const BackendAddr& addr : set.eligible) {
    auto it = lb.weights.find(addr.addr_be);
    set.weights.push_back(it == lb.weights.end() ? 1 : it->second);
  }
}

// Where a service is reached, and which of its policies apply there.
struct ServiceAddresses {
  std::vector<uint32_t> cluster_ips;
  std::vector<uint32_t> external_ips;
  std::vector<uint32_t> lb_ips;  // LoadBalancer services only
  std::vector<SourceRange> ranges;
  bool has_node_ports = false;
  bool external_local = false;
  bool internal_local = false;
  uint32_t aff_timeout_s = 0;  // 0: no session affinity
};

ServiceAddresses AddressesOf(const std::string& key, const ServiceSpec& spec,
                             std::vector<std::string>& skipped) {
  ServiceAddresses out;
  out.cluster_ips = Ipv4s(key, "clusterIP", spec.cluster_ips, skipped);
  out.external_ips = Ipv4s(key, "externalIP", spec.external_ips, skipped);
  out.lb_ips =
      Ipv4s(key, "load-balancer ingress IP", spec.load_balancer_ips, skipped);
  out.has_node_ports = spec.type == "NodePort" || spec.type == "LoadBalancer";
  // Only LoadBalancer services have load-balancer IPs and source ranges;
  // Kubernetes keeps them off other types, and so does this.
  if (spec.type != "LoadBalancer") out.lb_ips.clear();
  if (!out.lb_ips.empty()) {
    out.ranges = SourceRanges(key, spec.load_balancer_source_ranges, skipped);
  }
  // externalTrafficPolicy applies to traffic from outside the cluster:
  // NodePorts, load-balancer and external IPs.
  out.external_local = spec.external_traffic_policy == "Local" &&
                       (out.has_node_ports || !out.external_ips.empty());
  out.internal_local = spec.internal_traffic_policy == "Local";
  out.aff_timeout_s = AffinityTimeoutSeconds(spec);
  return out;
}

// The frontends and sets of one service port.
void TranslatePort(const ClusterState& state,
                   const std::vector<const Slice*>& slices,
                   const ServiceSpec& spec, const ServicePortSpec& port,
                   const std::string& key, const ServiceAddresses& at,
                   const LbOptions& lb, const NodeContext& node,
                   ServiceEntries& out) {
  std::optional<uint8_t> proto = ProtocolNumber(port.protocol);
  std::string port_name = absl::StrCat(key, ":", port.port, "/", port.protocol);
  if (!proto) {
    out.skipped.push_back(
        absl::StrCat(port_name, ": protocol not supported by the datapath"));
    return;
  }
  if (port.port < 1 || port.port > 65535) return;
  uint16_t port_be = htons(static_cast<uint16_t>(port.port));
  const uint32_t node_zone = NodeZoneIndex(state, node.node_name);
  std::vector<Candidate> candidates = Candidates(
      state, slices, port, node, spec.traffic_distribution == kPreferClose);
  const uint32_t zone =
      KeepsToZone(candidates, spec.publish_not_ready_addresses, node_zone)
          ? node_zone
          : kNoZone;
  auto make_set = [&](const std::string& name, bool local_only) {
    if (!out.sets.contains(name)) {
      out.sets[name] = MakeSet(candidates, spec.publish_not_ready_addresses,
                               local_only, local_only ? kNoZone : zone);
      AddMaglev(lb, out.sets[name]);
    }
    return name;
  };
  auto serve = [&](uint32_t addr, uint16_t port_be, uint8_t scope,
                   const std::string& set) {
    out.frontends[{addr, port_be, *proto, scope}] =
        Translating(set, port_name, *lb.policy, at.aff_timeout_s);
  };

  // Pods' view. Pods reaching an external, load-balancer or node address
  // are served from every endpoint, as kube-proxy short-circuits them.
  std::string internal_set =
      at.internal_local ? make_set(absl::StrCat(port_name, "@local"), true)
                        : make_set(port_name, false);
  for (uint32_t addr : at.cluster_ips) {
    serve(addr, port_be, YARD_SCOPE_INTERNAL, internal_set);
  }
  bool node_port =
      at.has_node_ports && port.node_port >= 1 && port.node_port <= 65535;
  uint16_t node_port_be =
      node_port ? htons(static_cast<uint16_t>(port.node_port)) : 0;
  if (at.external_ips.empty() && at.lb_ips.empty() &&
      !(node_port && !node.node_port_addrs_be.empty())) {
    return;
  }
  std::string all = make_set(port_name, false);
  for (uint32_t addr : at.external_ips) {
    serve(addr, port_be, YARD_SCOPE_INTERNAL, all);
  }
  for (uint32_t addr : at.lb_ips)
    serve(addr, port_be, YARD_SCOPE_INTERNAL, all);
  if (node_port) {
    for (uint32_t addr : node.node_port_addrs_be) {
      serve(addr, node_port_be, YARD_SCOPE_INTERNAL, all);
    }
  }

  // Outside clients' view.
  std::string external_set =
      at.external_local
          ? make_set(absl::StrCat(port_name, "@external-local"), true)
          : all;
  for (uint32_t addr : at.external_ips) {
    serve(addr, port_be, YARD_SCOPE_EXTERNAL, external_set);
  }
  for (uint32_t addr : at.lb_ips) {
    Frontend fe =
        Translating(external_set, port_name, *lb.policy, at.aff_timeout_s);
    if (!at.ranges.empty()) {
      fe.flags |= YARD_SVC_F_SOURCE_RANGES;
      fe.source_ranges = at.ranges;
    }
    out.frontends[{addr, port_be, *proto, YARD_SCOPE_EXTERNAL}] = fe;
  }
  if (node_port) {
    for (uint32_t addr : node.node_port_addrs_be) {
      serve(addr, node_port_be, YARD_SCOPE_EXTERNAL, external_set);
    }
  }
}

}  // namespace

uint32_t AffinityTimeoutSeconds(const ServiceSpec& spec) {
  if (spec.session_affinity != "ClientIP") return 0;
  if (spec.aff_timeout_s <= 0) return kDefaultAffinityTimeoutS;
  return std::min<uint32_t>(spec.aff_timeout_s, kMaxAffinityTimeoutS);
}

ServiceEntries TranslateService(const ClusterState& state,
                                const std::string& key, const ServiceSpec& spec,
                                const NodeContext& node) {
  ServiceEntries out;
  if (spec.type == "ExternalName") return out;  // DNS only
  if (spec.headless) return out;                // DNS only
  ServiceAddresses at = AddressesOf(key, spec, out.skipped);
  LbOptions lb = SelectionOf(key, spec, node, out.skipped);
  std::vector<const Slice*> slices = state.SlicesOf(key);
  for (const ServicePortSpec& port : spec.ports) {
    TranslatePort(state, slices, spec, port, key, at, lb, node, out);
  }
  // Service addresses reject ports they do not define. Node addresses get
  // no wildcard: the node's own ports are not a service's.
  for (uint32_t addr : at.cluster_ips) {
    out.frontends[{addr, 0, 0, YARD_SCOPE_INTERNAL}] = Wildcard(key);
  }
  for (const std::vector<uint32_t>* addrs : {&at.external_ips, &at.lb_ips}) {
    for (uint32_t addr : *addrs) {
      out.frontends[{addr, 0, 0, YARD_SCOPE_INTERNAL}] = Wildcard(key);
      out.frontends[{addr, 0, 0, YARD_SCOPE_EXTERNAL}] = Wildcard(key);
    }
  }
  return out;
}

std::optional<HealthCheck> HealthCheckOf(const ClusterState& state,
                                         const std::string& key,
                                         const NodeContext& node) {
  auto it = state.services().find(key);
  if (it == state.services().end()) return std::nullopt;
  const ServiceSpec& spec = it->second;
  if (spec.type != "LoadBalancer" || spec.external_traffic_policy != "Local" ||
      spec.health_check_node_port < 1 || spec.health_check_node_port > 65535) {
    return std::nullopt;
  }
  // kube-proxy counts the endpoints this node would serve: ready and
  // local, each address once whatever its ports.
  std::set<uint32_t> local;
  for (const Slice* slice : state.SlicesOf(key)) {
    for (const SliceEndpoint& ep : slice->endpoints) {
      if (ep.ready && !ep.terminating &&
          state.node_name(ep.node) == node.node_name) {
        local.insert(ep.addr_be);
      }
    }
  }
  return HealthCheck{key, static_cast<uint16_t>(spec.health_check_node_port),
                     static_cast<uint32_t>(local.size())};
}

std::vector<HealthCheck> HealthChecks(const ClusterState& state,
                                      const NodeContext& node) {
  std::vector<HealthCheck> out;
  for (const auto& [key, spec] : state.services()) {
    if (std::optional<HealthCheck> check = HealthCheckOf(state, key, node)) {
      out.push_back(*std::move(check));
    }
  }
  return out;
}

namespace {

// The service key ("namespace/name") a claim came from: a port frontend's
// `service` reads "namespace/name:port/PROTO", a wildcard's is the key
// itself, and neither part of a key can hold a ':'.
absl::string_view ClaimantOf(const Frontend& fe) {
  absl::string_view service = fe.service;
  return service.substr(0, service.find(':'));
}

}  // namespace

void DesiredStateCache::Remove(const std::string& service,
                               DesiredChange& change) {
  auto it = by_service_.find(service);
  if (it == by_service_.end()) return;
  for (const FrontendKey& key : it->second.frontends) {
    change.frontends.insert(key);
    auto rivals = rivals_.find(key);
    if (rivals == rivals_.end()) {
      desired_.frontends.erase(key);
      continue;
    }
    // A losing claim goes quietly; the winning one hands the frontend to
    // the first rival in key order.
    if (rivals->second.erase(service) == 0) {
      auto next = rivals->second.begin();
      desired_.frontends[key] = std::move(next->second);
      rivals->second.erase(next);
    }
    if (rivals->second.empty()) rivals_.erase(rivals);
  }
  for (const std::string& name : it->second.sets) {
    desired_.sets.erase(name);
    change.sets.insert(name);
  }
  by_service_.erase(it);
}

void DesiredStateCache::Add(const std::string& service, ServiceEntries entries,
                            DesiredChange& change) {
  Footprint& footprint = by_service_[service];
  for (auto& [key, fe] : entries.frontends) {
    change.frontends.insert(key);
    footprint.frontends.push_back(key);
    auto [current, fresh] = desired_.frontends.try_emplace(key);
    if (fresh) {
      current->second = std::move(fe);
    } else if (std::string owner(ClaimantOf(current->second));
               service < owner) {
      // The earlier key wins: the owner so far becomes a rival.
      rivals_[key][owner] = std::move(current->second);
      current->second = std::move(fe);
    } else {
      rivals_[key][service] = std::move(fe);
    }
  }
  for (auto& [name, set] : entries.sets) {
    change.sets.insert(name);
    footprint.sets.push_back(name);
    desired_.sets[name] = std::move(set);
  }
  footprint.skipped = std::move(entries.skipped);
}

DesiredChange DesiredStateCache::Rebuild(const ClusterState& state,
                                         const NodeContext& node) {
  by_service_.clear();
  rivals_.clear();
  desired_ = DesiredState{};
  DesiredChange change;
  change.everything = true;
  for (const auto& [key, service] : state.services()) {
    Add(key, TranslateService(state, key, service, node), change);
  }
  return change;
}

DesiredChange DesiredStateCache::Update(const ClusterState& state,
                                        const NodeContext& node,
                                        const std::set<std::string>& services) {
  DesiredChange change;
  for (const std::string& key : services) {
    Remove(key, change);
    auto service = state.services().find(key);
    if (service != state.services().end()) {
      Add(key, TranslateService(state, key, service->second, node), change);
    }
  }
  return change;
}

std::vector<std::string> DesiredStateCache::skipped() const {
  std::vector<std::string> out;
  for (const auto& [service, footprint] : by_service_) {
    out.insert(out.end(), footprint.skipped.begin(), footprint.skipped.end());
  }
  for (const auto& [key, rivals] : rivals_) {
    if (key.is_wildcard()) continue;
    absl::string_view owner = ClaimantOf(desired_.frontends.at(key));
    for (const auto& [service, fe] : rivals) {
      out.push_back(absl::StrCat(service, ": ", FormatIpv4(key.addr_be), ":",
                                 ntohs(key.port_be), " already belongs to ",
                                 owner));
    }
  }
  return out;
}

}  // namespace switchyard::translate
