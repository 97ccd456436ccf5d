// SPDX-License-Identifier: Apache-2.0
#include "bench/kubeproxy/iptables_layout.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/kubeproxy/chain_names.h"

namespace switchyard::bench::kubeproxy {
namespace {

using live::Endpoint;
using live::IpText;
using live::ServicePort;

// kube-proxy stops writing per-service comments past this many endpoints
// in total, to keep iptables-restore input (and its time) down.
constexpr size_t kLargeClusterEndpoints = 1000;

constexpr char kMasqMark[] = "0x4000";

std::string PortName(const ServicePort& sp) {
  return absl::StrCat(sp.name, ":", sp.port_name);
}

std::string EndpointText(const Endpoint& ep) {
  return absl::StrCat(IpText(ep.addr), ":", ep.port);
}

std::string SvcChain(const ServicePort& sp) {
  return absl::StrCat("KUBE-SVC-",
                      Digest(PortName(sp) + RuleProtoName(sp.proto), 16));
}

std::string ExtChain(const ServicePort& sp) {
  return absl::StrCat("KUBE-EXT-",
                      Digest(PortName(sp) + RuleProtoName(sp.proto), 16));
}

std::string SepChain(const ServicePort& sp, const Endpoint& ep) {
  return absl::StrCat(
      "KUBE-SEP-",
      Digest(PortName(sp) + RuleProtoName(sp.proto) + EndpointText(ep), 16));
}

const char kFilterTable[] = R"(*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
)";

}  // namespace

std::string IptablesRestoreInput(const std::vector<ServicePort>& services,
                                 const LayoutOptions& options) {
  size_t total_endpoints = 0;
  for (const ServicePort& sp : services) total_endpoints += sp.endpoints.size();
  const bool comments = total_endpoints <= kLargeClusterEndpoints;
  auto comment = [&](const std::string& text) {
    return comments ? absl::StrCat("-m comment --comment \"", text, "\" ")
                    : std::string();
  };

  std::string out = kFilterTable;
  absl::StrAppend(&out, R"(*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
)");
  // Every chain is declared before any rule jumps to it.
  for (const ServicePort& sp : services) {
    absl::StrAppend(&out, ":", SvcChain(sp), " - [0:0]\n");
    if (sp.node_port != 0) {
      absl::StrAppend(&out, ":", ExtChain(sp), " - [0:0]\n");
    }
    for (const Endpoint& ep : sp.endpoints) {
      absl::StrAppend(&out, ":", SepChain(sp, ep), " - [0:0]\n");
    }
  }
  absl::StrAppend(
      &out,
      "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j "
      "KUBE-SERVICES\n",
      "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j "
      "KUBE-SERVICES\n",
      "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" "
      "-j KUBE-POSTROUTING\n");
  for (const ServicePort& sp : services) {
    const std::string proto = RuleProtoName(sp.proto);
    absl::StrAppend(&out, "-A KUBE-SERVICES ",
                    comment(PortName(sp) + " cluster IP"), "-m ", proto, " -p ",
                    proto, " -d ", IpText(sp.cluster_ip), " --dport ", sp.port,
                    " -j ", SvcChain(sp), "\n");
  }
  absl::StrAppend(
      &out,
      "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; "
      "NOTE: this must be the last rule in this chain\" -m addrtype "
      "--dst-type LOCAL -j KUBE-NODEPORTS\n",
      "-A KUBE-MARK-MASQ -j MARK --or-mark ", kMasqMark, "\n",
      "-A KUBE-POSTROUTING -m mark ! --mark ", kMasqMark, "/", kMasqMark,
      " -j RETURN\n", "-A KUBE-POSTROUTING -j MARK --xor-mark ", kMasqMark,
      "\n",
      "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic "
      "requiring SNAT\" -j MASQUERADE --random-fully\n");
  // NodePorts: every local address, then the port; outside clients are
  // always masqueraded (externalTrafficPolicy Cluster).
  for (const ServicePort& sp : services) {
    if (sp.node_port == 0) continue;
    const std::string proto = RuleProtoName(sp.proto);
    absl::StrAppend(&out, "-A KUBE-NODEPORTS ", comment(PortName(sp)), "-m ",
                    proto, " -p ", proto, " --dport ", sp.node_port, " -j ",
                    ExtChain(sp), "\n");
    absl::StrAppend(
        &out, "-A ", ExtChain(sp), " ",
        comment(absl::StrCat("masquerade traffic for ", PortName(sp),
                             " external destinations")),
        "-j KUBE-MARK-MASQ\n");
    absl::StrAppend(&out, "-A ", ExtChain(sp), " -j ", SvcChain(sp), "\n");
  }
  for (const ServicePort& sp : services) {
    const std::string proto = RuleProtoName(sp.proto);
    const std::string svc = SvcChain(sp);
    // Traffic from outside the pod network gets its source rewritten, so
    // the endpoint's reply comes back through this node.
    absl::StrAppend(&out, "-A ", svc, " ",
                    comment(PortName(sp) + " cluster IP"), "-m ", proto, " -p ",
                    proto, " -d ", IpText(sp.cluster_ip), " --dport ", sp.port,
                    " ! -s ", options.cluster_cidr, " -j KUBE-MARK-MASQ\n");
    // Endpoint i of n is taken with probability 1/(n-i) among those left:
    // uniform overall; the last one unconditionally.
    const size_t n = sp.endpoints.size();
    for (size_t i = 0; i < n; ++i) {
      const Endpoint& ep = sp.endpoints[i];
      absl::StrAppend(&out, "-A ", svc, " ",
                      comment(PortName(sp) + " -> " + EndpointText(ep)));
      if (i + 1 < n) {
        absl::StrAppend(&out, "-m statistic --mode random --probability ",
                        absl::StrFormat("%0.10f", 1.0 / (n - i)), " ");
      }
      absl::StrAppend(&out, "-j ", SepChain(sp, ep), "\n");
    }
    for (const Endpoint& ep : sp.endpoints) {
      const std::string sep = SepChain(sp, ep);
      // Hairpin: an endpoint reaching itself through its service.
      absl::StrAppend(&out, "-A ", sep, " ", comment(PortName(sp)), "-s ",
                      IpText(ep.addr), " -j KUBE-MARK-MASQ\n");
      absl::StrAppend(&out, "-A ", sep, " ", comment(PortName(sp)), "-m ",
                      proto, " -p ", proto, " -j DNAT --to-destination ",
                      EndpointText(ep), "\n");
    }
  }
  absl::StrAppend(&out, "COMMIT\n");
  return out;
}

size_t CountIptablesRules(const std::string& input) {
  size_t n = 0;
  size_t pos = 0;
  while ((pos = input.find("\n-A ", pos)) != std::string::npos) {
    ++n;
    ++pos;
  }
  return n;
}

}  // namespace switchyard::bench::kubeproxy
