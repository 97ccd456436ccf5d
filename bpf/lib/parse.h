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
	__u8 tcp_flags; /* TCP_FLAG_*, TCP only */
	bool fragment;	/* MF set or a non-zero fragment offset */
	bool l4_ok; /* a whole TCP/UDP header is present (not for fragments) */
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

static __always_inline int yard_parse4(struct __sk_buff *skb,
				       struct yard_pkt4 *p)
{
	void *data, *data_end;
	struct ethhdr *eth;
	struct iphdr *ip;
	__u32 ihl_bytes, l4_len;
	__u16 frag;
	__u8 vihl;

	if (skb->vlan_present)
		return YARD_PARSE_VLAN;
	if (!yard_linear(skb, ETH_HLEN + sizeof(struct iphdr))) {
		if (skb->len < ETH_HLEN)
			return YARD_PARSE_TRUNCATED;
		/* Room for Ethernet but not IPv4: only IPv4 is truncated. */
		data = yard_skb_data(skb);
		data_end = yard_skb_data_end(skb);
		eth = data;
		if ((void *)(eth + 1) > data_end)
			return YARD_PARSE_TRUNCATED;
		if (eth->h_proto == bpf_htons(ETH_P_8021Q) ||
		    eth->h_proto == bpf_htons(ETH_P_8021AD))
			return YARD_PARSE_VLAN;
		return eth->h_proto == bpf_htons(ETH_P_IP)
			   ? YARD_PARSE_TRUNCATED
			   : YARD_PARSE_NOT_IPV4;
	}
	data = yard_skb_data(skb);
	data_end = yard_skb_data_end(skb);
	eth = data;
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
	if (skb->len < ETH_HLEN + ihl_bytes)
		return YARD_PARSE_TRUNCATED;
	/* A frame may carry Ethernet padding beyond tot_len, never less. */
	if (skb->len < ETH_HLEN + p->ip_tot_len)
		return YARD_PARSE_TRUNCATED;

	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	p->proto = ip->protocol;
	frag = bpf_ntohs(ip->frag_off);
	p->fragment = (frag & (IP_MF | IP_OFFSET)) != 0;
	p->l4_off = ETH_HLEN + ihl_bytes;
	p->l4_ok = false;
	p->tcp_flags = 0;
	p->sport = 0;
	p->dport = 0;

	if (p->fragment)
		return YARD_PARSE_OK;
	if (p->proto == IPPROTO_TCP)
		l4_len = sizeof(struct tcphdr);
	else if (p->proto == IPPROTO_UDP)
		l4_len = sizeof(struct udphdr);
	else
		return YARD_PARSE_OK;
	if (ihl_bytes + l4_len > p->ip_tot_len)
		return YARD_PARSE_OK;
	/* IHL is at most 60, so this bound is small enough for the verifier. */
	if (!yard_linear(skb, ETH_HLEN + ihl_bytes + l4_len))
		return YARD_PARSE_OK;
	data = yard_skb_data(skb);
	data_end = yard_skb_data_end(skb);
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = data + (p->l4_off & 0x7f);

		if ((void *)(th + 1) > data_end)
			return YARD_PARSE_OK;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
	} else {
		struct udphdr *uh = data + (p->l4_off & 0x7f);

		if ((void *)(uh + 1) > data_end)
			return YARD_PARSE_OK;
		p->sport = uh->source;
		p->dport = uh->dest;
	}
	p->l4_ok = true;
	return YARD_PARSE_OK;
}

static __always_inline bool yard_is_tcp_syn(const struct yard_pkt4 *p)
{
	return p->proto == IPPROTO_TCP &&
	       (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

#endif /* SWITCHYARD_BPF_LIB_PARSE_H_ */
