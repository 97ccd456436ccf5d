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

/* RFC 1624 incremental update of a full checksum for a 32-bit field
 * changing from `from` to `to`. Operands are taken as they sit in memory:
 * ones' complement sums do not care about byte order as long as every
 * word is read the same way. */
static __always_inline __u16 yard_csum_replace4(__u16 check, __be32 from,
						__be32 to)
{
	__u32 sum = (__u16)~check;

	sum += (~from & 0xffff) + (~from >> 16) + (to & 0xffff) + (to >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* The same for a 16-bit field. */
static __always_inline __u16 yard_csum_replace2(__u16 check, __be16 from,
						__be16 to)
{
	__u32 sum = (__u16)~check;

	sum += (__u16)~from + (__u16)to;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* The IPv4 header after a helper made the skb writable: helpers that may
 * reallocate invalidate earlier packet pointers. */
static __always_inline struct iphdr *yard_ip4_header(struct __sk_buff *skb)
{
	struct iphdr *ip = yard_skb_data(skb) + ETH_HLEN;

	if ((void *)(ip + 1) > yard_skb_data_end(skb))
		return NULL;
	return ip;
}

/* Rewrites the source (is_source) or destination address. The L4 checksum
 * goes through the kernel's helper, the only code that sees ip_summed; the
 * IPv4 header checksum is always complete, so it is updated here, and the
 * address is written directly: two helper calls fewer per packet. */
static __always_inline int yard_rewrite_addr4(struct __sk_buff *skb,
					      const struct yard_pkt4 *p,
					      bool is_source, __be32 from,
					      __be32 to)
{
	struct iphdr *ip;

	if (from == to)
		return 0;
	/* A later fragment has no L4 header; its datagram's checksum is in
	 * the first fragment, updated there. */
	if (p->l4_hdr && bpf_l4_csum_replace(skb, yard_l4_csum_off(p), from, to,
					     yard_l4_csum_flags(p) |
						 BPF_F_PSEUDO_HDR | sizeof(to)))
		return -1;
	ip = yard_ip4_header(skb);
	if (!ip)
		return -1;
	ip->check = yard_csum_replace4(ip->check, from, to);
	if (is_source)
		ip->saddr = to;
	else
		ip->daddr = to;
	return 0;
}

static __always_inline int yard_rewrite_port(struct __sk_buff *skb,
					     const struct yard_pkt4 *p,
					     __u32 port_field, __be16 from,
					     __be16 to)
{
	void *data, *data_end;
	__be16 *port;

	if (from == to || !p->l4_hdr)
		return 0;
	if (bpf_l4_csum_replace(skb, yard_l4_csum_off(p), from, to,
				yard_l4_csum_flags(p) | sizeof(to)))
		return -1;
	data = yard_skb_data(skb);
	data_end = yard_skb_data_end(skb);
	/* l4_off is at most 14 + 60: the mask tells the verifier so. */
	port = data + (p->l4_off & 0x7f) + (port_field & 0x3);
	if ((void *)(port + 1) > data_end)
		return -1;
	*port = to;
	return 0;
}

/* Destination to (addr, port): the forward translation. */
static __always_inline int yard_dnat4(struct __sk_buff *skb,
				      const struct yard_pkt4 *p, __be32 addr,
				      __be16 port)
{
	if (yard_rewrite_addr4(skb, p, false, p->daddr, addr))
		return -1;
	return yard_rewrite_port(skb, p, YARD_L4_DPORT_OFF, p->dport, port);
}

/* Source to (addr, port): replies, and the hairpin source. */
static __always_inline int yard_snat4(struct __sk_buff *skb,
				      const struct yard_pkt4 *p, __be32 addr,
				      __be16 port)
{
	if (yard_rewrite_addr4(skb, p, true, p->saddr, addr))
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
