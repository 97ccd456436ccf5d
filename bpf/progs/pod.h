/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Service translation on pod-facing interfaces, attached with tc to the
 * host side of each pod's veth:
 *
 *   yard_from_pod (ingress: pod -> node)   client -> ClusterIP:port becomes
 *                                          client -> endpoint:targetPort
 *   yard_to_pod   (egress:  node -> pod)   endpoint -> client becomes
 *                                          ClusterIP:port -> client
 *
 * Replies are translated back on the client's own interface, so they are
 * handled on the client's node whether the endpoint is local or on another
 * node. When the chosen endpoint is the client itself (hairpin), the source
 * is rewritten to yard_cfg.hairpin_addr, so the pod does not see a packet
 * from itself and its answer, addressed to the hairpin address, comes back
 * through yard_from_pod to be turned around.
 *
 * With the stack bypass on (lib/bypass.h), a translated packet leaves
 * yard_from_pod along its route without the host stack, and a local
 * endpoint's reply to a flow this node tracks is translated back on the
 * endpoint's own interface and sent straight into the client: the
 * client's yard_to_pod is skipped (bpf_redirect_peer enters the pod past
 * the host veth's egress), so the translation must happen before. Doing
 * it there costs nothing extra: the reply entry is looked up once, where
 * it decides the bypass. Traffic between pods that no service flow
 * tracks keeps the stack.
 */
#ifndef SWITCHYARD_BPF_PROGS_POD_H_
#define SWITCHYARD_BPF_PROGS_POD_H_

#include "lib/bypass.h"
#include "lib/common.h"
#include "lib/conntrack.h"
#include "lib/flow.h"
#include "lib/frag.h"
#include "lib/icmp_error.h"
#include "lib/lb.h"
#include "lib/maps.h"
#include "lib/nat.h"
#include "lib/parse.h"
#include "lib/reject.h"
#include "lib/reply.h"
#include "lib/revnat.h"
#include "lib/stats.h"

static __always_inline int yard_parse_verdict(struct __sk_buff *skb, int rc)
{
	switch (rc) {
	case YARD_PARSE_NOT_IPV4:
		return yard_pass_counted(skb, YARD_REASON_NOT_IPV4);
	case YARD_PARSE_VLAN:
		return yard_pass_counted(skb, YARD_REASON_VLAN);
	case YARD_PARSE_TRUNCATED:
		return yard_drop(skb, YARD_REASON_TRUNCATED);
	default:
		return yard_drop(skb, YARD_REASON_BAD_IP_HEADER);
	}
}

/* Sends a translated packet on: to the endpoint along its route (the
 * stack bypass), or to the stack, which routes it; for hairpin straight
 * back to the pod it came from. */
static __always_inline int yard_forward(struct __sk_buff *skb,
					const struct yard_pkt4 *p,
					__be32 be_addr, __be16 be_port,
					bool hairpin)
{
	yard_frag4_remember(p);
	if (yard_dnat4(skb, p, be_addr, be_port))
		return yard_drop(skb, YARD_REASON_REWRITE_FAILED);
	if (!hairpin)
		return yard_bypass4(skb, p->saddr, be_addr);
	if (yard_rewrite_addr4(skb, p, true, p->saddr, yard_cfg.hairpin_addr) ||
	    yard_swap_macs(skb))
		return yard_drop(skb, YARD_REASON_REWRITE_FAILED);
	return bpf_redirect(skb->ifindex, 0);
}

/* Records a new flow to be (both directions) and translates it. */
static __always_inline int yard_new_flow(struct __sk_buff *skb,
					 const struct yard_pkt4 *p,
					 const struct yard_svc_value *svc,
					 __u64 now)
{
	struct yard_ct4_key fwd_key, rep_key;
	struct yard_ct4_value fwd = {}, rep = {};
	struct yard_backend4 *be;
	enum yard_reason reason;
	__u32 backend_id = 0;
	bool hairpin;

	if (svc->count == 0)
		return yard_reject_tc(skb, p, YARD_REASON_REJECT_NO_ENDPOINT);
	be = yard_select_backend4(svc, p, &backend_id);
	if (!be)
		return yard_drop(skb, YARD_REASON_SLOT_MISSING);
	hairpin = be->addr == p->saddr;
	yard_ct4_new_pair(p, svc->rev_nat_id, be, backend_id,
			  hairpin ? YARD_CT_F_HAIRPIN : 0, skb->len, now, &fwd,
			  &rep, &rep_key);
	yard_lc_mark(svc, &fwd);
	/* The client answered from the hairpin address sees it as its peer. */
	if (hairpin)
		rep_key.daddr = yard_cfg.hairpin_addr;
	yard_ct4_key_of(p, YARD_CT_FORWARD, &fwd_key);
	reason = yard_ct4_record(p, &fwd_key, &fwd, &rep_key, &rep, now);
	if (reason != YARD_REASON_NONE)
		return yard_drop(skb, reason);
	yard_count_svc(svc->rev_nat_id, false, skb->len);
	return yard_forward(skb, p, fwd.addr, fwd.port, hairpin);
}

/* A packet of a flow this node tracks (ct, its forward entry) that goes
 * on to the backend it has. */
static __always_inline int yard_established_packet(struct __sk_buff *skb,
						   const struct yard_pkt4 *p,
						   struct yard_ct4_value *ct,
						   __u64 now)
{
	yard_ct_touch_forward(ct, p, skb->len, now);
	yard_count_svc(ct->rev_nat_id, false, skb->len);
	return yard_forward(skb, p, ct->addr, ct->port,
			    ct->flags & YARD_CT_F_HAIRPIN);
}

/* A packet to a service port whose tuple has no flow to go on with (ct:
 * the tuple's forward entry, if any, which yard_flow_step said to replace):
 * a new choice. */
static __always_inline int yard_service_packet(struct __sk_buff *skb,
					       const struct yard_pkt4 *p,
					       const struct yard_svc_value *svc,
					       struct yard_ct4_value *ct,
					       __u64 now)
{
	/* The flow a new one replaces on this tuple is over. */
	if (ct)
		yard_lc_release(ct);
	return yard_new_flow(skb, p, svc, now);
}

/* A TCP or UDP packet to an address that may be a service's: translated,
 * refused or dropped here (true, with the verdict in *rc), or to no
 * service (false).
 *
 * A TCP segment past its SYN belongs to a flow almost always: its forward
 * entry is looked up first and, the flow going on, nothing else (its
 * frontend is not looked up again): one hash lookup, not two. A SYN or a
 * datagram starts a flow as often as not (every DNS query does): for
 * those the frontend is looked up first, then the flow, as before. With
 * the flow first for every packet, new flows at 10,000 services measured
 * 20-40% slower in some runs and no different in others on the shared
 * bench VM; until that is settled only the near-certain case goes first.
 *
 * Either way the flow's entry decides for a flow that has one: a flow
 * whose frontend has since gone keeps its backend while that lasts and
 * the address has other frontends, as a conntrack entry of kube-proxy's
 * keeps translating after its rule has gone. */
static __always_inline bool yard_to_service(struct __sk_buff *skb,
					    const struct yard_pkt4 *p, int *rc)
{
	const bool flow_first = p->proto == IPPROTO_TCP && !yard_is_tcp_syn(p);
	struct yard_svc_value *svc = NULL;
	struct yard_ct4_key key;
	struct yard_ct4_value *ct;
	enum yard_flow_step step;
	__u64 now;

	if (!flow_first)
		svc = yard_lookup_service4(p, YARD_SCOPE_INTERNAL);
	yard_ct4_key_of(p, YARD_CT_FORWARD, &key);
	ct = bpf_map_lookup_elem(&yard_ct4, &key);
	now = yard_now();
	if (ct) {
		step = yard_flow_step(ct, p, now);
		if (likely(step == YARD_FLOW_CONTINUE)) {
			*rc = yard_established_packet(skb, p, ct, now);
			return true;
		}
		if (step == YARD_FLOW_GONE) {
			*rc = yard_drop(skb, YARD_REASON_BACKEND_GONE);
			return true;
		}
	}
	if (flow_first)
		svc = yard_lookup_service4(p, YARD_SCOPE_INTERNAL);
	if (likely(svc && !(svc->flags & YARD_SVC_F_WILDCARD))) {
		*rc = yard_service_packet(skb, p, svc, ct, now);
		return true;
	}
	if (yard_is_service_addr4(p->daddr, YARD_SCOPE_INTERNAL)) {
		*rc = yard_reject_tc(skb, p, YARD_REASON_REJECT_NO_PORT);
		return true;
	}
	return false;
}

/* A pod opening a connection straight to an address that is no service
 * (an endpoint, by its pod IP): its real tuple may be one a service flow
 * of the same pod was translated to, whose reply entry would give the
 * answers the service's address. Linux picks source ports per
 * destination, so this is ordinary. Checked on the packets that start
 * something (a SYN, any UDP datagram), before anything is answered:
 *  - a TCP service flow that has ended or expired lets go of the tuple;
 *    a live one keeps it, and the new connection is refused (dropped and
 *    counted) rather than break the live one;
 *  - UDP has no end to see, and a client that moves from a service to
 *    its endpoint has most likely finished with the service: the direct
 *    flow takes the tuple, marked so that the endpoint's answers pass
 *    untranslated and a new service flow on it is refused while the
 *    direct one lasts. */
static __always_inline int yard_direct_packet(struct __sk_buff *skb,
					      const struct yard_pkt4 *p)
{
	struct yard_ct4_key key = {
	    .saddr = p->daddr,
	    .daddr = p->saddr,
	    .sport = p->dport,
	    .dport = p->sport,
	    .proto = p->proto,
	    .dir = YARD_CT_REPLY,
	};
	struct yard_ct4_value direct = {};
	struct yard_ct4_key fwd_key;
	struct yard_ct4_value *rep;
	struct yard_rnat4 fe;
	__u64 now;

	rep = bpf_map_lookup_elem(&yard_ct4, &key);
	if (likely(!rep))
		return TC_ACT_OK;
	now = yard_now();
	if (rep->flags & YARD_CT_F_DIRECT) {
		rep->last_seen_ns = now;
		return TC_ACT_OK;
	}
	if (p->proto == IPPROTO_TCP && !yard_ct_ended(rep) &&
	    !yard_ct_expired(rep, p->proto, now))
		return yard_drop(skb, YARD_REASON_TUPLE_CLASH);
	if (yard_reply_frontend_of(rep, &fe)) {
		yard_ct_forward_key_of(rep, &fe, p->proto, &fwd_key);
		bpf_map_delete_elem(&yard_ct4, &fwd_key);
	}
	if (p->proto != IPPROTO_UDP) {
		bpf_map_delete_elem(&yard_ct4, &key);
		return TC_ACT_OK;
	}
	direct.created_ns = now;
	direct.last_seen_ns = now;
	direct.addr = p->saddr;
	direct.port = p->sport;
	direct.flags = YARD_CT_F_DIRECT;
	bpf_map_update_elem(&yard_ct4, &key, &direct, BPF_ANY);
	return TC_ACT_OK;
}

/* A packet from a local endpoint (no service's destination): the reply of
 * a flow this node tracks, to a client whose route is a local pod's
 * interface, is translated here and sent into the client past the host
 * stack. Anything else, including such a reply the route does not allow
 * to bypass, goes on untouched, as without the feature: the stack routes
 * it and yard_to_pod translates it on the client's interface. */
static __always_inline int yard_bypass_reply(struct __sk_buff *skb,
					     const struct yard_pkt4 *p)
{
	struct bpf_fib_lookup fib;
	struct yard_ct4_value *ct;
	__u64 now;
	int way, rc;

	ct = yard_lookup_reply(p, &now);
	/* Outside clients' flows are answered on the external device. */
	if (!ct || (ct->flags & (YARD_CT_F_EXTERNAL | YARD_CT_F_HAIRPIN)))
		return TC_ACT_OK;
	way = yard_bypass_route4(skb, p->saddr, ct->addr, &fib);
	if (way != YARD_BYPASS_PEER)
		return TC_ACT_OK;
	rc = yard_reply_packet(skb, p, ct, now);
	if (rc != TC_ACT_OK)
		return rc;
	return yard_bypass_send4(skb, way, &fib);
}

/* The other way: a pod's ICMP error about a service's answer (a UDP reply
 * to a socket that has closed), sent to the service's address. It goes
 * to the endpoint, quoting the answer as the endpoint sent it. An ICMP
 * error about no flow of this pod is not a service's (dropped, as any
 * other ICMP to a service address). */
static __always_inline int yard_icmp_from_pod(struct __sk_buff *skb,
					      const struct yard_pkt4 *p)
{
	struct yard_icmp_error4 e;
	struct yard_icmp_rewrite4 w;
	struct yard_ct4_key key;
	struct yard_ct4_value *ct;

	if (!yard_icmp4_locate(skb, YARD_HOOK_TC, p, &e))
		return yard_drop(skb, YARD_REASON_UNSUPPORTED_L4);
	yard_icmp4_flow_key(e.q, YARD_CT_FORWARD, &key);
	ct = bpf_map_lookup_elem(&yard_ct4, &key);
	if (!ct || (ct->flags & (YARD_CT_F_EXTERNAL | YARD_CT_F_HAIRPIN)))
		return yard_drop(skb, YARD_REASON_UNSUPPORTED_L4);
	w.quote_saddr = ct->addr;
	w.quote_sport = ct->port;
	w.quote_daddr = e.q->ip.daddr;
	w.quote_dport = e.q->dport;
	w.saddr = e.ip->saddr;
	w.daddr = ct->addr;
	yard_icmp4_rewrite(&e, &w);
	return TC_ACT_OK;
}

/* A pod's error about a packet that reached it through its own service
 * (hairpin: a datagram to a port it does not listen on), sent to the
 * hairpin address it came from. Turned around as the hairpin's answers
 * are: back into the pod, from the service, quoting the packet as the pod
 * sent it (to the service). Anything else to that address is left to
 * the stack. */
static __always_inline int yard_icmp_hairpin(struct __sk_buff *skb,
					     const struct yard_pkt4 *p)
{
	if (!yard_icmp_client_rewrite(skb, p, YARD_CT_F_HAIRPIN,
				      YARD_CT_F_HAIRPIN))
		return TC_ACT_OK;
	if (yard_swap_macs(skb))
		return yard_drop(skb, YARD_REASON_REWRITE_FAILED);
	return bpf_redirect(skb->ifindex, 0);
}

SEC("tc")
int yard_from_pod(struct __sk_buff *skb)
{
	struct yard_pkt4 p;
	struct yard_ct4_value *ct;
	__u64 now;
	int rc;

	rc = yard_parse4(skb, &p);
	if (rc != YARD_PARSE_OK)
		return yard_parse_verdict(skb, rc);
	yard_frag4_resolve(&p);

	if (unlikely(!yard_is_tcp_udp(&p))) {
		if (p.daddr == yard_cfg.hairpin_addr && yard_icmp_is_error(&p))
			return yard_icmp_hairpin(skb, &p);
		if (!yard_may_be_internal_service4(p.daddr) ||
		    !yard_is_service_addr4(p.daddr, YARD_SCOPE_INTERNAL))
			return TC_ACT_OK;
		if (yard_icmp_is_error(&p))
			return yard_icmp_from_pod(skb, &p);
		if (p.fragment)
			return yard_drop(skb, YARD_REASON_FRAGMENT);
		if (p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP)
			return yard_drop(skb, YARD_REASON_TRUNCATED);
		return yard_drop(skb, YARD_REASON_UNSUPPORTED_L4);
	}

	if (yard_may_be_internal_service4(p.daddr) &&
	    yard_to_service(skb, &p, &rc))
		return rc;

	/* A hairpinned pod answering itself: turn the answer around. */
	if (unlikely(p.daddr == yard_cfg.hairpin_addr)) {
		ct = yard_lookup_reply(&p, &now);
		if (!ct)
			return TC_ACT_OK;
		rc = yard_reply_packet(skb, &p, ct, now);
		if (rc != TC_ACT_OK)
			return rc;
		if (yard_swap_macs(skb))
			return yard_drop(skb, YARD_REASON_REWRITE_FAILED);
		return bpf_redirect(skb->ifindex, 0);
	}
	/* A new connection (a SYN, or any UDP datagram) to no service. */
	if (unlikely(yard_is_tcp_syn(&p)) || p.proto == IPPROTO_UDP) {
		rc = yard_direct_packet(skb, &p);
		if (rc != TC_ACT_OK)
			return rc;
	}
	if (yard_cfg.stack_bypass)
		return yard_bypass_reply(skb, &p);
	return TC_ACT_OK;
}

SEC("tc")
int yard_to_pod(struct __sk_buff *skb)
{
	return yard_towards_client(skb, false);
}

#endif /* SWITCHYARD_BPF_PROGS_POD_H_ */
