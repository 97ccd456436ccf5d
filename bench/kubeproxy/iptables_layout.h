// SPDX-License-Identifier: Apache-2.0
// The rules kube-proxy's iptables mode writes for ClusterIP and NodePort
// services (externalTrafficPolicy Cluster), as
// one iptables-restore input (filter and nat tables, with the jumps from
// the built-in chains). Written from the layout kube-proxy documents in
// pkg/proxy/iptables (chains KUBE-SERVICES, KUBE-SVC-*, KUBE-SEP-*,
// KUBE-MARK-MASQ, KUBE-POSTROUTING, KUBE-FORWARD, KUBE-FIREWALL), not from
// its code: only what ClusterIPs and NodePorts exercise (KUBE-NODEPORTS,
// KUBE-EXT-*).
//
// The cost that matters for packets: the first packet of every connection
// walks KUBE-SERVICES rule by rule until its service's rule (linear in the
// number of services), then its KUBE-SVC chain's `statistic` rules (linear
// in endpoints), then a KUBE-SEP chain that DNATs. Later packets of the
// connection never see the nat table: conntrack applies the translation.
// A NodePort's first packet walks all of KUBE-SERVICES (its address is
// no ClusterIP), then KUBE-NODEPORTS rule by rule, then KUBE-EXT-* marks
// it for masquerading and goes on to the service's KUBE-SVC chain.
#ifndef SWITCHYARD_BENCH_KUBEPROXY_IPTABLES_LAYOUT_H_
#define SWITCHYARD_BENCH_KUBEPROXY_IPTABLES_LAYOUT_H_

#include <string>
#include <vector>

#include "bench/live/service_set.h"

namespace switchyard::bench::kubeproxy {

struct LayoutOptions {
  std::string cluster_cidr;  // pods: traffic from elsewhere is masqueraded
  std::string service_cidr;  // ClusterIP range (nftables mode drops
                             // traffic to unallocated addresses in it)
  // The node's addresses that serve NodePorts (nftables' nodeport-ips;
  // iptables matches any local address).
  std::vector<std::string> node_ips;
};

std::string IptablesRestoreInput(const std::vector<live::ServicePort>& services,
                                 const LayoutOptions& options);

// Rules in the input (lines starting with -A), for reports.
size_t CountIptablesRules(const std::string& input);

}  // namespace switchyard::bench::kubeproxy

#endif  // SWITCHYARD_BENCH_KUBEPROXY_IPTABLES_LAYOUT_H_
