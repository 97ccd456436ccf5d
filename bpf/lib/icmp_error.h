/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* ICMP errors about translated flows. Destination unreachable (with
 * fragmentation needed, which path MTU discovery depends on), time
 * exceeded and parameter problem quote the IPv4 header and first 8 bytes
 * of the packet they are about; to reach the right host and mean
 * something there, the quote must read as that host sent the packet, and
 * the error must come from where that host sent it. The rewrite is done on the
 * frame in place, through direct packet access, at either hook. */
#ifndef SWITCHYARD_BPF_LIB_ICMP_ERROR_H_
#define SWITCHYARD_BPF_LIB_ICMP_ERROR_H_

#include "conntrack.h"
#include "hook.h"
#include "revnat.h"

#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12

/* The IPv4 header an ICMP error quotes, and the 8 bytes after it. */
struct yard_icmp_quote4 {
	struct iphdr ip;
	__be16 sport;
	__be16 dport;
	__be16 word2; /* UDP length / TCP sequence, high half */
	__be16 word3; /* UDP checksum / TCP sequence, low half */
};

/* An ICMP error in a frame, located and bounds-checked. */
struct yard_icmp_error4 {
	struct iphdr *ip;
	struct icmphdr *icmp;
	struct yard_icmp_quote4 *q;
};

/* What an ICMP error becomes: the quoted header's addresses and ports,
 * and the error's own source and destination. */
struct yard_icmp_rewrite4 {
	__be32 quote_saddr, quote_daddr;
	__be16 quote_sport, quote_dport;
	__be32 saddr, daddr;
};

/* The ICMP types that are errors quoting the packet they are about. (A
 * parameter problem's pointer counts from the quote's start, which no
 * rewrite moves.) */
static __always_inline bool yard_icmp_type_is_error(__u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETERPROB;
}

/* Whether a parsed ICMP packet is an error that quotes a packet. The
 * parser keeps an ICMP header's type in the first byte of sport. */
static __always_inline bool yard_icmp_is_error(const struct yard_pkt4 *p)
{
	return p->proto == IPPROTO_ICMP && p->l4_hdr && !p->fragment &&
	       yard_icmp_type_is_error(*(const __u8 *)&p->sport);
}

/* Finds the error and its quote of a TCP or UDP packet. False for
 * anything else, and for what cannot be rewritten safely (left to the
 * stack as it is): quotes with IP options, quotes cut short of their 8
 * bytes within the datagram (bytes after it are padding, which the ICMP
 * checksum does not cover), and quotes of a later fragment, whose 8 bytes
 * are payload, not ports. Packet pointers are valid until the next helper
 * call. */
static __always_inline bool yard_icmp4_locate(void *ctx, int hook,
					      const struct yard_pkt4 *p,
					      struct yard_icmp_error4 *e)
{
	__u32 off = p->l4_off & 0x7f; /* at most 14 + 60: tells the verifier */
	__u32 end =
	    off + sizeof(struct icmphdr) + sizeof(struct yard_icmp_quote4);
	void *data, *data_end;

	if (end > ETH_HLEN + p->ip_tot_len || !yard_hook_linear(ctx, hook, end))
		return false;
	data = yard_hook_data(ctx, hook);
	data_end = yard_hook_data_end(ctx, hook);
	e->ip = data + ETH_HLEN;
	e->icmp = data + off;
	e->q = (void *)(e->icmp + 1);
	if ((void *)(e->q + 1) > data_end || (void *)(e->ip + 1) > data_end)
		return false;
	if (!yard_icmp_type_is_error(e->icmp->type))
		return false;
	return *(__u8 *)&e->q->ip == 0x45 &&
	       !(e->q->ip.frag_off & bpf_htons(IP_OFFSET)) &&
	       (e->q->ip.protocol == IPPROTO_TCP ||
		e->q->ip.protocol == IPPROTO_UDP);
}

/* The connection-tracking key of the quoted packet's flow, seen from the
 * other end: the quote is of a packet this node sent, the error travels
 * back along its path. */
static __always_inline void
yard_icmp4_flow_key(const struct yard_icmp_quote4 *q, __u8 dir,
		    struct yard_ct4_key *key)
{
	key->saddr = q->ip.daddr;
	key->daddr = q->ip.saddr;
	key->sport = q->dport;
	key->dport = q->sport;
	key->proto = q->ip.protocol;
	key->dir = dir;
	key->pad = 0;
}

/* Rewrites an ICMP error in place. The quoted IP header's checksum, then
 * the ICMP checksum, which covers the quote, follow every change in it;
 * the quoted L4 checksum is left alone (receivers do not check a
 * quote's); the outer header's checksum follows its addresses (ICMP has
 * no pseudo-header). Every change is checksum-neutral, so an skb's
 * CHECKSUM_COMPLETE sum stays right. */
static __always_inline void
yard_icmp4_rewrite(const struct yard_icmp_error4 *e,
		   const struct yard_icmp_rewrite4 *w)
{
	struct yard_icmp_quote4 *q = e->q;
	struct iphdr *ip = e->ip;
	__u16 csum, inner_check;

	inner_check =
	    yard_csum_replace4(q->ip.check, q->ip.saddr, w->quote_saddr);
	inner_check =
	    yard_csum_replace4(inner_check, q->ip.daddr, w->quote_daddr);
	csum =
	    yard_csum_replace4(e->icmp->checksum, q->ip.saddr, w->quote_saddr);
	csum = yard_csum_replace4(csum, q->ip.daddr, w->quote_daddr);
	csum = yard_csum_replace2(csum, q->ip.check, inner_check);
	csum = yard_csum_replace2(csum, q->sport, w->quote_sport);
	csum = yard_csum_replace2(csum, q->dport, w->quote_dport);
	e->icmp->checksum = csum;
	q->ip.check = inner_check;
	q->ip.saddr = w->quote_saddr;
	q->ip.daddr = w->quote_daddr;
	q->sport = w->quote_sport;
	q->dport = w->quote_dport;
	csum = yard_csum_replace4(ip->check, ip->saddr, w->saddr);
	ip->check = yard_csum_replace4(csum, ip->daddr, w->daddr);
	ip->saddr = w->saddr;
	ip->daddr = w->daddr;
}

/* Gives an ICMP error on its way to the client of a translated flow (at
 * tc) what the client sent back: an endpoint's port unreachable, or a
 * router's fragmentation needed, about a packet the client sent through
 * a frontend. It quotes the packet as translated (to the endpoint), which
 * matches none of the client's sockets: the quote gets the frontend back,
 * and so does the error's own source when the endpoint sent it (a router
 * keeps its address); the error goes to the client's own address. Only
 * for flows whose flags, under `mask`, are `want`. Whether it did. */
static __always_inline bool yard_icmp_client_rewrite(struct __sk_buff *skb,
						     const struct yard_pkt4 *p,
						     __u16 mask, __u16 want)
{
	struct yard_icmp_error4 e;
	struct yard_icmp_rewrite4 w;
	struct yard_ct4_key key;
	struct yard_ct4_value *ct;
	struct yard_rnat4 fe;

	if (!yard_icmp4_locate(skb, YARD_HOOK_TC, p, &e))
		return false;
	/* The quoted packet went client -> endpoint: the flow's reply entry
	 * is keyed endpoint -> client (as the endpoint saw the client). */
	yard_icmp4_flow_key(e.q, YARD_CT_REPLY, &key);
	ct = bpf_map_lookup_elem(&yard_ct4, &key);
	if (!ct || (ct->flags & mask) != want)
		return false;
	if (!yard_reply_frontend_of(ct, &fe))
		return false;
	w.quote_saddr = ct->addr;
	w.quote_sport = ct->port;
	w.quote_daddr = fe.addr;
	w.quote_dport = fe.port;
	w.saddr = e.ip->saddr == e.q->ip.daddr ? fe.addr : e.ip->saddr;
	w.daddr = ct->addr;
	yard_icmp4_rewrite(&e, &w);
	return true;
}

/* At the egress towards clients: outside clients' flows (external) at
 * the external device, or pods' flows at the pod's interface (hairpin
 * flows are turned around in yard_from_pod, direct ones are no
 * service's). */
static __always_inline int yard_icmp_to_client(struct __sk_buff *skb,
					       const struct yard_pkt4 *p,
					       bool external)
{
	const __u16 mask =
	    YARD_CT_F_EXTERNAL | YARD_CT_F_HAIRPIN | YARD_CT_F_DIRECT;

	yard_icmp_client_rewrite(skb, p, mask,
				 external ? YARD_CT_F_EXTERNAL : 0);
	return TC_ACT_OK;
}

#endif /* SWITCHYARD_BPF_LIB_ICMP_ERROR_H_ */
