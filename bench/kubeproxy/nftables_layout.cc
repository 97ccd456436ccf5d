// SPDX-License-Identifier: Apache-2.0
#include "bench/kubeproxy/nftables_layout.h"

#include "absl/strings/str_cat.h"
#include "bench/kubeproxy/chain_names.h"

namespace switchyard::bench::kubeproxy {
namespace {

using live::Endpoint;
using live::IpText;
using live::ServicePort;

constexpr char kT[] = "ip kube-proxy";

// "bench/svc-17/udp/p80", the readable half of kube-proxy's chain names.
std::string PortId(const ServicePort& sp) {
  return absl::StrCat(sp.name, "/", RuleProtoName(sp.proto), "/", sp.port_name);
}

std::string ServiceChain(const ServicePort& sp) {
  const std::string id = PortId(sp);
  return absl::StrCat("service-", Digest(id, 8), "-", id);
}

std::string ExternalChain(const ServicePort& sp) {
  const std::string id = PortId(sp);
  return absl::StrCat("external-", Digest(id, 8), "-", id);
}

std::string EndpointChain(const ServicePort& sp, const Endpoint& ep) {
  const std::string id =
      absl::StrCat(PortId(sp), "__", IpText(ep.addr), "/", ep.port);
  return absl::StrCat("endpoint-", Digest(id, 8), "-", id);
}

// Sets, maps and chains every kube-proxy table has, services or not.
std::string BaseRules(const LayoutOptions& options) {
  std::string out;
  absl::StrAppend(&out, "add table ", kT,
                  " { comment \"rules for kube-proxy\" ; }\n", "add set ", kT,
                  " cluster-ips { type ipv4_addr ; }\n", "add set ", kT,
                  " nodeport-ips { type ipv4_addr ; }\n");
  for (const char* map :
       {"firewall-ips", "no-endpoint-services", "service-ips"}) {
    absl::StrAppend(&out, "add map ", kT, " ", map,
                    " { type ipv4_addr . inet_proto . inet_service : verdict "
                    "; }\n");
  }
  for (const char* map : {"no-endpoint-nodeports", "service-nodeports"}) {
    absl::StrAppend(&out, "add map ", kT, " ", map,
                    " { type inet_proto . inet_service : verdict ; }\n");
  }
  const char* base_chains[][2] = {
      {"filter-prerouting-pre-dnat", "filter hook prerouting priority -110"},
      {"filter-output-pre-dnat", "filter hook output priority -110"},
      {"filter-forward", "filter hook forward priority 0"},
      {"filter-input", "filter hook input priority 0"},
      {"filter-output", "filter hook output priority 0"},
      {"nat-output", "nat hook output priority -100"},
      {"nat-postrouting", "nat hook postrouting priority 100"},
      {"nat-prerouting", "nat hook prerouting priority -100"},
  };
  for (const auto& chain : base_chains) {
    absl::StrAppend(&out, "add chain ", kT, " ", chain[0], " { type ", chain[1],
                    " ; }\n");
  }
  for (const char* chain :
       {"cluster-ips-check", "firewall-check", "mark-for-masquerade",
        "masquerading", "nodeport-endpoints-check", "reject-chain", "services",
        "service-endpoints-check"}) {
    absl::StrAppend(&out, "add chain ", kT, " ", chain, "\n");
  }
  const std::string r = absl::StrCat("add rule ", kT, " ");
  absl::StrAppend(
      &out, r, "cluster-ips-check ip daddr @cluster-ips reject\n", r,
      "cluster-ips-check ip daddr { ", options.service_cidr, " } drop\n", r,
      "filter-prerouting-pre-dnat ct state new jump firewall-check\n", r,
      "filter-forward ct state new jump service-endpoints-check\n", r,
      "filter-forward ct state new jump cluster-ips-check\n", r,
      "filter-input ct state new jump nodeport-endpoints-check\n", r,
      "filter-input ct state new jump service-endpoints-check\n", r,
      "filter-output ct state new jump service-endpoints-check\n", r,
      "filter-output-pre-dnat ct state new jump firewall-check\n", r,
      "filter-output ct state new jump cluster-ips-check\n", r,
      "firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips\n",
      r, "mark-for-masquerade mark set mark or 0x4000\n", r,
      "masquerading mark and 0x4000 == 0 return\n", r,
      "masquerading mark set mark xor 0x4000\n", r,
      "masquerading masquerade fully-random\n", r, "nat-output jump services\n",
      r, "nat-postrouting jump masquerading\n", r,
      "nat-prerouting jump services\n", r,
      "nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th "
      "dport vmap @no-endpoint-nodeports\n",
      r, "reject-chain reject\n", r,
      "services ip daddr . meta l4proto . th dport vmap @service-ips\n", r,
      "services ip daddr @nodeport-ips meta l4proto . th dport vmap "
      "@service-nodeports\n",
      r,
      "service-endpoints-check ip daddr . meta l4proto . th dport vmap "
      "@no-endpoint-services\n");
  for (const std::string& ip : options.node_ips) {
    absl::StrAppend(&out, "add element ", kT, " nodeport-ips { ", ip, " }\n");
  }
  return out;
}

}  // namespace

std::vector<std::string> NftablesTransactions(
    const std::vector<ServicePort>& services, const LayoutOptions& options,
    size_t services_per_transaction) {
  std::vector<std::string> out;
  out.push_back(BaseRules(options));
  // nft checks a jump's target when it reads the rule, so every chain is
  // added before the first rule that names it.
  for (const ServicePort& sp : services) {
    absl::StrAppend(&out[0], "add chain ", kT, " ", ServiceChain(sp), "\n");
    if (sp.node_port != 0) {
      absl::StrAppend(&out[0], "add chain ", kT, " ", ExternalChain(sp), "\n");
    }
    for (const Endpoint& ep : sp.endpoints) {
      absl::StrAppend(&out[0], "add chain ", kT, " ", EndpointChain(sp, ep),
                      "\n");
    }
  }
  const std::string r = absl::StrCat("add rule ", kT, " ");
  const size_t per = services_per_transaction ? services_per_transaction : 1;
  for (size_t i = 0; i < services.size(); ++i) {
    if (i % per == 0) out.emplace_back();
    std::string& tx = out.back();
    const ServicePort& sp = services[i];
    const std::string proto = RuleProtoName(sp.proto);
    const std::string svc = ServiceChain(sp);
    absl::StrAppend(&tx, r, svc, " ip daddr ", IpText(sp.cluster_ip), " ",
                    proto, " dport ", sp.port,
                    " ip saddr != ", options.cluster_cidr,
                    " jump mark-for-masquerade\n");
    absl::StrAppend(&tx, r, svc, " numgen random mod ", sp.endpoints.size(),
                    " vmap { ");
    for (size_t e = 0; e < sp.endpoints.size(); ++e) {
      absl::StrAppend(&tx, e ? " , " : "", e, " : goto ",
                      EndpointChain(sp, sp.endpoints[e]));
    }
    absl::StrAppend(&tx, " }\n");
    for (const Endpoint& ep : sp.endpoints) {
      const std::string chain = EndpointChain(sp, ep);
      // Hairpin: an endpoint reaching itself through its service.
      absl::StrAppend(&tx, r, chain, " ip saddr ", IpText(ep.addr),
                      " jump mark-for-masquerade\n");
      absl::StrAppend(&tx, r, chain, " meta l4proto ", proto, " dnat to ",
                      IpText(ep.addr), ":", ep.port, "\n");
    }
    absl::StrAppend(&tx, "add element ", kT, " cluster-ips { ",
                    IpText(sp.cluster_ip), " }\n");
    absl::StrAppend(&tx, "add element ", kT, " service-ips { ",
                    IpText(sp.cluster_ip), " . ", proto, " . ", sp.port,
                    " : goto ", svc, " }\n");
    if (sp.node_port != 0) {
      const std::string ext = ExternalChain(sp);
      absl::StrAppend(&tx, r, ext, " jump mark-for-masquerade\n", r, ext,
                      " goto ", svc, "\n");
      absl::StrAppend(&tx, "add element ", kT, " service-nodeports { ", proto,
                      " . ", sp.node_port, " : goto ", ext, " }\n");
    }
  }
  return out;
}

std::string NftablesScript(const std::vector<ServicePort>& services,
                           const LayoutOptions& options) {
  std::string out;
  for (const std::string& tx :
       NftablesTransactions(services, options, services.size())) {
    out += tx;
  }
  return out;
}

}  // namespace switchyard::bench::kubeproxy
