/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* The bookkeeping of a reply, whichever hook translates it: find the
 * frontend the reply must come from, account the packet to the flow and
 * the frontend, and let the backend's FIN or RST close the forward entry. */
#ifndef SWITCHYARD_BPF_LIB_REVNAT_H_
#define SWITCHYARD_BPF_LIB_REVNAT_H_

#include "conntrack.h"
#include "frag.h"
#include "maps.h"
#include "nat.h"
#include "stats.h"

/* Marks the forward entry closing when the backend's side ends the flow,
 * so the client's next SYN on this tuple chooses again. */
static __always_inline void yard_close_forward(const struct yard_ct4_value *rep,
					       const struct yard_rnat4 *fe,
					       __u8 proto)
{
	struct yard_ct4_key key = {
	    .saddr = rep->addr,
	    .daddr = fe->addr,
	    .sport = rep->port,
	    .dport = fe->port,
	    .proto = proto,
	    .dir = YARD_CT_FORWARD,
	};
	struct yard_ct4_value *fwd = bpf_map_lookup_elem(&yard_ct4, &key);

	if (fwd)
		fwd->flags |= YARD_CT_F_CLOSING;
}

/* The frontend a reply on entry ct must appear to come from; NULL when
 * that frontend is gone. */
static __always_inline struct yard_rnat4 *
yard_rnat_lookup(const struct yard_ct4_value *ct)
{
	__u32 id = ct->rev_nat_id;
	struct yard_rnat4 *fe = bpf_map_lookup_elem(&yard_rnat4, &id);

	if (!fe || (fe->addr == 0 && fe->port == 0))
		return NULL;
	return fe;
}

/* Accounts a reply about to be translated to its flow and frontend; the
 * backend's FIN or RST closes the forward entry. */
static __always_inline void yard_reply_account(struct yard_ct4_value *ct,
					       const struct yard_rnat4 *fe,
					       const struct yard_pkt4 *p,
					       __u32 len)
{
	yard_ct_touch(ct, p, len, yard_now());
	if (!(ct->flags & YARD_CT_F_SEEN_REPLY))
		ct->flags |= YARD_CT_F_SEEN_REPLY;
	if (unlikely(yard_ct_closes(p)))
		yard_close_forward(ct, fe, p->proto);
	yard_count_svc(ct->rev_nat_id, true, len);
}

/* yard_rnat_lookup, with the packet accounted when the frontend exists. */
static __always_inline struct yard_rnat4 *
yard_reply_frontend(struct yard_ct4_value *ct, const struct yard_pkt4 *p,
		    __u32 len)
{
	struct yard_rnat4 *fe = yard_rnat_lookup(ct);

	if (fe)
		yard_reply_account(ct, fe, p, len);
	return fe;
}

static __always_inline struct yard_ct4_value *
yard_lookup_reply(const struct yard_pkt4 *p)
{
	struct yard_ct4_key key;

	yard_ct4_key_of(p, YARD_CT_REPLY, &key);
	return bpf_map_lookup_elem(&yard_ct4, &key);
}

/* Reverse translation of a backend's answer (skb hooks): source becomes
 * the frontend, destination the client's original address and port (they
 * differ from the packet's for hairpin and for flows from outside that
 * this node sent on with its own source). */
static __always_inline int yard_reply_packet(struct __sk_buff *skb,
					     const struct yard_pkt4 *p,
					     struct yard_ct4_value *ct)
{
	struct yard_rnat4 *fe = yard_reply_frontend(ct, p, skb->len);

	if (!fe)
		return yard_drop(skb, YARD_REASON_REVNAT_MISSING);
	yard_frag4_remember(p);
	if (yard_snat4(skb, p, fe->addr, fe->port) ||
	    yard_rewrite_addr4(skb, p, false, p->daddr, ct->addr) ||
	    yard_rewrite_port(skb, p, YARD_L4_DPORT_OFF, p->dport, ct->port))
		return yard_drop(skb, YARD_REASON_REWRITE_FAILED);
	return TC_ACT_OK;
}

#endif /* SWITCHYARD_BPF_LIB_REVNAT_H_ */
