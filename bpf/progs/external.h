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
 *   yard_outside_ingress  tc in  the same path, for what XDP left undone:
 *                                everything where the kernel refuses XDP
 *                                or it is off, and frames whose next hop
 *                                XDP could not resolve (lib/route.h)
 *   yard_to_outside       tc out local endpoints' replies (and their ICMP
 *                                errors) get the frontend back
 *
 * With XDP on, tc ingress sees what XDP passed: frames already translated
 * for a local endpoint (whose destination is no frontend, so they pass),
 * and frames XDP did not touch. Translation is therefore done once.
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
#include "lib/flow.h"
#include "lib/frag.h"
#include "lib/hook.h"
#include "lib/icmp_error.h"
#include "lib/lb.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/reply.h"
#include "lib/revnat.h"
#include "lib/route.h"
#include "lib/snat.h"
#include "lib/stats.h"

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

/* Where a flow's packets go: routed by this node (an endpoint on another
 * node, under this node's source; or a local endpoint with XDP's
 * local_redirect) or handed to the stack. */
static __always_inline bool yard_ext_routed(int hook, bool snat)
{
	return snat || (hook == YARD_HOOK_XDP && yard_cfg.local_redirect);
}

/* Translates a packet of flow `ct` (forward direction), along the route
 * rc/fib when yard_ext_routed, and sends it on. */
static __always_inline int yard_ext_forward(void *ctx, int hook,
					    const struct yard_pkt4 *p,
					    const struct yard_ct4_value *ct,
					    long rc,
					    const struct bpf_fib_lookup *fib)
{
	bool snat = ct->flags & YARD_CT_F_SNAT;

	yard_frag4_remember(p);
	if (yard_hook_nat4(ctx, hook, p, snat ? ct->nat_addr : p->saddr,
			   snat ? ct->nat_port : p->sport, ct->addr, ct->port))
		return yard_hook_drop(ctx, hook, YARD_REASON_REWRITE_FAILED);
	/* A local endpoint the route cannot reach directly is the stack's. */
	if (snat ||
	    (yard_ext_routed(hook, snat) && rc == BPF_FIB_LKUP_RET_SUCCESS))
		return yard_route_send(ctx, hook, rc, fib);
	return yard_hook_pass(hook);
}

static __always_inline int yard_ext_new_flow(void *ctx, int hook,
					     const struct yard_pkt4 *p,
					     const struct yard_svc_value *svc,
					     __u64 now)
{
	struct yard_ct4_key fwd_key, rep_key;
	struct yard_ct4_value fwd = {}, rep = {};
	struct bpf_fib_lookup fib;
	struct yard_backend4 *be;
	enum yard_reason reason;
	__u32 backend_id = 0;
	bool snat;
	long rc;

	if (svc->count == 0)
		return yard_hook_reject(ctx, hook, p,
					YARD_REASON_REJECT_NO_ENDPOINT);
	be = yard_select_backend4(svc, p, &backend_id);
	if (!be)
		return yard_hook_drop(ctx, hook, YARD_REASON_SLOT_MISSING);
	/* An endpoint reached back out the device the client came in on is
	 * another node's: its replies must come back here to be turned
	 * around, so the flow takes this node's address as its source. */
	rc = yard_fib4(ctx, hook, p->saddr, be->addr, &fib);
	/* A node that does not forward cannot reach a pod either way. */
	if (rc == BPF_FIB_LKUP_RET_FWD_DISABLED)
		return yard_hook_drop(ctx, hook, YARD_REASON_NO_ROUTE);
	snat = yard_fib_one_armed(ctx, hook, rc, &fib);
	if (snat && !yard_cfg.snat_addr)
		return yard_hook_drop(ctx, hook, YARD_REASON_NO_ROUTE);
	/* Nothing recorded yet: tc will choose and record the flow. (A
	 * local endpoint without a neighbour entry is the stack's, below.) */
	if (snat && yard_route_needs_tc(hook, rc))
		return yard_hook_pass(hook);

	yard_ct4_new_pair(p, svc->rev_nat_id, be, backend_id,
			  YARD_CT_F_EXTERNAL, yard_hook_len(ctx, hook), now,
			  &fwd, &rep, &rep_key);
	yard_lc_mark(svc, &fwd);
	yard_ct4_key_of(p, YARD_CT_FORWARD, &fwd_key);
	if (snat) {
		/* Answers come to this node's address, on a port of its own:
		 * the reservation records the reply entry. */
		fwd.flags |= YARD_CT_F_SNAT;
		rep_key.daddr = yard_cfg.snat_addr;
		fwd.nat_addr = yard_cfg.snat_addr;
		fwd.nat_port = yard_snat_reserve(&rep_key, &rep, now);
		if (!fwd.nat_port)
			return yard_hook_drop(ctx, hook,
					      YARD_REASON_SNAT_EXHAUSTED);
		reason = yard_ct4_record(p, &fwd_key, &fwd, &rep_key, NULL,
					 now);
	} else {
		reason = yard_ct4_record(p, &fwd_key, &fwd, &rep_key, &rep,
					 now);
	}
	if (reason != YARD_REASON_NONE)
		return yard_hook_drop(ctx, hook, reason);
	yard_count_svc(svc->rev_nat_id, false, fwd.bytes);
	return yard_ext_forward(ctx, hook, p, &fwd, rc, &fib);
}

/* A packet to an external frontend: its flow's endpoint, or a new one. */
static __always_inline int
yard_ext_service_packet(void *ctx, int hook, const struct yard_pkt4 *p,
			const struct yard_svc_value *svc)
{
	struct yard_ct4_key key;
	struct yard_ct4_value *ct;
	struct bpf_fib_lookup fib;
	__u64 now = yard_now();
	enum yard_flow_step step;
	long rc = 0;
	bool snat;

	yard_ct4_key_of(p, YARD_CT_FORWARD, &key);
	ct = bpf_map_lookup_elem(&yard_ct4, &key);
	step = yard_flow_step(ct, p, now);
	if (step == YARD_FLOW_GONE)
		return yard_hook_drop(ctx, hook, YARD_REASON_BACKEND_GONE);
	if (step == YARD_FLOW_CHOOSE || !ct) {
		/* The flow a new one replaces on this tuple is over. */
		if (ct)
			yard_lc_release(ct);
		return yard_ext_new_flow(ctx, hook, p, svc, now);
	}

	snat = ct->flags & YARD_CT_F_SNAT;
	if (yard_ext_routed(hook, snat)) {
		rc = yard_fib4(ctx, hook, snat ? ct->nat_addr : p->saddr,
			       ct->addr, &fib);
		/* Left to tc before it is counted: counted once, there. */
		if (snat && yard_route_needs_tc(hook, rc))
			return yard_hook_pass(hook);
	}
	yard_ct_touch_forward(ct, p, yard_hook_len(ctx, hook), now);
	yard_count_svc(ct->rev_nat_id, false, yard_hook_len(ctx, hook));
	return yard_ext_forward(ctx, hook, p, ct, rc, &fib);
}

/* An endpoint on another node answering a flow this node sent on under
 * its own address: back to the client, from the frontend. */
static __always_inline int yard_ext_reply(void *ctx, int hook,
					  const struct yard_pkt4 *p)
{
	struct bpf_fib_lookup fib;
	struct yard_ct4_value *ct;
	struct yard_rnat4 fe;
	__u64 now;
	long rc;

	ct = yard_lookup_reply(p, &now);
	if (!ct || !(ct->flags & YARD_CT_F_EXTERNAL))
		return yard_hook_pass(hook);
	if (!yard_reply_frontend_of(ct, &fe))
		return yard_hook_drop(ctx, hook, YARD_REASON_REVNAT_MISSING);
	rc = yard_fib4(ctx, hook, fe.addr, ct->addr, &fib);
	if (yard_route_needs_tc(hook, rc))
		return yard_hook_pass(hook);
	yard_reply_account(ct, &fe, p, yard_hook_len(ctx, hook), now);
	yard_frag4_remember(p);
	if (yard_hook_nat4(ctx, hook, p, fe.addr, fe.port, ct->addr,
			   ct->port))
		return yard_hook_drop(ctx, hook, YARD_REASON_REWRITE_FAILED);
	return yard_route_send(ctx, hook, rc, &fib);
}

/* An ICMP error about a translated flow, arriving from outside:
 *  - about a packet this node sent a client from a frontend (a router's
 *    "fragmentation needed" on the way to the client): it belongs to the
 *    endpoint that sent the packet, so it goes there, with the quoted
 *    header as that endpoint sent it. Path MTU discovery through a
 *    service depends on this.
 *  - about a packet this node sent on to another node's endpoint under
 *    its own address (that endpoint's port unreachable): it belongs to
 *    the client, so it goes there from the frontend, quoting the packet
 *    as the client sent it. */
static __always_inline int yard_ext_icmp_in(void *ctx, int hook,
					    const struct yard_pkt4 *p)
{
	struct yard_icmp_error4 e;
	struct yard_icmp_rewrite4 w;
	struct bpf_fib_lookup fib;
	struct yard_ct4_key key;
	struct yard_ct4_value *ct;
	struct yard_rnat4 fe;
	bool snat;
	long rc;

	if (!yard_icmp4_locate(ctx, hook, p, &e))
		return yard_hook_pass(hook);
	/* The quoted packet's tuple turned around: the flow's forward entry
	 * when it went frontend -> client, its reply entry when it went
	 * node -> remote endpoint. */
	yard_icmp4_flow_key(e.q, YARD_CT_FORWARD, &key);
	ct = bpf_map_lookup_elem(&yard_ct4, &key);
	if (ct && (ct->flags & YARD_CT_F_EXTERNAL)) {
		snat = ct->flags & YARD_CT_F_SNAT;
		w.quote_saddr = ct->addr;
		w.quote_sport = ct->port;
		w.quote_daddr = snat ? ct->nat_addr : e.q->ip.daddr;
		w.quote_dport = snat ? ct->nat_port : e.q->dport;
		w.saddr = e.ip->saddr;
		w.daddr = ct->addr;
	} else {
		if (!yard_cfg.snat_addr || e.q->ip.saddr != yard_cfg.snat_addr)
			return yard_hook_pass(hook);
		key.dir = YARD_CT_REPLY;
		ct = bpf_map_lookup_elem(&yard_ct4, &key);
		if (!ct || !(ct->flags & YARD_CT_F_EXTERNAL))
			return yard_hook_pass(hook);
		if (!yard_reply_frontend_of(ct, &fe))
			return yard_hook_pass(hook);
		snat = true;
		w.quote_saddr = ct->addr;
		w.quote_sport = ct->port;
		w.quote_daddr = fe.addr;
		w.quote_dport = fe.port;
		w.saddr = fe.addr;
		w.daddr = ct->addr;
	}
	if (!snat) {
		yard_icmp4_rewrite(&e, &w);
		return yard_hook_pass(hook);
	}
	rc = yard_fib4(ctx, hook, w.saddr, w.daddr, &fib);
	if (yard_route_needs_tc(hook, rc))
		return yard_hook_pass(hook);
	/* The route lookup was a helper call: find the error again. */
	if (!yard_icmp4_locate(ctx, hook, p, &e))
		return yard_hook_pass(hook);
	yard_icmp4_rewrite(&e, &w);
	return yard_route_send(ctx, hook, rc, &fib);
}

/* Everything a frame from outside meets, at either hook. */
static __always_inline int yard_outside_packet(void *ctx, int hook)
{
	struct yard_pkt4 p;
	struct yard_svc_value *svc;

	/* What does not parse is not a service's: the stack decides. */
	if (yard_hook_parse4(ctx, hook, &p) != YARD_PARSE_OK)
		return yard_hook_pass(hook);
	yard_frag4_resolve(&p);

	if (unlikely(!yard_is_tcp_udp(&p))) {
		/* ICMP errors may concern a translated flow; other ICMP (an
		 * echo) to a service address is not a service's, as at tc. */
		if (yard_icmp_is_error(&p))
			return yard_ext_icmp_in(ctx, hook, &p);
		if (!yard_is_service_addr4(p.daddr, YARD_SCOPE_EXTERNAL))
			return yard_hook_pass(hook);
		if (p.fragment)
			return yard_hook_drop(ctx, hook, YARD_REASON_FRAGMENT);
		if (p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP)
			return yard_hook_drop(ctx, hook, YARD_REASON_TRUNCATED);
		return yard_hook_drop(ctx, hook, YARD_REASON_UNSUPPORTED_L4);
	}

	svc = yard_lookup_service4(&p, YARD_SCOPE_EXTERNAL);
	if (likely(svc && !(svc->flags & YARD_SVC_F_WILDCARD))) {
		if (unlikely(svc->flags & YARD_SVC_F_SOURCE_RANGES) &&
		    !yard_source_allowed(svc, &p))
			return yard_hook_drop(ctx, hook,
					      YARD_REASON_SOURCE_DENIED);
		return yard_ext_service_packet(ctx, hook, &p, svc);
	}
	if (yard_snat_is_reply(&p))
		return yard_ext_reply(ctx, hook, &p);
	if (yard_is_service_addr4(p.daddr, YARD_SCOPE_EXTERNAL))
		return yard_hook_reject(ctx, hook, &p,
					YARD_REASON_REJECT_NO_PORT);
	return yard_hook_pass(hook);
}

SEC("xdp")
int yard_from_outside(struct xdp_md *ctx)
{
	return yard_outside_packet(ctx, YARD_HOOK_XDP);
}

SEC("tc")
int yard_outside_ingress(struct __sk_buff *skb)
{
	return yard_outside_packet(skb, YARD_HOOK_TC);
}

SEC("tc")
int yard_to_outside(struct __sk_buff *skb)
{
	return yard_towards_client(skb, true);
}

#endif /* SWITCHYARD_BPF_PROGS_EXTERNAL_H_ */
