/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Rejecting a packet to a service port that cannot take it: the packet is
 * rewritten in place into the answer its sender expects (TCP RST, or ICMP
 * port unreachable for everything else) and sent back out the interface it
 * came in on, so clients fail at once instead of timing out.
 *
 * The answer gets a fresh 20-byte IPv4 header whatever options the request
 * carried (options such as source routes must not be echoed), and every
 * checksum is computed whole: the frame is new. */
#ifndef SWITCHYARD_BPF_LIB_REJECT_H_
#define SWITCHYARD_BPF_LIB_REJECT_H_

#include "nat.h"
#include "stats.h"

#define YARD_REPLY_TTL 64
/* An ICMP error quotes the offending IP header (options included, so at
 * most 60 bytes) and the first 8 bytes of its payload (RFC 792). */
#define YARD_ICMP_QUOTE_MAX (60 + 8)

static __always_inline __u16 yard_csum_fold(__s64 csum)
{
	__u32 sum = (__u32)csum;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __always_inline void yard_reply_ip4(struct iphdr *ip,
					   const struct yard_pkt4 *p,
					   __u8 proto, __u16 tot_len,
					   __u16 frag_off)
{
	*(__u8 *)ip = 0x45; /* version 4, IHL 5 */
	ip->tos = 0;
	ip->tot_len = bpf_htons(tot_len);
	ip->id = 0;
	ip->frag_off = bpf_htons(frag_off);
	ip->ttl = YARD_REPLY_TTL;
	ip->protocol = proto;
	ip->check = 0;
	/* The answer comes from the address the sender tried to reach. */
	ip->saddr = p->daddr;
	ip->daddr = p->saddr;
	ip->check = yard_csum_fold(
	    bpf_csum_diff(NULL, 0, (__be32 *)ip, sizeof(*ip), 0));
}

/* Replaces the frame after its Ethernet header with len bytes of hdrs,
 * then turns it around towards its sender. */
static __always_inline int yard_send_back(struct __sk_buff *skb, void *hdrs,
					  __u32 len)
{
	if (bpf_skb_change_tail(skb, ETH_HLEN + len, 0))
		return -1;
	if (bpf_skb_store_bytes(skb, ETH_HLEN, hdrs, len, BPF_F_RECOMPUTE_CSUM))
		return -1;
	if (yard_swap_macs(skb))
		return -1;
	return 0;
}

struct yard_tcp_pseudo4 {
	__be32 saddr;
	__be32 daddr;
	__u8 zero;
	__u8 proto;
	__be16 len;
};

struct yard_rst4 {
	struct iphdr ip;
	struct tcphdr tcp;
};

/* RST as Linux answers a segment to a closed port (RFC 9293 3.10.7.1):
 * an ACK is answered with RST seq=its ack; anything else with RST|ACK
 * acknowledging the whole segment. A RST is never answered. */
static __always_inline int yard_build_rst4(const struct yard_pkt4 *p,
					   const struct tcphdr *in,
					   struct yard_rst4 *r)
{
	struct yard_tcp_pseudo4 ph;
	__u32 seg_len;
	__s64 csum;
	__u8 *raw = (__u8 *)&r->tcp;

	if (p->tcp_flags & TCP_FLAG_RST)
		return -1;
	seg_len = p->ip_tot_len - (p->l4_off - ETH_HLEN) -
		  (((const __u8 *)in)[12] >> 4) * 4;
	if (p->tcp_flags & TCP_FLAG_SYN)
		seg_len++;
	if (p->tcp_flags & TCP_FLAG_FIN)
		seg_len++;

	__builtin_memset(r, 0, sizeof(*r));
	r->tcp.source = p->dport;
	r->tcp.dest = p->sport;
	raw[12] = 5 << 4; /* data offset: no options */
	if (p->tcp_flags & TCP_FLAG_ACK) {
		r->tcp.seq = in->ack_seq;
		raw[13] = TCP_FLAG_RST;
	} else {
		r->tcp.ack_seq = bpf_htonl(bpf_ntohl(in->seq) + seg_len);
		raw[13] = TCP_FLAG_RST | TCP_FLAG_ACK;
	}
	ph.saddr = p->daddr;
	ph.daddr = p->saddr;
	ph.zero = 0;
	ph.proto = IPPROTO_TCP;
	ph.len = bpf_htons(sizeof(r->tcp));
	csum = bpf_csum_diff(NULL, 0, (__be32 *)&ph, sizeof(ph), 0);
	csum = bpf_csum_diff(NULL, 0, (__be32 *)&r->tcp, sizeof(r->tcp),
			     (__wsum)csum);
	r->tcp.check = yard_csum_fold(csum);
	yard_reply_ip4(&r->ip, p, IPPROTO_TCP, sizeof(*r), IP_DF);
	return 0;
}

struct yard_unreach4 {
	struct iphdr ip;
	struct icmphdr icmp;
	__u8 quote[YARD_ICMP_QUOTE_MAX];
};

/* Bytes of the request an ICMP error quotes: its IP header and the first
 * 8 bytes after it; 0 when that would not fit the reply. */
static __always_inline __u32 yard_quote_len(const struct yard_pkt4 *p)
{
	__u32 len = (p->l4_off - ETH_HLEN) + 8;

	return len <= YARD_ICMP_QUOTE_MAX ? len : 0;
}

/* ICMP port unreachable around r->quote (quote_len bytes, loaded by the
 * caller); returns the length of the reply after the Ethernet header. */
static __always_inline __u32 yard_build_unreach4(const struct yard_pkt4 *p,
						 struct yard_unreach4 *r,
						 __u32 quote_len)
{
	__s64 csum;

	__builtin_memset(r, 0, offsetof(struct yard_unreach4, quote));
	r->icmp.type = ICMP_DEST_UNREACH;
	r->icmp.code = ICMP_PORT_UNREACH;
	csum = bpf_csum_diff(NULL, 0, (__be32 *)&r->icmp,
			     sizeof(r->icmp) + quote_len, 0);
	r->icmp.checksum = yard_csum_fold(csum);
	yard_reply_ip4(&r->ip, p, IPPROTO_ICMP,
		       sizeof(r->ip) + sizeof(r->icmp) + quote_len, 0);
	return sizeof(r->ip) + sizeof(r->icmp) + quote_len;
}

/* The answer to a rejected packet, built aside from the frame. */
union yard_answer4 {
	struct yard_rst4 rst;
	struct yard_unreach4 unreach;
};

static __always_inline int yard_reject_load(void *ctx, bool xdp, __u32 off,
					    void *to, __u32 len)
{
	if (xdp)
		return bpf_xdp_load_bytes(ctx, off, to, len);
	return bpf_skb_load_bytes(ctx, off, to, len);
}

/* Builds the answer to p in *a: a RST for TCP, a port unreachable quoting
 * the packet for the rest. Returns its length after the Ethernet header,
 * 0 when it cannot be built. `xdp` is a constant: each hook keeps only
 * its own helpers. */
static __always_inline __u32 yard_build_answer4(void *ctx, bool xdp,
						const struct yard_pkt4 *p,
						union yard_answer4 *a)
{
	__u32 quote_len, len;

	if (p->proto == IPPROTO_TCP) {
		struct tcphdr in;

		if (yard_reject_load(ctx, xdp, p->l4_off, &in, sizeof(in)) ||
		    yard_build_rst4(p, &in, &a->rst))
			return 0;
		return sizeof(a->rst);
	}
	quote_len = yard_quote_len(p);
	if (!quote_len)
		return 0;
	__builtin_memset(a->unreach.quote, 0, sizeof(a->unreach.quote));
	if (yard_reject_load(ctx, xdp, ETH_HLEN, a->unreach.quote, quote_len))
		return 0;
	len = yard_build_unreach4(p, &a->unreach, quote_len);
	return len <= sizeof(a->unreach) ? len : 0;
}

/* Answers the skb in place; the caller redirects it on success. */
static __always_inline int yard_reject4(struct __sk_buff *skb,
					const struct yard_pkt4 *p)
{
	union yard_answer4 a;
	__u32 len = yard_build_answer4(skb, false, p, &a);

	if (!len)
		return -1;
	return yard_send_back(skb, &a, len);
}

/* The same answer for an XDP frame: built aside, then the frame resized
 * and overwritten after its Ethernet header, whose addresses swap. The
 * caller returns XDP_TX on success. */
static __always_inline int yard_reject4_xdp(struct xdp_md *ctx,
					    const struct yard_pkt4 *p)
{
	__u8 macs[2 * ETH_ALEN], swapped[2 * ETH_ALEN];
	__u32 old_len = bpf_xdp_get_buff_len(ctx);
	union yard_answer4 a;
	__u32 len = yard_build_answer4(ctx, true, p, &a);

	if (!len ||
	    bpf_xdp_adjust_tail(ctx, (int)(ETH_HLEN + len) - (int)old_len) ||
	    bpf_xdp_store_bytes(ctx, ETH_HLEN, &a, len))
		return -1;
	if (bpf_xdp_load_bytes(ctx, 0, macs, sizeof(macs)))
		return -1;
	__builtin_memcpy(swapped, macs + ETH_ALEN, ETH_ALEN);
	__builtin_memcpy(swapped + ETH_ALEN, macs, ETH_ALEN);
	return bpf_xdp_store_bytes(ctx, 0, swapped, sizeof(swapped));
}

/* Whether a packet is rejected by dropping it rather than answering. A
 * RST is never answered (two rejecting peers could loop), and a later
 * fragment carries no header to answer (its first was answered). */
static __always_inline bool yard_reject_silently(const struct yard_pkt4 *p)
{
	return (p->proto == IPPROTO_TCP && (p->tcp_flags & TCP_FLAG_RST)) ||
	       !p->l4_hdr;
}

/* Rejects at tc: the answer goes back out the interface the packet came
 * in on. One reason per packet. */
static __always_inline int yard_reject_tc(struct __sk_buff *skb,
					  const struct yard_pkt4 *p,
					  enum yard_reason reason)
{
	__u32 len = skb->len; /* the request's, before it becomes the reply */

	if (yard_reject_silently(p)) {
		yard_count_reason(reason, len);
		return TC_ACT_SHOT;
	}
	if (yard_reject4(skb, p)) {
		yard_count_reason(YARD_REASON_REJECT_FAILED, len);
		return TC_ACT_SHOT;
	}
	yard_count_reason(reason, len);
	return bpf_redirect(skb->ifindex, 0);
}

/* The same at XDP: the answer leaves with XDP_TX. */
static __always_inline int yard_reject_xdp(struct xdp_md *ctx,
					   const struct yard_pkt4 *p,
					   enum yard_reason reason)
{
	__u32 len = bpf_xdp_get_buff_len(ctx);

	if (yard_reject_silently(p)) {
		yard_count_reason(reason, len);
		return XDP_DROP;
	}
	if (yard_reject4_xdp(ctx, p)) {
		yard_count_reason(YARD_REASON_REJECT_FAILED, len);
		return XDP_DROP;
	}
	yard_count_reason(reason, len);
	return XDP_TX;
}

#endif /* SWITCHYARD_BPF_LIB_REJECT_H_ */
