/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Rewriting and forwarding frames in XDP. An XDP frame is plain memory
 * that arrived from a wire: its checksums are complete (no
 * CHECKSUM_PARTIAL before the stack has seen it), so they are updated
 * here by RFC 1624 arithmetic, without helpers.
 *
 * Forwarding asks the kernel's FIB for the next hop. When it has no
 * neighbour entry yet, XDP cannot resolve one; the frame goes up with a
 * note in its metadata, and the tc program on the same device sends it on
 * with bpf_redirect_neigh, which can. */
#ifndef SWITCHYARD_BPF_LIB_XDP_NAT_H_
#define SWITCHYARD_BPF_LIB_XDP_NAT_H_

#include "nat.h"
#include "stats.h"

/* XDP metadata asking the external device's tc ingress program to send
 * the frame out `ifindex` through the neighbour subsystem. */
#define YARD_META_REDIRECT_NEIGH 0x59524e31 /* "YRN1" */
struct yard_xdp_meta {
	__u32 magic;
	__u32 ifindex;
};

/* Rewrites source and destination of a parsed TCP/UDP frame; a field
 * that does not change costs nothing. */
static __always_inline int yard_xdp_nat4(struct xdp_md *ctx,
					 const struct yard_pkt4 *p,
					 __be32 saddr, __be16 sport,
					 __be32 daddr, __be16 dport)
{
	void *data = yard_xdp_data(ctx);
	void *data_end = yard_xdp_data_end(ctx);
	struct iphdr *ip = data + ETH_HLEN;
	__u8 *l4 = data + (p->l4_off & 0x7f);
	__be16 *ports = (__be16 *)l4;
	__u16 *check;
	__u16 csum, ip_csum;
	bool has_l4_csum;

	if ((void *)(ip + 1) > data_end)
		return -1;
	if (!p->l4_hdr) {
		/* A later fragment: addresses only (lib/frag.h). */
		ip_csum = yard_csum_replace4(ip->check, ip->saddr, saddr);
		ip->check = yard_csum_replace4(ip_csum, ip->daddr, daddr);
		ip->saddr = saddr;
		ip->daddr = daddr;
		return 0;
	}
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = (struct tcphdr *)l4;

		if ((void *)(th + 1) > data_end)
			return -1;
		check = (__u16 *)&th->check;
		has_l4_csum = true;
	} else {
		struct udphdr *uh = (struct udphdr *)l4;

		if ((void *)(uh + 1) > data_end)
			return -1;
		check = (__u16 *)&uh->check;
		has_l4_csum = uh->check != 0; /* UDP's 0: no checksum */
	}

	ip_csum = yard_csum_replace4(ip->check, ip->saddr, saddr);
	ip->check = yard_csum_replace4(ip_csum, ip->daddr, daddr);
	if (has_l4_csum) {
		csum = yard_csum_replace4(*check, ip->saddr, saddr);
		csum = yard_csum_replace4(csum, ip->daddr, daddr);
		csum = yard_csum_replace2(csum, ports[0], sport);
		csum = yard_csum_replace2(csum, ports[1], dport);
		if (p->proto == IPPROTO_UDP && csum == 0)
			csum = 0xffff;
		*check = csum;
	}
	ip->saddr = saddr;
	ip->daddr = daddr;
	ports[0] = sport;
	ports[1] = dport;
	return 0;
}

/* Hands the frame to the stack with a request for the tc program to send
 * it out `ifindex`, resolving the neighbour. */
static __always_inline int yard_xdp_via_neigh(struct xdp_md *ctx, __u32 ifindex)
{
	struct yard_xdp_meta *meta;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)))
		return yard_xdp_drop(ctx, YARD_REASON_NO_ROUTE);
	meta = yard_xdp_data_meta(ctx);
	if ((void *)(meta + 1) > yard_xdp_data(ctx))
		return yard_xdp_drop(ctx, YARD_REASON_NO_ROUTE);
	meta->magic = YARD_META_REDIRECT_NEIGH;
	meta->ifindex = ifindex;
	return XDP_PASS;
}

/* The kernel's route from saddr to daddr, as seen from the device the
 * frame came in on. fib->ipv4_dst becomes the next hop. */
static __always_inline long yard_fib4(struct xdp_md *ctx, __be32 saddr,
				      __be32 daddr, struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->ipv4_src = saddr;
	fib->ipv4_dst = daddr;
	fib->ifindex = ctx->ingress_ifindex;
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

/* Whether a route leads back out the device the frame came in on: the
 * destination is another node's (one-armed), not this node's. */
static __always_inline bool yard_fib_one_armed(struct xdp_md *ctx, long rc,
					       const struct bpf_fib_lookup *fib)
{
	return (rc == BPF_FIB_LKUP_RET_SUCCESS ||
		rc == BPF_FIB_LKUP_RET_NO_NEIGH) &&
	       fib->ifindex == ctx->ingress_ifindex;
}

/* Sends a rewritten frame along a route found by yard_fib4: back out the
 * device it came in on (XDP_TX), out another (redirect), or through the
 * stack when no neighbour is known yet. */
static __always_inline int yard_xdp_send(struct xdp_md *ctx, long rc,
					 const struct bpf_fib_lookup *fib)
{
	struct ethhdr *eth;
	struct iphdr *ip;
	__be16 ttl_proto;

	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return yard_xdp_via_neigh(ctx, fib->ifindex);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return yard_xdp_drop(ctx, YARD_REASON_NO_ROUTE);
	eth = yard_xdp_data(ctx);
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > yard_xdp_data_end(ctx))
		return yard_xdp_drop(ctx, YARD_REASON_NO_ROUTE);
	/* Forwarding here, this node is a router: the TTL goes down by one,
	 * and a packet that has run out goes to the stack, which answers it
	 * (time exceeded) or drops it. */
	if (ip->ttl <= 1)
		return XDP_PASS;
	ttl_proto = *(__be16 *)&ip->ttl;
	ip->ttl--;
	ip->check =
	    yard_csum_replace2(ip->check, ttl_proto, *(__be16 *)&ip->ttl);
	__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
	if (fib->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(fib->ifindex, 0);
}

/* Routes a rewritten frame to daddr. */
static __always_inline int yard_xdp_route(struct xdp_md *ctx, __be32 saddr,
					  __be32 daddr)
{
	struct bpf_fib_lookup fib;
	long rc = yard_fib4(ctx, saddr, daddr, &fib);

	return yard_xdp_send(ctx, rc, &fib);
}

#endif /* SWITCHYARD_BPF_LIB_XDP_NAT_H_ */
