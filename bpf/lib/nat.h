/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Address and port rewriting with incremental checksum updates.
 *
 * The kernel's csum helpers are used rather than arithmetic on the packet:
 * they alone see skb->ip_summed, and with transmit checksum offload
 * (CHECKSUM_PARTIAL) the L4 checksum field holds only the pseudo-header sum,
 * which must follow address changes but not port changes. */
#ifndef SWITCHYARD_BPF_LIB_NAT_H_
#define SWITCHYARD_BPF_LIB_NAT_H_

#include "parse.h"

#define YARD_IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define YARD_IP_SADDR_OFF (ETH_HLEN + offsetof(struct iphdr, saddr))
#define YARD_IP_DADDR_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))
/* Ports sit at the same offsets in TCP and UDP headers. */
#define YARD_L4_SPORT_OFF 0
#define YARD_L4_DPORT_OFF 2

static __always_inline __u32 yard_l4_csum_off(const struct yard_pkt4 *p)
{
	return p->l4_off + (p->proto == IPPROTO_TCP
				? offsetof(struct tcphdr, check)
				: offsetof(struct udphdr, check));
}

/* UDP's checksum 0 means "none" and must stay 0; a computed 0 becomes
 * 0xffff. BPF_F_MARK_MANGLED_0 makes the helper do both. */
static __always_inline __u64 yard_l4_csum_flags(const struct yard_pkt4 *p)
{
	return p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
}

static __always_inline int yard_rewrite_addr4(struct __sk_buff *skb,
					      const struct yard_pkt4 *p,
					      __u32 addr_off, __be32 from,
					      __be32 to)
{
	if (from == to)
		return 0;
	if (bpf_l4_csum_replace(skb, yard_l4_csum_off(p), from, to,
				yard_l4_csum_flags(p) | BPF_F_PSEUDO_HDR |
				    sizeof(to)))
		return -1;
	if (bpf_l3_csum_replace(skb, YARD_IP_CSUM_OFF, from, to, sizeof(to)))
		return -1;
	return bpf_skb_store_bytes(skb, addr_off, &to, sizeof(to), 0);
}

static __always_inline int yard_rewrite_port(struct __sk_buff *skb,
					     const struct yard_pkt4 *p,
					     __u32 port_field, __be16 from,
					     __be16 to)
{
	if (from == to)
		return 0;
	if (bpf_l4_csum_replace(skb, yard_l4_csum_off(p), from, to,
				yard_l4_csum_flags(p) | sizeof(to)))
		return -1;
	return bpf_skb_store_bytes(skb, p->l4_off + port_field, &to, sizeof(to),
				   0);
}

/* Destination to (addr, port): the forward translation. */
static __always_inline int yard_dnat4(struct __sk_buff *skb,
				      const struct yard_pkt4 *p, __be32 addr,
				      __be16 port)
{
	if (yard_rewrite_addr4(skb, p, YARD_IP_DADDR_OFF, p->daddr, addr))
		return -1;
	return yard_rewrite_port(skb, p, YARD_L4_DPORT_OFF, p->dport, port);
}

/* Source to (addr, port): replies, and the hairpin source. */
static __always_inline int yard_snat4(struct __sk_buff *skb,
				      const struct yard_pkt4 *p, __be32 addr,
				      __be16 port)
{
	if (yard_rewrite_addr4(skb, p, YARD_IP_SADDR_OFF, p->saddr, addr))
		return -1;
	return yard_rewrite_port(skb, p, YARD_L4_SPORT_OFF, p->sport, port);
}

/* Swaps the Ethernet addresses so the frame can go back out the interface
 * it arrived on, towards its sender. */
static __always_inline int yard_swap_macs(struct __sk_buff *skb)
{
	__u8 macs[2 * ETH_ALEN], swapped[2 * ETH_ALEN];

	if (bpf_skb_load_bytes(skb, 0, macs, sizeof(macs)))
		return -1;
	__builtin_memcpy(swapped, macs + ETH_ALEN, ETH_ALEN);
	__builtin_memcpy(swapped + ETH_ALEN, macs, ETH_ALEN);
	return bpf_skb_store_bytes(skb, 0, swapped, sizeof(swapped), 0);
}

#endif /* SWITCHYARD_BPF_LIB_NAT_H_ */
