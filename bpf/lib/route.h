/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Forwarding a translated frame along the kernel's route, from either
 * hook, without the stack: the node is a router for these frames.
 *
 * XDP can send only to a next hop whose neighbour entry is known; when
 * there is none yet, the caller hands the frame to the stack untouched
 * before translating it, and the tc ingress program on the same device
 * (the same north-south path) translates it and sends it with
 * bpf_redirect_neigh, which resolves the neighbour. No note travels from
 * XDP to tc: tc simply finds what XDP left undone. */
#ifndef SWITCHYARD_BPF_LIB_ROUTE_H_
#define SWITCHYARD_BPF_LIB_ROUTE_H_

#include "hook.h"

/* The kernel's route from saddr to daddr, as seen from the device the
 * frame came in on. fib->ipv4_dst becomes the next hop, fib->ifindex the
 * device towards it. */
static __always_inline long yard_fib4(void *ctx, int hook, __be32 saddr,
				      __be32 daddr, struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->ipv4_src = saddr;
	fib->ipv4_dst = daddr;
	fib->ifindex = yard_hook_ifindex(ctx, hook);
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

/* Whether a route leads back out the device the frame came in on: the
 * destination is another node's (one-armed), not this node's. */
static __always_inline bool yard_fib_one_armed(void *ctx, int hook, long rc,
					       const struct bpf_fib_lookup *fib)
{
	return (rc == BPF_FIB_LKUP_RET_SUCCESS ||
		rc == BPF_FIB_LKUP_RET_NO_NEIGH) &&
	       fib->ifindex == yard_hook_ifindex(ctx, hook);
}

/* Whether XDP must leave this frame to tc: its next hop has no neighbour
 * entry. Checked before anything is translated or recorded. */
static __always_inline bool yard_route_needs_tc(int hook, long rc)
{
	return hook == YARD_HOOK_XDP && rc == BPF_FIB_LKUP_RET_NO_NEIGH;
}

/* Lowers the TTL of a frame this node forwards itself; false when it has
 * run out, and the stack should answer it (time exceeded). */
static __always_inline bool yard_route_hop(void *ctx, int hook)
{
	struct iphdr *ip = yard_hook_data(ctx, hook) + ETH_HLEN;
	__be16 ttl_proto;

	if ((void *)(ip + 1) > yard_hook_data_end(ctx, hook) || ip->ttl <= 1)
		return false;
	ttl_proto = *(__be16 *)&ip->ttl;
	ip->ttl--;
	ip->check =
	    yard_csum_replace2(ip->check, ttl_proto, *(__be16 *)&ip->ttl);
	return true;
}

/* Sends a translated frame along a route found by yard_fib4: at XDP back
 * out the device it came in on (XDP_TX) or out another (redirect), with
 * the neighbour's addresses; at tc through the neighbour subsystem. */
static __always_inline int yard_route_send(void *ctx, int hook, long rc,
					   const struct bpf_fib_lookup *fib)
{
	struct ethhdr *eth;

	if (rc != BPF_FIB_LKUP_RET_SUCCESS &&
	    !(hook == YARD_HOOK_TC && rc == BPF_FIB_LKUP_RET_NO_NEIGH))
		return yard_hook_drop(ctx, hook, YARD_REASON_NO_ROUTE);
	if (!yard_route_hop(ctx, hook))
		return yard_hook_pass(hook);
	if (hook == YARD_HOOK_TC) {
		struct bpf_redir_neigh nh = {
		    .nh_family = AF_INET,
		    .ipv4_nh = fib->ipv4_dst,
		};

		return bpf_redirect_neigh(fib->ifindex, &nh, sizeof(nh), 0);
	}
	eth = yard_xdp_data(ctx);
	if ((void *)(eth + 1) > yard_xdp_data_end(ctx))
		return yard_hook_drop(ctx, hook, YARD_REASON_NO_ROUTE);
	__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
	if (fib->ifindex == yard_hook_ifindex(ctx, hook))
		return XDP_TX;
	return bpf_redirect(fib->ifindex, 0);
}

#endif /* SWITCHYARD_BPF_LIB_ROUTE_H_ */
