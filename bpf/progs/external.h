/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * North-south: clients outside the cluster reaching NodePorts on this
 * node's addresses, load-balancer ingress IPs and external IPs. On each
 * external device:
 *
 *   yard_from_outside     XDP    client -> frontend becomes client ->
 *                                endpoint (local endpoint: handed to the
 *                                stack, or redirected), or node -> endpoint
 *                                when the endpoint is on another node (sent
 *                                back out with XDP_TX); replies of the
 *                                latter are turned around here too. ICMP
 *                                errors about translated flows go to their
 *                                endpoint, quoted header translated.
 *   yard_outside_ingress  tc in  sends on frames XDP routed to a next hop
 *                                without a neighbour entry
 *   yard_to_outside       tc out local endpoints' replies (and their ICMP
 *                                errors) get the frontend back
 *
 * Frontends seen here are the "external" scope of yard_svc4: with
 * externalTrafficPolicy Local they hold only this node's endpoints, and
 * the client's address is kept; node addresses have no wildcard entry, so
 * the node's own services stay reachable.
 */
#ifndef SWITCHYARD_BPF_PROGS_EXTERNAL_H_
#define SWITCHYARD_BPF_PROGS_EXTERNAL_H_

#include "lib/common.h"
#include "lib/conntrack.h"
#include "lib/frag.h"
#include "lib/lb.h"
#include "lib/maps.h"
#include "lib/nat.h"
#include "lib/parse.h"
#include "lib/reject.h"
#include "lib/revnat.h"
#include "lib/stats.h"
#include "lib/xdp_nat.h"

/* A source port of the SNAT range may be taken over from an ended flow
 * after this long (the endpoint's TIME_WAIT accepts a newer SYN), from an
 * idle TCP flow after much longer. */
#define YARD_SNAT_CLOSED_REUSE_NS (10 * NSEC_PER_SEC)
#define YARD_SNAT_IDLE_REUSE_NS (2 * 3600 * NSEC_PER_SEC)
/* Ports tried for one new flow before giving up: bounded work per packet. */
#define YARD_SNAT_TRIES 8

#define ICMP_TIME_EXCEEDED 11

static __always_inline bool
yard_source_allowed(const struct yard_svc_value *svc, const struct yard_pkt4 *p)
{
	struct yard_lb_src4_key key = {
	    .prefixlen = 64,
	    .rev_nat_id = bpf_htonl(svc->rev_nat_id),
	    .addr = p->saddr,
	};

	return bpf_map_lookup_elem(&yard_lb_src4, &key) != NULL;
}

static __always_inline int yard_ext_reject(struct xdp_md *ctx,
					   const struct yard_pkt4 *p,
					   enum yard_reason reason)
{
	__u32 len = bpf_xdp_get_buff_len(ctx);

	if ((p->proto == IPPROTO_TCP && (p->tcp_flags & TCP_FLAG_RST)) ||
	    !p->l4_hdr) {
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

/* Whether the reply entry holding a SNAT source port belongs to a flow
 * that has ended or gone quiet, so a new flow may take the port. */
static __always_inline bool yard_snat_stale(const struct yard_ct4_value *ct,
					    __u8 proto, __u64 now)
{
	__u64 idle;

	/* Touched by another CPU since this packet read the clock: in use. */
	if (ct->last_seen_ns > now)
		return false;
	idle = now - ct->last_seen_ns;

	if (proto != IPPROTO_TCP)
		return idle >= (__u64)yard_cfg.udp_timeout_s * NSEC_PER_SEC;
	if (ct->flags & YARD_CT_F_CLOSING)
		return idle >= YARD_SNAT_CLOSED_REUSE_NS;
	return idle >= YARD_SNAT_IDLE_REUSE_NS;
}

/* Records the reply entry of a flow this node sends on to another node
 * under its own address, choosing the source port: random in the SNAT
 * range, then its successors. Returns the port, or 0 when none is free. */
static __always_inline __be16 yard_snat_reserve(
    struct yard_ct4_key *rep_key, const struct yard_ct4_value *rep, __u64 now)
{
	__u32 min = yard_cfg.snat_port_min, max = yard_cfg.snat_port_max;
	__u32 span, start, i;
	struct yard_ct4_value *old;

	if (max < min)
		return 0;
	span = max - min + 1;
	start = bpf_get_prandom_u32() % span;
	for (i = 0; i < YARD_SNAT_TRIES; i++) {
		rep_key->dport = bpf_htons((__u16)(min + (start + i) % span));
		if (!bpf_map_update_elem(&yard_ct4, rep_key, rep, BPF_NOEXIST))
			return rep_key->dport;
		old = bpf_map_lookup_elem(&yard_ct4, rep_key);
		if (old && yard_snat_stale(old, rep_key->proto, now) &&
		    !bpf_map_update_elem(&yard_ct4, rep_key, rep, BPF_EXIST))
			return rep_key->dport;
	}
	return 0;
}

/* Translates a packet of flow `ct` (forward direction) and sends it on:
 * to another node along the route, or up the stack (or straight into the
 * endpoint's interface with local_redirect) for a local endpoint. */
static __always_inline int yard_ext_forward(struct xdp_md *ctx,
					    const struct yard_pkt4 *p,
					    const struct yard_ct4_value *ct,
					    struct bpf_fib_lookup *fib,
					    bool have_route, long rc)
{
	__be32 saddr = p->saddr;
	__be16 sport = p->sport;
	bool snat = ct->flags & YARD_CT_F_SNAT;

	if (snat) {
		saddr = ct->nat_addr;
		sport = ct->nat_port;
	}
	yard_frag4_remember(p);
	/* A new flow has looked its route up already. */
	if (!have_route && (snat || yard_cfg.local_redirect))
		rc = yard_fib4(ctx, saddr, ct->addr, fib);
	if (yard_xdp_nat4(ctx, p, saddr, sport, ct->addr, ct->port))
		return yard_xdp_drop(ctx, YARD_REASON_REWRITE_FAILED);
	if (snat || (yard_cfg.local_redirect && rc == BPF_FIB_LKUP_RET_SUCCESS))
		return yard_xdp_send(ctx, rc, fib);
	return XDP_PASS;
}

static __always_inline int yard_ext_new_flow(struct xdp_md *ctx,
					     const struct yard_pkt4 *p,
					     const struct yard_svc_value *svc,
					     __u64 now)
{
	struct yard_ct4_key fwd_key, rep_key;
	struct yard_ct4_value fwd = {}, rep = {};
	struct bpf_fib_lookup fib;
	struct yard_backend4 *be;
	__u32 backend_id = 0;
	bool snat;
	long rc;

	if (svc->count == 0)
		return yard_ext_reject(ctx, p, YARD_REASON_REJECT_NO_ENDPOINT);
	be = yard_select_backend4(svc, p, &backend_id);
	if (!be)
		return yard_xdp_drop(ctx, YARD_REASON_SLOT_MISSING);
	/* An endpoint reached back out the device the client came in on is
	 * another node's: its replies must come back here to be turned
	 * around, so the flow takes this node's address as its source. */
	rc = yard_fib4(ctx, p->saddr, be->addr, &fib);
	/* A node that does not forward cannot reach a pod either way. */
	if (rc == BPF_FIB_LKUP_RET_FWD_DISABLED)
		return yard_xdp_drop(ctx, YARD_REASON_NO_ROUTE);
	snat = yard_fib_one_armed(ctx, rc, &fib);
	if (snat && !yard_cfg.snat_addr)
		return yard_xdp_drop(ctx, YARD_REASON_NO_ROUTE);

	fwd.created_ns = now;
	fwd.last_seen_ns = now;
	fwd.packets = 1;
	fwd.bytes = bpf_xdp_get_buff_len(ctx);
	fwd.backend_id = backend_id;
	fwd.rev_nat_id = svc->rev_nat_id;
	fwd.addr = be->addr;
	fwd.port = be->port;
	fwd.flags = YARD_CT_F_EXTERNAL | (snat ? YARD_CT_F_SNAT : 0);

	rep.created_ns = now;
	rep.last_seen_ns = now;
	rep.backend_id = backend_id;
	rep.rev_nat_id = svc->rev_nat_id;
	rep.addr = p->saddr;
	rep.port = p->sport;
	rep.flags = YARD_CT_F_EXTERNAL;

	rep_key.saddr = be->addr;
	rep_key.sport = be->port;
	rep_key.proto = p->proto;
	rep_key.dir = YARD_CT_REPLY;
	rep_key.pad = 0;
	if (snat) {
		rep_key.daddr = yard_cfg.snat_addr;
		fwd.nat_addr = yard_cfg.snat_addr;
		fwd.nat_port = yard_snat_reserve(&rep_key, &rep, now);
		if (!fwd.nat_port)
			return yard_xdp_drop(ctx, YARD_REASON_SNAT_EXHAUSTED);
	} else {
		rep_key.daddr = p->saddr;
		rep_key.dport = p->sport;
		if (bpf_map_update_elem(&yard_ct4, &rep_key, &rep, BPF_ANY))
			return yard_xdp_drop(ctx, YARD_REASON_CT_FULL);
	}
	yard_ct4_key_of(p, YARD_CT_FORWARD, &fwd_key);
	if (bpf_map_update_elem(&yard_ct4, &fwd_key, &fwd, BPF_ANY)) {
		bpf_map_delete_elem(&yard_ct4, &rep_key);
		return yard_xdp_drop(ctx, YARD_REASON_CT_FULL);
	}
	yard_count_svc(svc->rev_nat_id, false, fwd.bytes);
	return yard_ext_forward(ctx, p, &fwd, &fib, true, rc);
}

/* A packet to an external frontend: its flow's endpoint, or a new one.
 * The steps are yard_flow_step's (lib/flow.h), spelled out: through the
 * helper, clang lays this program's stack out past BPF's 512 bytes. */
static __always_inline int
yard_ext_service_packet(struct xdp_md *ctx, const struct yard_pkt4 *p,
			const struct yard_svc_value *svc)
{
	struct yard_ct4_key key;
	struct yard_ct4_value *ct;
	struct yard_backend4 *be;
	struct bpf_fib_lookup fib;
	__u64 now = bpf_ktime_get_coarse_ns();

	yard_ct4_key_of(p, YARD_CT_FORWARD, &key);
	ct = bpf_map_lookup_elem(&yard_ct4, &key);
	if (!ct)
		return yard_ext_new_flow(ctx, p, svc, now);
	be = yard_lookup_backend4(ct->backend_id);
	if (!be || be->addr != ct->addr || be->port != ct->port) {
		if (p->proto != IPPROTO_TCP || yard_is_tcp_syn(p))
			return yard_ext_new_flow(ctx, p, svc, now);
		return yard_xdp_drop(ctx, YARD_REASON_BACKEND_GONE);
	}
	if (unlikely(yard_is_tcp_syn(p) && (ct->flags & YARD_CT_F_CLOSING)))
		return yard_ext_new_flow(ctx, p, svc, now);
	if (unlikely(yard_ct_expired(ct, p, now)))
		return yard_ext_new_flow(ctx, p, svc, now);

	yard_ct_touch(ct, p, bpf_xdp_get_buff_len(ctx), now);
	yard_count_svc(ct->rev_nat_id, false, bpf_xdp_get_buff_len(ctx));
	return yard_ext_forward(ctx, p, ct, &fib, false, 0);
}

/* An endpoint on another node answering a flow this node sent on under
 * its own address: back to the client, from the frontend. */
static __always_inline int yard_ext_reply(struct xdp_md *ctx,
					  const struct yard_pkt4 *p)
{
	struct yard_ct4_value *ct = yard_lookup_reply(p);
	struct yard_rnat4 *fe;

	if (!ct || !(ct->flags & YARD_CT_F_EXTERNAL))
		return XDP_PASS;
	fe = yard_reply_frontend(ct, p, bpf_xdp_get_buff_len(ctx));
	if (!fe)
		return yard_xdp_drop(ctx, YARD_REASON_REVNAT_MISSING);
	yard_frag4_remember(p);
	if (yard_xdp_nat4(ctx, p, fe->addr, fe->port, ct->addr, ct->port))
		return yard_xdp_drop(ctx, YARD_REASON_REWRITE_FAILED);
	return yard_xdp_route(ctx, fe->addr, ct->addr);
}

/* Destination unreachable (fragmentation needed among them) or time
 * exceeded: errors that quote the packet they are about. The parser keeps
 * an ICMP header's type in the first byte of sport. */
static __always_inline bool yard_icmp_is_error(const struct yard_pkt4 *p)
{
	__u8 type = *(const __u8 *)&p->sport;

	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED;
}

/* The IPv4 header an ICMP error quotes, and the 8 bytes after it. */
struct yard_icmp_quote4 {
	struct iphdr ip;
	__be16 sport;
	__be16 dport;
	__be16 word2; /* UDP length / TCP sequence, high half */
	__be16 word3; /* UDP checksum / TCP sequence, low half */
};

/* What an ICMP error becomes: the quoted header's addresses and ports,
 * and the error's own source and destination. */
struct yard_icmp_rewrite4 {
	__be32 quote_saddr, quote_daddr;
	__be16 quote_sport, quote_dport;
	__be32 saddr, daddr;
};

/* Rewrites an ICMP error in place. The quoted IP header's checksum, then
 * the ICMP checksum, which covers the quote, follow every change in it;
 * the quoted L4 checksum is left alone (receivers do not check a
 * quote's); the outer header's checksum follows its addresses. */
static __always_inline void
yard_icmp4_rewrite(struct iphdr *ip, struct icmphdr *icmp,
		   struct yard_icmp_quote4 *q,
		   const struct yard_icmp_rewrite4 *w)
{
	__u16 csum, inner_check;

	inner_check =
	    yard_csum_replace4(q->ip.check, q->ip.saddr, w->quote_saddr);
	inner_check =
	    yard_csum_replace4(inner_check, q->ip.daddr, w->quote_daddr);
	csum = yard_csum_replace4(icmp->checksum, q->ip.saddr, w->quote_saddr);
	csum = yard_csum_replace4(csum, q->ip.daddr, w->quote_daddr);
	csum = yard_csum_replace2(csum, q->ip.check, inner_check);
	csum = yard_csum_replace2(csum, q->sport, w->quote_sport);
	csum = yard_csum_replace2(csum, q->dport, w->quote_dport);
	icmp->checksum = csum;
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

/* An ICMP error (destination unreachable, fragmentation needed, time
 * exceeded) about a translated flow, arriving from outside:
 *  - about a packet this node sent a client from a frontend (a router's
 *    "fragmentation needed" on the way to the client): it belongs to the
 *    endpoint that sent the packet, so it goes there, with the quoted
 *    header as that endpoint sent it. Path MTU discovery through a
 *    service depends on this.
 *  - about a packet this node sent on to another node's endpoint under
 *    its own address (that endpoint's port unreachable): it belongs to
 *    the client, so it goes there from the frontend, quoting the packet
 *    as the client sent it. */
static __always_inline int yard_ext_icmp_in(struct xdp_md *ctx,
					    const struct yard_pkt4 *p)
{
	void *data = yard_xdp_data(ctx);
	void *data_end = yard_xdp_data_end(ctx);
	struct iphdr *ip = data + ETH_HLEN;
	struct icmphdr *icmp = data + (p->l4_off & 0x7f);
	struct yard_icmp_quote4 *q = (void *)(icmp + 1);
	struct yard_icmp_rewrite4 w;
	struct yard_ct4_key key = {};
	struct yard_ct4_value *ct;
	struct yard_rnat4 *fe;
	__u32 id;

	if ((void *)(q + 1) > data_end || (void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (icmp->type != ICMP_DEST_UNREACH && icmp->type != ICMP_TIME_EXCEEDED)
		return XDP_PASS;
	/* Quoted headers with options are left to the stack. */
	if (*(__u8 *)&q->ip != 0x45 ||
	    (q->ip.protocol != IPPROTO_TCP && q->ip.protocol != IPPROTO_UDP))
		return XDP_PASS;
	/* The quoted packet's tuple turned around: the flow's forward entry
	 * when it went frontend -> client, its reply entry when it went
	 * node -> remote endpoint. */
	key.saddr = q->ip.daddr;
	key.daddr = q->ip.saddr;
	key.sport = q->dport;
	key.dport = q->sport;
	key.proto = q->ip.protocol;
	key.dir = YARD_CT_FORWARD;
	ct = bpf_map_lookup_elem(&yard_ct4, &key);
	if (ct && (ct->flags & YARD_CT_F_EXTERNAL)) {
		bool snat = ct->flags & YARD_CT_F_SNAT;

		w.quote_saddr = ct->addr;
		w.quote_sport = ct->port;
		w.quote_daddr = snat ? ct->nat_addr : q->ip.daddr;
		w.quote_dport = snat ? ct->nat_port : q->dport;
		w.saddr = ip->saddr;
		w.daddr = ct->addr;
		yard_icmp4_rewrite(ip, icmp, q, &w);
		if (snat)
			return yard_xdp_route(ctx, w.saddr, w.daddr);
		return XDP_PASS;
	}
	if (!yard_cfg.snat_addr || q->ip.saddr != yard_cfg.snat_addr)
		return XDP_PASS;
	key.dir = YARD_CT_REPLY;
	ct = bpf_map_lookup_elem(&yard_ct4, &key);
	if (!ct || !(ct->flags & YARD_CT_F_EXTERNAL))
		return XDP_PASS;
	id = ct->rev_nat_id;
	fe = bpf_map_lookup_elem(&yard_rnat4, &id);
	if (!fe || (fe->addr == 0 && fe->port == 0))
		return XDP_PASS;
	w.quote_saddr = ct->addr;
	w.quote_sport = ct->port;
	w.quote_daddr = fe->addr;
	w.quote_dport = fe->port;
	w.saddr = fe->addr;
	w.daddr = ct->addr;
	yard_icmp4_rewrite(ip, icmp, q, &w);
	return yard_xdp_route(ctx, w.saddr, w.daddr);
}

SEC("xdp")
int yard_from_outside(struct xdp_md *ctx)
{
	struct yard_pkt4 p;
	struct yard_svc_value *svc;
	__u16 dport;

	/* What does not parse is not a service's: the stack decides. */
	if (yard_parse4_xdp(ctx, &p) != YARD_PARSE_OK)
		return XDP_PASS;
	yard_frag4_resolve(&p);

	if (unlikely(!yard_is_tcp_udp(&p))) {
		/* ICMP errors may concern a translated flow; other ICMP (an
		 * echo) to a service address is not a service's, as at tc. */
		if (p.proto == IPPROTO_ICMP && p.l4_hdr && !p.fragment &&
		    yard_icmp_is_error(&p))
			return yard_ext_icmp_in(ctx, &p);
		if (!yard_is_service_addr4(p.daddr, YARD_SCOPE_EXTERNAL))
			return XDP_PASS;
		if (p.fragment)
			return yard_xdp_drop(ctx, YARD_REASON_FRAGMENT);
		if (p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP)
			return yard_xdp_drop(ctx, YARD_REASON_TRUNCATED);
		return yard_xdp_drop(ctx, YARD_REASON_UNSUPPORTED_L4);
	}

	svc = yard_lookup_service4(&p, YARD_SCOPE_EXTERNAL);
	if (likely(svc && !(svc->flags & YARD_SVC_F_WILDCARD))) {
		if (unlikely(svc->flags & YARD_SVC_F_SOURCE_RANGES) &&
		    !yard_source_allowed(svc, &p))
			return yard_xdp_drop(ctx, YARD_REASON_SOURCE_DENIED);
		return yard_ext_service_packet(ctx, &p, svc);
	}
	dport = bpf_ntohs(p.dport);
	if (p.daddr == yard_cfg.snat_addr && dport >= yard_cfg.snat_port_min &&
	    dport <= yard_cfg.snat_port_max)
		return yard_ext_reply(ctx, &p);
	if (yard_is_service_addr4(p.daddr, YARD_SCOPE_EXTERNAL))
		return yard_ext_reject(ctx, &p, YARD_REASON_REJECT_NO_PORT);
	return XDP_PASS;
}

SEC("tc")
int yard_outside_ingress(struct __sk_buff *skb)
{
	struct yard_xdp_meta *meta = yard_skb_data_meta(skb);
	__u32 ifindex;
	long rc;

	if ((void *)(meta + 1) > yard_skb_data(skb) ||
	    meta->magic != YARD_META_REDIRECT_NEIGH)
		return TC_ACT_OK;
	/* The skb keeps its metadata as it travels on (a veth hands it to
	 * the next namespace whole), so the note is erased once read: the
	 * next hop's tc must not act on it. */
	ifindex = meta->ifindex;
	meta->magic = 0;
	rc = bpf_redirect_neigh(ifindex, NULL, 0, 0);
	if (rc == TC_ACT_SHOT)
		yard_count_reason(YARD_REASON_NO_ROUTE, skb->len);
	return rc;
}

/* An ICMP error a local endpoint sends about a packet of an outside
 * client's flow: it leaves from the frontend, about a packet to the
 * frontend, as the client knows the flow. */
static __always_inline int yard_icmp_out(struct __sk_buff *skb,
					 const struct yard_pkt4 *p)
{
	struct icmphdr icmp;
	struct yard_icmp_quote4 q;
	struct yard_ct4_key key = {};
	struct yard_ct4_value *ct;
	struct yard_rnat4 *fe;
	__u32 icmp_off = p->l4_off, id;
	__u16 csum, inner_check;

	if (bpf_skb_load_bytes(skb, icmp_off, &icmp, sizeof(icmp)) ||
	    bpf_skb_load_bytes(skb, icmp_off + sizeof(icmp), &q, sizeof(q)))
		return TC_ACT_OK;
	if (icmp.type != ICMP_DEST_UNREACH && icmp.type != ICMP_TIME_EXCEEDED)
		return TC_ACT_OK;
	if (*(__u8 *)&q.ip != 0x45 ||
	    (q.ip.protocol != IPPROTO_TCP && q.ip.protocol != IPPROTO_UDP))
		return TC_ACT_OK;
	/* The quoted packet went client -> endpoint: the flow's reply entry
	 * is keyed endpoint -> client. */
	key.saddr = q.ip.daddr;
	key.daddr = q.ip.saddr;
	key.sport = q.dport;
	key.dport = q.sport;
	key.proto = q.ip.protocol;
	key.dir = YARD_CT_REPLY;
	ct = bpf_map_lookup_elem(&yard_ct4, &key);
	if (!ct || !(ct->flags & YARD_CT_F_EXTERNAL))
		return TC_ACT_OK;
	id = ct->rev_nat_id;
	fe = bpf_map_lookup_elem(&yard_rnat4, &id);
	if (!fe || (fe->addr == 0 && fe->port == 0))
		return TC_ACT_OK;

	inner_check = yard_csum_replace4(q.ip.check, q.ip.daddr, fe->addr);
	csum = yard_csum_replace4(icmp.checksum, q.ip.daddr, fe->addr);
	csum = yard_csum_replace2(csum, q.ip.check, inner_check);
	csum = yard_csum_replace2(csum, q.dport, fe->port);
	icmp.checksum = csum;
	q.ip.check = inner_check;
	q.ip.daddr = fe->addr;
	q.dport = fe->port;
	if (bpf_skb_store_bytes(skb, icmp_off, &icmp, sizeof(icmp), 0) ||
	    bpf_skb_store_bytes(skb, icmp_off + sizeof(icmp), &q, sizeof(q), 0))
		return yard_drop(skb, YARD_REASON_REWRITE_FAILED);
	/* ICMP has no pseudo-header: the outer address change touches only
	 * the IPv4 header checksum. */
	if (bpf_l3_csum_replace(skb, YARD_IP_CSUM_OFF, p->saddr, fe->addr,
				sizeof(fe->addr)) ||
	    bpf_skb_store_bytes(skb, YARD_IP_SADDR_OFF, &fe->addr,
				sizeof(fe->addr), 0))
		return yard_drop(skb, YARD_REASON_REWRITE_FAILED);
	return TC_ACT_OK;
}

SEC("tc")
int yard_to_outside(struct __sk_buff *skb)
{
	struct yard_pkt4 p;
	struct yard_ct4_value *ct;

	if (yard_parse4(skb, &p) != YARD_PARSE_OK)
		return TC_ACT_OK;
	yard_frag4_resolve(&p);
	if (unlikely(!yard_is_tcp_udp(&p))) {
		if (p.proto == IPPROTO_ICMP && p.l4_hdr && !p.fragment)
			return yard_icmp_out(skb, &p);
		return TC_ACT_OK;
	}
	ct = yard_lookup_reply(&p);
	if (!ct || !(ct->flags & YARD_CT_F_EXTERNAL))
		return TC_ACT_OK;
	return yard_reply_packet(skb, &p, ct);
}

#endif /* SWITCHYARD_BPF_PROGS_EXTERNAL_H_ */
