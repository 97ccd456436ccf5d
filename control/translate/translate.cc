// SPDX-License-Identifier: Apache-2.0
#include "control/translate/translate.h"

#include <netinet/in.h>

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "control/common/ipv4.h"
#include "yard_abi.h"

namespace switchyard::translate {
namespace {

struct Candidate {
  BackendAddr addr;
  bool ready = false;
  bool serving = false;
  bool terminating = false;
  bool local = false;
};

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
std::optional<int> EndpointPort(const v1::ServicePort& svc_port,
                                const std::string& protocol,
                                const v1::EndpointSlice& slice) {
  for (const v1::EndpointPort& p : slice.ports()) {
    std::string p_protocol = p.protocol().empty() ? "TCP" : p.protocol();
    if (p.name() == svc_port.name() && p_protocol == protocol) return p.port();
  }
  if (!svc_port.has_target_port()) return svc_port.port();
  if (svc_port.target_port().value_case() == v1::IntOrString::kNumber) {
    return svc_port.target_port().number();
  }
  return std::nullopt;  // a named targetPort needs the slice to resolve it
}

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

std::vector<Candidate> Candidates(
    const std::vector<const v1::EndpointSlice*>& slices,
    const v1::ServicePort& svc_port, const std::string& protocol,
    const NodeContext& node) {
  std::vector<Candidate> out;
  for (const v1::EndpointSlice* slice : slices) {
    std::optional<int> port = EndpointPort(svc_port, protocol, *slice);
    if (!port || *port < 1 || *port > 65535) continue;
    for (const v1::Endpoint& ep : slice->endpoints()) {
      const v1::EndpointConditions& c = ep.conditions();
      Candidate cand;
      // Unknown ready/serving read as true, unknown terminating as false
      // (the EndpointSlice API's own guidance).
      cand.ready = c.has_ready() ? c.ready() : true;
      cand.serving = c.has_serving() ? c.serving() : cand.ready;
      cand.terminating = c.has_terminating() ? c.terminating() : false;
      cand.local = ep.node_name() == node.node_name;
      for (const std::string& text : ep.addresses()) {
        absl::StatusOr<uint32_t> addr = ParseIpv4(text);
        if (!addr.ok()) continue;
        cand.addr = {*addr, htons(static_cast<uint16_t>(*port))};
        out.push_back(cand);
      }
    }
  }
  return out;
}

// Kubernetes' endpoint eligibility: ready endpoints; when none is ready,
// those still serving while terminating, so a rollout that terminates
// every pod at once keeps answering; with publishNotReadyAddresses,
// everything.
BackendSet MakeSet(const std::vector<Candidate>& candidates,
                   bool publish_not_ready, bool local_only) {
  std::set<BackendAddr> eligible, draining;
  auto considered = [&](const Candidate& c) { return !local_only || c.local; };
  for (const Candidate& c : candidates) {
    if (considered(c) && (publish_not_ready || (c.ready && !c.terminating))) {
      eligible.insert(c.addr);
    }
  }
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

}  // namespace

ServiceEntries TranslateService(const ClusterState& state,
                                const std::string& key,
                                const v1::Service& service,
                                const NodeContext& node) {
  ServiceEntries out;
  const v1::ServiceSpec& spec = service.spec();
  if (spec.type() == "ExternalName") return out;  // DNS only
  if (spec.cluster_ip() == "None") return out;    // headless: DNS only
  std::vector<std::string> cluster_texts(spec.cluster_ips().begin(),
                                         spec.cluster_ips().end());
  if (cluster_texts.empty() && !spec.cluster_ip().empty()) {
    cluster_texts.push_back(spec.cluster_ip());
  }
  std::vector<uint32_t> cluster_ips =
      Ipv4s(key, "clusterIP", cluster_texts, out.skipped);
  std::vector<std::string> external_texts(spec.external_ips().begin(),
                                          spec.external_ips().end());
  for (const v1::LoadBalancerIngress& ingress :
       service.status().load_balancer_ingress()) {
    if (!ingress.ip().empty()) external_texts.push_back(ingress.ip());
  }
  std::vector<uint32_t> external_ips =
      Ipv4s(key, "external address", external_texts, out.skipped);
  if (spec.session_affinity() == "ClientIP") {
    out.skipped.push_back(absl::StrCat(
        key,
        ": sessionAffinity ClientIP not implemented yet; new flows "
        "choose at random"));
  }

  std::vector<const v1::EndpointSlice*> slices = state.SlicesOf(key);
  bool internal_local = spec.internal_traffic_policy() == "Local";
  bool any_port = false;
  for (const v1::ServicePort& port : spec.ports()) {
    std::string protocol = port.protocol().empty() ? "TCP" : port.protocol();
    std::optional<uint8_t> proto = ProtocolNumber(protocol);
    std::string port_name = absl::StrCat(key, ":", port.port(), "/", protocol);
    if (!proto) {
      out.skipped.push_back(
          absl::StrCat(port_name, ": protocol not supported by the datapath"));
      continue;
    }
    if (port.port() < 1 || port.port() > 65535) continue;
    any_port = true;
    uint16_t port_be = htons(static_cast<uint16_t>(port.port()));
    std::vector<Candidate> candidates =
        Candidates(slices, port, protocol, node);

    const std::string& cluster_set = port_name;
    std::string internal_set = cluster_set;
    if (internal_local) {
      internal_set = absl::StrCat(port_name, "@local");
      out.sets[internal_set] =
          MakeSet(candidates, spec.publish_not_ready_addresses(), true);
    }
    for (uint32_t addr : cluster_ips) {
      out.frontends[{addr, port_be, *proto}] = {internal_set, 0,
                                                YARD_POLICY_RANDOM, port_name};
    }
    // Pods reaching an external or load-balancer address are served from
    // every endpoint, as kube-proxy short-circuits them.
    for (uint32_t addr : external_ips) {
      out.frontends[{addr, port_be, *proto}] = {cluster_set, 0,
                                                YARD_POLICY_RANDOM, port_name};
    }
    if (!internal_local || !external_ips.empty()) {
      out.sets[cluster_set] =
          MakeSet(candidates, spec.publish_not_ready_addresses(), false);
    }
  }
  (void)any_port;
  for (uint32_t addr : cluster_ips) out.frontends[{addr, 0, 0}] = Wildcard(key);
  for (uint32_t addr : external_ips)
    out.frontends[{addr, 0, 0}] = Wildcard(key);
  return out;
}

void DesiredStateCache::Resolve(const FrontendKey& key) {
  auto claims = claims_.find(key);
  if (claims == claims_.end() || claims->second.empty()) {
    if (claims != claims_.end()) claims_.erase(claims);
    desired_.frontends.erase(key);
    return;
  }
  desired_.frontends[key] = claims->second.begin()->second;
}

void DesiredStateCache::Remove(const std::string& service,
                               DesiredChange& change) {
  auto it = by_service_.find(service);
  if (it == by_service_.end()) return;
  for (const auto& [key, fe] : it->second.frontends) {
    claims_[key].erase(service);
    Resolve(key);
    change.frontends.insert(key);
  }
  for (const auto& [name, set] : it->second.sets) {
    desired_.sets.erase(name);
    change.sets.insert(name);
  }
  by_service_.erase(it);
}

void DesiredStateCache::Add(const std::string& service, ServiceEntries entries,
                            DesiredChange& change) {
  for (const auto& [key, fe] : entries.frontends) {
    claims_[key][service] = fe;
    Resolve(key);
    change.frontends.insert(key);
  }
  for (const auto& [name, set] : entries.sets) {
    desired_.sets[name] = set;
    change.sets.insert(name);
  }
  by_service_[service] = std::move(entries);
}

DesiredChange DesiredStateCache::Rebuild(const ClusterState& state,
                                         const NodeContext& node) {
  by_service_.clear();
  claims_.clear();
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
  for (const auto& [service, entries] : by_service_) {
    out.insert(out.end(), entries.skipped.begin(), entries.skipped.end());
  }
  for (const auto& [key, claims] : claims_) {
    if (key.is_wildcard() || claims.size() < 2) continue;
    for (auto it = std::next(claims.begin()); it != claims.end(); ++it) {
      out.push_back(absl::StrCat(it->first, ": ", FormatIpv4(key.addr_be), ":",
                                 ntohs(key.port_be), " already belongs to ",
                                 claims.begin()->first));
    }
  }
  return out;
}

DesiredState Translate(const ClusterState& state, const NodeContext& node) {
  DesiredStateCache cache;
  cache.Rebuild(state, node);
  return cache.desired();
}

}  // namespace switchyard::translate
