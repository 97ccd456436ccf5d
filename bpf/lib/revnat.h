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

/* The forward entry of the flow whose reply entry is rep. */
static __always_inline void
yard_ct_forward_key_of(const struct yard_ct4_value *rep,
		       const struct yard_rnat4 *fe, __u8 proto,
		       struct yard_ct4_key *key)
{
	key->saddr = rep->addr;
	key->daddr = fe->addr;
	key->sport = rep->port;
	key->dport = fe->port;
	key->proto = proto;
	key->dir = YARD_CT_FORWARD;
	key->pad = 0;
}

/* The backend's FIN or RST: the forward entry learns it too, so the
 * client's next SYN on this tuple chooses again, and each entry alone
 * knows whether the flow has ended. */
static __always_inline void yard_close_forward(const struct yard_ct4_value *rep,
					       const struct yard_rnat4 *fe,
					       const struct yard_pkt4 *p)
{
	struct yard_ct4_key key;
	struct yard_ct4_value *fwd;

	yard_ct_forward_key_of(rep, fe, p->proto, &key);
	fwd = bpf_map_lookup_elem(&yard_ct4, &key);
	if (fwd) {
		fwd->flags |= yard_ct_close_flags(p, true);
		if (yard_ct_ended(fwd))
			yard_lc_release(fwd);
	}
}

/* The frontend a reply on entry ct must appear to come from, as the
 * flow's first packet addressed it: the reply entry holds it, so a reply
 * costs no yard_rnat4 lookup (one cache miss fewer per packet with many
 * services), and a rev_nat_id that a removed frontend leaves to another
 * never changes where a live flow's replies come from. False for an
 * entry that names no frontend. */
static __always_inline bool
yard_reply_frontend_of(const struct yard_ct4_value *ct, struct yard_rnat4 *fe)
{
	fe->addr = ct->nat_addr;
	fe->port = ct->nat_port;
	fe->pad = 0;
	return fe->addr != 0 || fe->port != 0;
}

/* Accounts a reply about to be translated to its flow and frontend; the
 * backend's FIN or RST closes the forward entry. */
static __always_inline void yard_reply_account(struct yard_ct4_value *ct,
					       const struct yard_rnat4 *fe,
					       const struct yard_pkt4 *p,
					       __u32 len, __u64 now)
{
	yard_ct_touch(ct, p, len, now, true);
	if (!(ct->flags & YARD_CT_F_SEEN_REPLY))
		ct->flags |= YARD_CT_F_SEEN_REPLY;
	if (unlikely(yard_ct_closes(p)))
		yard_close_forward(ct, fe, p);
	yard_count_svc(ct->rev_nat_id, true, len);
}

/* yard_reply_frontend_of, with the packet accounted when the entry names
 * a frontend. */
static __always_inline bool yard_reply_frontend(struct yard_ct4_value *ct,
						const struct yard_pkt4 *p,
						__u32 len, __u64 now,
						struct yard_rnat4 *fe)
{
	if (!yard_reply_frontend_of(ct, fe))
		return false;
	yard_reply_account(ct, fe, p, len, now);
	return true;
}

/* Whether a reply entry no longer speaks for packets on its tuple: its
 * flow has outlived its timeout, or the packet is the SYN-ACK of a new
 * connection on the tuple of a flow that has closed (the service flow's
 * own new SYN would have renewed the entry). Such a packet belongs to
 * someone else, a direct connection to the endpoint most likely, and
 * must not be given the service's address. */
static __always_inline bool yard_reply_stale(const struct yard_ct4_value *ct,
					     const struct yard_pkt4 *p,
					     __u64 now)
{
	if (unlikely(p->proto == IPPROTO_TCP &&
		     (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) ==
			 (TCP_FLAG_SYN | TCP_FLAG_ACK) &&
		     (ct->flags & YARD_CT_F_CLOSING)))
		return true;
	return yard_ct_expired(ct, p->proto, now);
}

/* The reply entry for a packet from a backend, or NULL; a stale entry is
 * removed on the spot, so the tuple is free for its new owner. The clock
 * is read only for a packet that has an entry, once: *now is for the
 * accounting that follows. */
static __always_inline struct yard_ct4_value *
yard_lookup_reply(const struct yard_pkt4 *p, __u64 *now)
{
	struct yard_ct4_key key;
	struct yard_ct4_value *ct;

	yard_ct4_key_of(p, YARD_CT_REPLY, &key);
	ct = bpf_map_lookup_elem(&yard_ct4, &key);
	if (!ct)
		return NULL;
	*now = yard_now();
	if (unlikely(yard_reply_stale(ct, p, *now))) {
		bpf_map_delete_elem(&yard_ct4, &key);
		return NULL;
	}
	/* The tuple belongs to a direct flow: its answers stay as they are. */
	if (unlikely(ct->flags & YARD_CT_F_DIRECT))
		return NULL;
	return ct;
}

/* Reverse translation of a backend's answer (skb hooks): source becomes
 * the frontend, destination the client's original address and port (they
 * differ from the packet's for hairpin and for flows from outside that
 * this node sent on with its own source). */
static __always_inline int yard_reply_packet(struct __sk_buff *skb,
					     const struct yard_pkt4 *p,
					     struct yard_ct4_value *ct,
					     __u64 now)
{
	struct yard_rnat4 fe;

	if (!yard_reply_frontend(ct, p, skb->len, now, &fe))
		return yard_drop(skb, YARD_REASON_REVNAT_MISSING);
	yard_frag4_remember(p);
	if (yard_snat4(skb, p, fe.addr, fe.port) ||
	    yard_rewrite_addr4(skb, p, false, p->daddr, ct->addr) ||
	    yard_rewrite_port(skb, p, YARD_L4_DPORT_OFF, p->dport, ct->port))
		return yard_drop(skb, YARD_REASON_REWRITE_FAILED);
	return TC_ACT_OK;
}

#endif /* SWITCHYARD_BPF_LIB_REVNAT_H_ */
