/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Parsing Ethernet/IPv4/TCP/UDP headers of an skb into a flat summary.
 * Every read is bounds-checked against data_end; a frame that ends inside a
 * header is reported, never read past. */
#ifndef SWITCHYARD_BPF_LIB_PARSE_H_
#define SWITCHYARD_BPF_LIB_PARSE_H_

#include "common.h"

enum yard_parse_result {
	YARD_PARSE_OK = 0,
	YARD_PARSE_NOT_IPV4,  /* pass through */
	YARD_PARSE_VLAN,      /* pass through */
	YARD_PARSE_TRUNCATED, /* Ethernet or IPv4 header cut short */
	YARD_PARSE_BAD_IP, /* IPv4 header inconsistent with itself or the frame
			    */
};

struct yard_pkt4 {
	__u32 l4_off; /* offset of the TCP/UDP header from the frame start */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;	  /* valid when l4_ok */
	__be16 dport;	  /* valid when l4_ok */
	__u16 ip_tot_len; /* host order */
	__u8 proto;
	__u8 tcp_flags;	     /* TCP_FLAG_*, TCP only */
	bool fragment;	     /* MF set or a non-zero fragment offset */
	bool later_fragment; /* a non-zero offset: no L4 header here */
	bool l4_ok;	     /* ports known: from the L4 header, or for a later
			      * fragment from its datagram's first (lib/frag.h) */
	bool l4_hdr;	     /* the TCP/UDP/ICMP header is in this packet */
	__be16 ip_id;	     /* identification, network order (fragments) */
};

/* Makes the first len bytes directly readable, pulling a non-linear skb's
 * headers into the linear area only when they are not there already. */
static __always_inline bool yard_linear(struct __sk_buff *skb, __u32 len)
{
	if (yard_skb_data(skb) + len <= yard_skb_data_end(skb))
		return true;
	if (skb->len < len)
		return false;
	return bpf_skb_pull_data(skb, len) == 0 &&
	       yard_skb_data(skb) + len <= yard_skb_data_end(skb);
}

/* Ethernet and IPv4 headers of a frame of frame_len bytes whose first
 * bytes lie between data and data_end. Leaves l4_off set and the ports
 * cleared; yard_parse4_l4 reads them once they are directly readable. */
static __always_inline int yard_parse4_l3(void *data, void *data_end,
					  __u32 frame_len, struct yard_pkt4 *p)
{
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 ihl_bytes;
	__u16 frag;
	__u8 vihl;

	if ((void *)(eth + 1) > data_end)
		return YARD_PARSE_TRUNCATED;
	if (eth->h_proto == bpf_htons(ETH_P_8021Q) ||
	    eth->h_proto == bpf_htons(ETH_P_8021AD))
		return YARD_PARSE_VLAN;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return YARD_PARSE_NOT_IPV4;

	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return YARD_PARSE_TRUNCATED;
	/* First byte read whole rather than through bitfields. */
	vihl = *(__u8 *)ip;
	if ((vihl >> 4) != 4 || (vihl & 0xf) < 5)
		return YARD_PARSE_BAD_IP;
	ihl_bytes = (vihl & 0xf) * 4;
	p->ip_tot_len = bpf_ntohs(ip->tot_len);
	if (p->ip_tot_len < ihl_bytes)
		return YARD_PARSE_BAD_IP;
	if (frame_len < ETH_HLEN + ihl_bytes)
		return YARD_PARSE_TRUNCATED;
	/* A frame may carry Ethernet padding beyond tot_len, never less. */
	if (frame_len < ETH_HLEN + p->ip_tot_len)
		return YARD_PARSE_TRUNCATED;

	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	p->proto = ip->protocol;
	frag = bpf_ntohs(ip->frag_off);
	p->fragment = (frag & (IP_MF | IP_OFFSET)) != 0;
	p->later_fragment = (frag & IP_OFFSET) != 0;
	p->ip_id = ip->id;
	p->l4_hdr = false;
	p->l4_off = ETH_HLEN + ihl_bytes;
	p->l4_ok = false;
	p->tcp_flags = 0;
	p->sport = 0;
	p->dport = 0;
	return YARD_PARSE_OK;
}

/* Bytes of L4 header yard_parse4_l4 needs, or 0 when it has nothing to
 * read: a later fragment, another protocol, or a header the IP length
 * cuts. A first fragment has its datagram's L4 header. */
static __always_inline __u32 yard_l4_needed(const struct yard_pkt4 *p)
{
	__u32 l4_len;

	if (p->later_fragment)
		return 0;
	if (p->proto == IPPROTO_TCP)
		l4_len = sizeof(struct tcphdr);
	else if (p->proto == IPPROTO_UDP)
		l4_len = sizeof(struct udphdr);
	else if (p->proto == IPPROTO_ICMP)
		l4_len = sizeof(struct icmphdr);
	else
		return 0;
	if (p->l4_off - ETH_HLEN + l4_len > p->ip_tot_len)
		return 0;
	return l4_len;
}

/* Ports and flags (TCP, UDP), or type and code (ICMP, in sport's bytes:
 * type then code, as on the wire), when the header lies in the data. */
static __always_inline void yard_parse4_l4(void *data, void *data_end,
					   struct yard_pkt4 *p)
{
	/* l4_off is at most 14 + 60: the mask tells the verifier so. */
	void *l4 = data + (p->l4_off & 0x7f);

	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
	} else if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			return;
		p->sport = uh->source;
		p->dport = uh->dest;
	} else {
		struct icmphdr *ih = l4;

		if ((void *)(ih + 1) > data_end)
			return;
		p->sport = *(__be16 *)ih;
	}
	p->l4_ok = true;
	p->l4_hdr = true;
}

static __always_inline int yard_parse4(struct __sk_buff *skb,
				       struct yard_pkt4 *p)
{
	__u32 l4_len;
	int rc;

	if (skb->vlan_present)
		return YARD_PARSE_VLAN;
	/* Frames shorter than Ethernet + IPv4 cannot be pulled that far; the
	 * parser then sees what there is and says which header is cut. */
	yard_linear(skb, ETH_HLEN + sizeof(struct iphdr));
	rc = yard_parse4_l3(yard_skb_data(skb), yard_skb_data_end(skb),
			    skb->len, p);
	if (rc != YARD_PARSE_OK)
		return rc;
	l4_len = yard_l4_needed(p);
	/* IHL is at most 60, so this bound is small enough for the verifier. */
	if (l4_len && yard_linear(skb, p->l4_off + l4_len))
		yard_parse4_l4(yard_skb_data(skb), yard_skb_data_end(skb), p);
	return YARD_PARSE_OK;
}

/* XDP frames are linear (Switchyard does not load with multi-buffer). */
static __always_inline int yard_parse4_xdp(struct xdp_md *ctx,
					   struct yard_pkt4 *p)
{
	void *data = yard_xdp_data(ctx);
	void *data_end = yard_xdp_data_end(ctx);
	int rc = yard_parse4_l3(data, data_end, bpf_xdp_get_buff_len(ctx), p);

	if (rc != YARD_PARSE_OK)
		return rc;
	if (yard_l4_needed(p))
		yard_parse4_l4(data, data_end, p);
	return YARD_PARSE_OK;
}

/* A whole TCP or UDP header: the packets services translate. */
static __always_inline bool yard_is_tcp_udp(const struct yard_pkt4 *p)
{
	return p->l4_ok && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP);
}

static __always_inline bool yard_is_tcp_syn(const struct yard_pkt4 *p)
{
	return p->proto == IPPROTO_TCP &&
	       (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

#endif /* SWITCHYARD_BPF_LIB_PARSE_H_ */
