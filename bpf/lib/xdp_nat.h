/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Rewriting frames in XDP. An XDP frame is plain memory that arrived from
 * a wire: its checksums are complete (no CHECKSUM_PARTIAL before the
 * stack has seen it), so they are updated here by RFC 1624 arithmetic,
 * without helpers. */
#ifndef SWITCHYARD_BPF_LIB_XDP_NAT_H_
#define SWITCHYARD_BPF_LIB_XDP_NAT_H_

#include "nat.h"
#include "stats.h"

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

#endif /* SWITCHYARD_BPF_LIB_XDP_NAT_H_ */
