/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Connection tracking for translated flows: a forward entry keyed by the
 * tuple the client sent, pinning the flow to its backend, and a reply entry
 * keyed by the tuple the backend answers with, naming the frontend to
 * restore. */
#ifndef SWITCHYARD_BPF_LIB_CONNTRACK_H_
#define SWITCHYARD_BPF_LIB_CONNTRACK_H_

#include "least_conn.h"
#include "maps.h"
#include "parse.h"

static __always_inline void yard_ct4_key_set(struct yard_ct4_key *k,
					     __be32 saddr, __be32 daddr,
					     __be16 sport, __be16 dport,
					     __u8 proto, __u8 dir)
{
	k->saddr = saddr;
	k->daddr = daddr;
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
	k->dir = dir;
	k->pad = 0;
}

/* The key of packet p's own tuple. */
static __always_inline void yard_ct4_key_of(const struct yard_pkt4 *p, __u8 dir,
					    struct yard_ct4_key *k)
{
	yard_ct4_key_set(k, p->saddr, p->daddr, p->sport, p->dport, p->proto,
			 dir);
}

static __always_inline bool yard_ct_closes(const struct yard_pkt4 *p)
{
	return p->proto == IPPROTO_TCP &&
	       (p->tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST));
}

/* The close flags a packet adds to its flow's entries: CLOSING (a new SYN
 * chooses again) with whichever of FIN from this side or RST it carries. */
static __always_inline __u16 yard_ct_close_flags(const struct yard_pkt4 *p,
						 bool from_backend)
{
	__u16 flags = YARD_CT_F_CLOSING;

	if (p->tcp_flags & TCP_FLAG_RST)
		flags |= YARD_CT_F_RST;
	if (p->tcp_flags & TCP_FLAG_FIN)
		flags |=
		    from_backend ? YARD_CT_F_FIN_BACKEND : YARD_CT_F_FIN_CLIENT;
	return flags;
}

/* Accounts one packet to an entry. Counters are plain adds: a flow's
 * packets rarely race across CPUs and the counts are for people, not for
 * decisions. from_backend: the packet is the backend's (a reply). */
static __always_inline void yard_ct_touch(struct yard_ct4_value *ct,
					  const struct yard_pkt4 *p, __u32 len,
					  __u64 now, bool from_backend)
{
	ct->last_seen_ns = now;
	ct->packets++;
	ct->bytes += len;
	if (unlikely(yard_ct_closes(p)))
		ct->flags |= yard_ct_close_flags(p, from_backend);
}

/* Whether a TCP flow has ended: a RST, or a FIN from each side. */
static __always_inline bool yard_ct_ended(const struct yard_ct4_value *ct)
{
	const __u16 both = YARD_CT_F_FIN_CLIENT | YARD_CT_F_FIN_BACKEND;

	return (ct->flags & YARD_CT_F_RST) || (ct->flags & both) == both;
}

/* Whether an entry has outlived its flow: idle for longer than its
 * protocol and state allow (an ended TCP flow briefly, an open one long,
 * UDP in between). Checked where entries are looked up, so a tuple is
 * free again the moment its time is up, whether or not the agent's
 * sweeper has reclaimed the memory yet. The same rule is in
 * control/kernel/ct_lifetime.cc. */
static __always_inline bool yard_ct_expired(const struct yard_ct4_value *ct,
					    __u8 proto, __u64 now)
{
	__u64 timeout_s;

	/* Another CPU may have touched the entry after this packet read the
	 * clock: then it is not idle at all (and the unsigned difference
	 * below would wrap). */
	if (ct->last_seen_ns > now)
		return false;
	if (proto == IPPROTO_TCP)
		timeout_s = yard_ct_ended(ct) ? yard_cfg.tcp_close_timeout_s
					      : yard_cfg.tcp_idle_timeout_s;
	else
		timeout_s = yard_cfg.udp_timeout_s;
	/* ">=": the clock is coarse (a tick, ~4 ms), so with a timeout of 0
	 * every packet must still count as idle long enough. */
	return now - ct->last_seen_ns >= timeout_s * NSEC_PER_SEC;
}

/* The key of the reply entry of forward entry `fwd` for packet p: the
 * backend answering whoever it saw as the client (the client itself, the
 * hairpin address, or this node's SNAT source). */
static __always_inline void
yard_ct_reply_key_of(const struct yard_pkt4 *p,
		     const struct yard_ct4_value *fwd, struct yard_ct4_key *k)
{
	k->saddr = fwd->addr;
	k->sport = fwd->port;
	k->daddr = p->saddr;
	k->dport = p->sport;
	if (fwd->flags & YARD_CT_F_SNAT) {
		k->daddr = fwd->nat_addr;
		k->dport = fwd->nat_port;
	} else if (fwd->flags & YARD_CT_F_HAIRPIN) {
		k->daddr = yard_cfg.hairpin_addr;
	}
	k->proto = p->proto;
	k->dir = YARD_CT_REPLY;
	k->pad = 0;
}

/* A client's FIN or RST: its reply entry learns it too, so that each
 * entry alone knows whether the flow has ended. (Rare packets: one more
 * lookup each.) */
static __always_inline void
yard_ct_client_closes(const struct yard_pkt4 *p,
		      const struct yard_ct4_value *fwd)
{
	struct yard_ct4_key key;
	struct yard_ct4_value *rep;

	yard_ct_reply_key_of(p, fwd, &key);
	rep = bpf_map_lookup_elem(&yard_ct4, &key);
	if (rep)
		rep->flags |= yard_ct_close_flags(p, false);
}

/* Accounts a client's packet to its flow's forward entry. */
static __always_inline void yard_ct_touch_forward(struct yard_ct4_value *fwd,
						  const struct yard_pkt4 *p,
						  __u32 len, __u64 now)
{
	yard_ct_touch(fwd, p, len, now, false);
	if (unlikely(yard_ct_closes(p))) {
		yard_ct_client_closes(p, fwd);
		if (yard_ct_ended(fwd))
			yard_lc_release(fwd);
	}
}

/* The two entries of a new flow of packet p to backend be (backend_id) of
 * the service whose reverse NAT is rev_nat_id: the forward entry (the
 * client's tuple, the backend it goes to) and the reply entry (what the
 * backend's answers are turned back into), keyed by how the backend
 * answers the client as it is. A translation that changes where answers
 * go (hairpin, SNAT) changes rep_key's destination afterwards. Both
 * entries carry `flags`; the reply entry also the frontend (p's
 * destination), so replies are translated from the entry alone. */
static __always_inline void
yard_ct4_new_pair(const struct yard_pkt4 *p, __u32 rev_nat_id,
		  const struct yard_backend4 *be, __u32 backend_id,
		  __u16 flags, __u32 len, __u64 now,
		  struct yard_ct4_value *fwd, struct yard_ct4_value *rep,
		  struct yard_ct4_key *rep_key)
{
	fwd->created_ns = now;
	fwd->last_seen_ns = now;
	fwd->packets = 1;
	fwd->bytes = len;
	fwd->backend_id = backend_id;
	fwd->rev_nat_id = rev_nat_id;
	fwd->addr = be->addr;
	fwd->port = be->port;
	fwd->flags = flags;

	rep->created_ns = now;
	rep->last_seen_ns = now;
	rep->backend_id = backend_id;
	rep->rev_nat_id = rev_nat_id;
	rep->addr = p->saddr;
	rep->port = p->sport;
	rep->flags = flags;
	/* The frontend is the packet's destination: the key that found it. */
	rep->nat_addr = p->daddr;
	rep->nat_port = p->dport;

	yard_ct4_key_set(rep_key, be->addr, p->saddr, be->port, p->sport,
			 p->proto, YARD_CT_REPLY);
}

/* Records a flow's reply entry, then its forward entry: once the forward
 * entry exists, packets of the flow are translated, and their answers
 * must find their way back. A reply tuple held already belongs to this
 * tuple's earlier flow (replaced) or to a live direct flow (kept: the new
 * flow is refused). Returns the reason to drop the packet, or
 * YARD_REASON_NONE. */
static __always_inline enum yard_reason
yard_ct4_record(const struct yard_pkt4 *p, const struct yard_ct4_key *fwd_key,
		const struct yard_ct4_value *fwd,
		const struct yard_ct4_key *rep_key,
		const struct yard_ct4_value *rep, __u64 now)
{
	struct yard_ct4_value *old;

	if (rep && bpf_map_update_elem(&yard_ct4, rep_key, rep, BPF_NOEXIST)) {
		old = bpf_map_lookup_elem(&yard_ct4, rep_key);
		if (old && (old->flags & YARD_CT_F_DIRECT) &&
		    !yard_ct_expired(old, p->proto, now))
			return YARD_REASON_TUPLE_CLASH;
		if (bpf_map_update_elem(&yard_ct4, rep_key, rep, BPF_ANY))
			return YARD_REASON_CT_FULL;
	}
	if (bpf_map_update_elem(&yard_ct4, fwd_key, fwd, BPF_ANY)) {
		/* No reply entry without its flow. */
		bpf_map_delete_elem(&yard_ct4, rep_key);
		return YARD_REASON_CT_FULL;
	}
	yard_lc_opened(fwd);
	return YARD_REASON_NONE;
}

#endif /* SWITCHYARD_BPF_LIB_CONNTRACK_H_ */
