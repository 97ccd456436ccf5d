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

class Translator {
 public:
  Translator(const ClusterState& state, const NodeContext& node)
      : state_(state), node_(node) {}

  Translation Run() {
    for (const auto& [key, service] : state_.services()) {
      AddService(key, service);
    }
    return std::move(out_);
  }

 private:
  void Skip(std::string what) { out_.skipped.push_back(std::move(what)); }

  std::vector<uint32_t> Ipv4s(const std::string& service_key,
                              const std::string& field,
                              const std::vector<std::string>& texts) {
    std::vector<uint32_t> addrs;
    for (const std::string& text : texts) {
      absl::StatusOr<uint32_t> addr = ParseIpv4(text);
      if (addr.ok()) {
        addrs.push_back(*addr);
      } else {
        Skip(absl::StrCat(service_key, ": ", field, " ", text,
                          " is not IPv4 (IPv6 comes with dual-stack)"));
      }
    }
    return addrs;
  }

  std::vector<const v1::EndpointSlice*> SlicesOf(const std::string& ns,
                                                 const std::string& name) {
    std::vector<const v1::EndpointSlice*> slices;
    for (const auto& [key, slice] : state_.endpoint_slices()) {
      const std::string& slice_ns = slice.metadata().namespace_();
      if ((slice_ns.empty() ? "default" : slice_ns) != ns) continue;
      auto label = slice.metadata().labels().find(kServiceNameLabel);
      if (label == slice.metadata().labels().end() || label->second != name) {
        continue;
      }
      if (slice.address_type() != "IPv4") continue;
      slices.push_back(&slice);
    }
    return slices;
  }

  std::vector<Candidate> Candidates(
      const std::vector<const v1::EndpointSlice*>& slices,
      const v1::ServicePort& svc_port, const std::string& protocol) {
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
        cand.local = ep.node_name() == node_.node_name;
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
  static BackendSet MakeSet(const std::vector<Candidate>& candidates,
                            bool publish_not_ready, bool local_only) {
    std::set<BackendAddr> eligible, draining;
    for (const Candidate& c : candidates) {
      if (local_only && !c.local) continue;
      if (publish_not_ready || (c.ready && !c.terminating)) {
        eligible.insert(c.addr);
      }
    }
    if (eligible.empty()) {
      for (const Candidate& c : candidates) {
        if (local_only && !c.local) continue;
        if (c.serving && c.terminating) eligible.insert(c.addr);
      }
    } else {
      for (const Candidate& c : candidates) {
        if (local_only && !c.local) continue;
        if (c.serving && c.terminating && !eligible.contains(c.addr)) {
          draining.insert(c.addr);
        }
      }
    }
    return {{eligible.begin(), eligible.end()},
            {draining.begin(), draining.end()}};
  }

  void AddFrontend(const FrontendKey& key, Frontend frontend) {
    auto [it, inserted] = out_.desired.frontends.emplace(key, frontend);
    if (!inserted && it->second != frontend) {
      Skip(absl::StrCat(frontend.service, ": ", FormatIpv4(key.addr_be), ":",
                        ntohs(key.port_be), " already belongs to ",
                        it->second.service));
    }
  }

  void AddWildcard(uint32_t addr, const std::string& service) {
    Frontend wildcard;
    wildcard.flags = YARD_SVC_F_WILDCARD;
    wildcard.service = service;
    // Several services may share an external address; any owner will do.
    out_.desired.frontends.emplace(FrontendKey{addr, 0, 0}, wildcard);
  }

  void AddService(const std::string& key, const v1::Service& service) {
    const v1::ServiceSpec& spec = service.spec();
    if (spec.type() == "ExternalName") return;  // DNS only
    if (spec.cluster_ip() == "None") return;    // headless: DNS only
    std::vector<std::string> cluster_texts(spec.cluster_ips().begin(),
                                           spec.cluster_ips().end());
    if (cluster_texts.empty() && !spec.cluster_ip().empty()) {
      cluster_texts.push_back(spec.cluster_ip());
    }
    std::vector<uint32_t> cluster_ips = Ipv4s(key, "clusterIP", cluster_texts);
    std::vector<std::string> external_texts(spec.external_ips().begin(),
                                            spec.external_ips().end());
    for (const v1::LoadBalancerIngress& ingress :
         service.status().load_balancer_ingress()) {
      if (!ingress.ip().empty()) external_texts.push_back(ingress.ip());
    }
    std::vector<uint32_t> external_ips =
        Ipv4s(key, "external address", external_texts);
    if (spec.session_affinity() == "ClientIP") {
      Skip(absl::StrCat(key, ": sessionAffinity ClientIP not implemented yet; "
                             "new flows choose at random"));
    }

    size_t slash = key.find('/');
    std::vector<const v1::EndpointSlice*> slices =
        SlicesOf(key.substr(0, slash), key.substr(slash + 1));
    bool internal_local = spec.internal_traffic_policy() == "Local";

    for (const v1::ServicePort& port : spec.ports()) {
      std::string protocol = port.protocol().empty() ? "TCP" : port.protocol();
      std::optional<uint8_t> proto = ProtocolNumber(protocol);
      std::string port_name =
          absl::StrCat(key, ":", port.port(), "/", protocol);
      if (!proto) {
        Skip(absl::StrCat(port_name, ": protocol not supported by the datapath"));
        continue;
      }
      if (port.port() < 1 || port.port() > 65535) continue;
      uint16_t port_be = htons(static_cast<uint16_t>(port.port()));
      std::vector<Candidate> candidates = Candidates(slices, port, protocol);

      std::string cluster_set = port_name;
      out_.desired.sets[cluster_set] =
          MakeSet(candidates, spec.publish_not_ready_addresses(), false);
      std::string internal_set = cluster_set;
      if (internal_local) {
        internal_set = absl::StrCat(port_name, "@local");
        out_.desired.sets[internal_set] =
            MakeSet(candidates, spec.publish_not_ready_addresses(), true);
      }
      for (uint32_t addr : cluster_ips) {
        AddFrontend({addr, port_be, *proto},
                    {internal_set, 0, YARD_POLICY_RANDOM, port_name});
      }
      // Pods reaching an external or load-balancer address are served from
      // every endpoint, as kube-proxy short-circuits them.
      for (uint32_t addr : external_ips) {
        AddFrontend({addr, port_be, *proto},
                    {cluster_set, 0, YARD_POLICY_RANDOM, port_name});
      }
    }
    for (uint32_t addr : cluster_ips) AddWildcard(addr, key);
    for (uint32_t addr : external_ips) AddWildcard(addr, key);
  }

  const ClusterState& state_;
  const NodeContext& node_;
  Translation out_;
};

}  // namespace

Translation Translate(const ClusterState& state, const NodeContext& node) {
  Translation t = Translator(state, node).Run();
  // Sets no frontend uses (a port whose addresses all clashed) are dropped
  // so they cost no slots.
  std::set<std::string> used;
  for (const auto& [key, fe] : t.desired.frontends) used.insert(fe.set);
  std::erase_if(t.desired.sets,
                [&](const auto& entry) { return !used.contains(entry.first); });
  return t;
}

}  // namespace switchyard::translate
