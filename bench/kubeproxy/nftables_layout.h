// SPDX-License-Identifier: Apache-2.0
// The ruleset kube-proxy's nftables mode writes for ClusterIP and NodePort
// services (externalTrafficPolicy Cluster), as
// one `nft -f` script: table ip kube-proxy, its base chains and helper
// chains, the service-ips verdict map, one chain per service port choosing
// an endpoint with `numgen random mod N vmap`, one chain per endpoint that
// DNATs; for NodePorts the service-nodeports map and one external-* chain
// per service port that marks for masquerading. Written from the layout
// kube-proxy documents in pkg/proxy/nftables, not from its code.
//
// The cost that matters for packets: the first packet of a connection
// finds its service with one map lookup (not a walk), picks an endpoint
// with one more, and DNATs; later packets are translated by conntrack.
#ifndef SWITCHYARD_BENCH_KUBEPROXY_NFTABLES_LAYOUT_H_
#define SWITCHYARD_BENCH_KUBEPROXY_NFTABLES_LAYOUT_H_

#include <string>
#include <vector>

#include "bench/kubeproxy/iptables_layout.h"
#include "bench/live/service_set.h"

namespace switchyard::bench::kubeproxy {

// The same ruleset split into `nft -f` transactions: the first holds the
// base ruleset and every chain, each later one the rules and map elements
// of `services_per_transaction` services. The kernel validates a
// transaction's jumps against the table in time that grows with both, so
// one transaction for 10,000 services (110,000 chains) took 224 s to load
// on the project's VM and 10 of 1,000 take seconds; the resulting
// ruleset is the same.
std::vector<std::string> NftablesTransactions(
    const std::vector<live::ServicePort>& services,
    const LayoutOptions& options, size_t services_per_transaction);

// All transactions as one script (for --dump_rules).
std::string NftablesScript(const std::vector<live::ServicePort>& services,
                           const LayoutOptions& options);

}  // namespace switchyard::bench::kubeproxy

#endif  // SWITCHYARD_BENCH_KUBEPROXY_NFTABLES_LAYOUT_H_
