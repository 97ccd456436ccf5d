/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Stack bypass (YARD_FEATURE_STACK_BYPASS): a pod's service packet, once
 * translated at tc ingress on the pod's host-side veth, leaves tc along
 * the kernel's route instead of climbing the host stack (netfilter,
 * conntrack, routing, the egress qdisc of the next veth):
 *
 *   route to a local pod's interface   bpf_redirect_peer: straight into
 *                                      the pod's eth0 ingress
 *   route out another device (the      bpf_redirect_neigh: out that
 *   fabric towards another node)       device, through the neighbour
 *                                      subsystem (which keeps the entry
 *                                      fresh, as the stack would)
 *   anything else                      the stack, as without the feature
 *
 * The same route the stack would take, so only the netfilter hooks are
 * skipped: host firewall rules do not see bypassed service traffic.
 *
 * Both steps are global functions, checked by the verifier once and on
 * their own (the pod hook calls them from several paths). Each reads
 * yard_cfg.stack_bypass first: with the feature off the rest is dead code
 * to the verifier, so a kernel that lacks a helper used here loads the
 * program when the feature is off, even where the verifier checks every
 * global function whether it is called or not. */
#ifndef SWITCHYARD_BPF_LIB_BYPASS_H_
#define SWITCHYARD_BPF_LIB_BYPASS_H_

#include "maps.h"
#include "route.h"
#include "stats.h"

enum yard_bypass_way {
	YARD_BYPASS_STACK = 0, /* leave it to the stack (TC_ACT_OK) */
	YARD_BYPASS_PEER,      /* into a local pod: bpf_redirect_peer */
	YARD_BYPASS_NEIGH,     /* out the route's device: bpf_redirect_neigh */
};

/* Whether a GSO frame's segments fit the route's MTU. The kernel's check
 * (is_skb_forwardable, made when fib->tot_len is 0) passes every GSO
 * frame: the stack checks segments when it forwards (ip_forward), which
 * the bypass skips, so it is done here, from the segment size and the
 * headers each segment repeats. Into a pod no segments are made, so only
 * frames leaving through another device need it. */
static __always_inline bool yard_bypass_segments_fit(struct __sk_buff *skb,
						     struct iphdr *ip,
						     __u32 mtu)
{
	__u32 gso_size = skb->gso_size;
	__u32 ihl, l4_len;
	struct tcphdr *th;

	if (!gso_size)
		return true;
	ihl = (ip->ihl & 0xf) * 4;
	if (ip->protocol == IPPROTO_UDP) {
		l4_len = sizeof(struct udphdr);
	} else if (ip->protocol == IPPROTO_TCP) {
		th = (void *)ip + ihl;
		if ((void *)(th + 1) > yard_skb_data_end(skb))
			return false;
		l4_len = th->doff * 4;
	} else {
		return false;
	}
	return gso_size + ihl + l4_len <= mtu;
}

/* Which way a frame from saddr to daddr, arriving on a pod's interface,
 * can leave without the stack; fib receives the route. Only a route the
 * stack would forward on, with the next hop's address known, whose frame
 * fits the device (the kernel checks the MTU when fib->tot_len is 0) and
 * has a hop left: everything else (local delivery, no route, a neighbour
 * still to resolve, TTL running out) is the stack's, which answers it as
 * it always did. Decided before a reply is translated, so a reply left to
 * the stack is still the one yard_to_pod expects. */
__noinline int yard_bypass_route4(struct __sk_buff *skb, __be32 saddr,
				  __be32 daddr, struct bpf_fib_lookup *fib)
{
	struct iphdr *ip;
	__u32 ifindex;
	long rc;

	if (!yard_cfg.stack_bypass || !fib)
		return YARD_BYPASS_STACK;
	ip = yard_skb_data(skb) + ETH_HLEN;
	if ((void *)(ip + 1) > yard_skb_data_end(skb) || ip->ttl <= 1)
		return YARD_BYPASS_STACK;
	rc = yard_fib4(skb, YARD_HOOK_TC, saddr, daddr, fib);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return YARD_BYPASS_STACK;
	/* Back out the pod's own interface: not a path to shorten. */
	ifindex = fib->ifindex;
	if (ifindex == skb->ingress_ifindex)
		return YARD_BYPASS_STACK;
	if (bpf_map_lookup_elem(&yard_pod_ifs, &ifindex))
		return YARD_BYPASS_PEER;
	/* The helper call invalidated packet pointers: read them again. */
	ip = yard_skb_data(skb) + ETH_HLEN;
	if ((void *)(ip + 1) > yard_skb_data_end(skb) ||
	    !yard_bypass_segments_fit(skb, ip, fib->mtu_result))
		return YARD_BYPASS_STACK;
	return YARD_BYPASS_NEIGH;
}

/* Sends a translated frame the way yard_bypass_route4 chose, as a router
 * does (TTL lowered; into a pod with the neighbour's and the host veth's
 * MAC addresses), and counts the way taken. TC_ACT_OK: the stack's. */
__noinline int yard_bypass_send4(struct __sk_buff *skb, int way,
				 const struct bpf_fib_lookup *fib)
{
	struct ethhdr *eth;

	if (!yard_cfg.stack_bypass || !fib || way == YARD_BYPASS_STACK)
		return TC_ACT_OK;
	if (!yard_route_hop(skb, YARD_HOOK_TC))
		return TC_ACT_OK;
	if (way == YARD_BYPASS_NEIGH) {
		struct bpf_redir_neigh nh = {
		    .nh_family = AF_INET,
		    .ipv4_nh = fib->ipv4_dst,
		};

		yard_count_reason(YARD_REASON_BYPASS_NEIGH, skb->len);
		return bpf_redirect_neigh(fib->ifindex, &nh, sizeof(nh), 0);
	}
	eth = yard_skb_data(skb);
	if ((void *)(eth + 1) > yard_skb_data_end(skb))
		return TC_ACT_OK;
	__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
	yard_count_reason(YARD_REASON_BYPASS_PEER, skb->len);
	return bpf_redirect_peer(fib->ifindex, 0);
}

/* A translated frame from a pod towards daddr: sent on without the stack
 * where the route allows, else TC_ACT_OK. */
static __always_inline int yard_bypass4(struct __sk_buff *skb, __be32 saddr,
					__be32 daddr)
{
	struct bpf_fib_lookup fib;
	int way;

	if (!yard_cfg.stack_bypass)
		return TC_ACT_OK;
	way = yard_bypass_route4(skb, saddr, daddr, &fib);
	return yard_bypass_send4(skb, way, &fib);
}

#endif /* SWITCHYARD_BPF_LIB_BYPASS_H_ */
