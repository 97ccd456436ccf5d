/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Source ports for flows from outside that this node sends on to an
 * endpoint on another node under its own address (yard_cfg.snat_addr):
 * the flow's reply entry, keyed by that port, is the reservation, and no
 * two flows ever hold one (see yard_snat_reserve). */
#ifndef SWITCHYARD_BPF_LIB_SNAT_H_
#define SWITCHYARD_BPF_LIB_SNAT_H_

#include "conntrack.h"

/* Ports tried for one new flow before giving up: bounded work per packet. */
#define YARD_SNAT_TRIES 8

/* Whether the reply entry holding a source port belongs to a flow that
 * has ended or gone quiet, so a new flow may take the port: the flow
 * lifetimes of lib/conntrack.h (an ended TCP flow's port after the close
 * timeout, when the endpoint's TIME_WAIT accepts a newer SYN). */
static __always_inline bool yard_snat_stale(const struct yard_ct4_value *ct,
					    __u8 proto, __u64 now)
{
	return yard_ct_expired(ct, proto, now);
}

/* Claims the decision about the SNAT port of reply key k: the key's
 * insertion into yard_snat_claims, which one CPU alone wins. False when
 * another CPU holds it (or, absurdly, every claim slot is held). */
static __always_inline bool yard_snat_claim(const struct yard_ct4_key *k)
{
	__u8 held = 1;

	return !bpf_map_update_elem(&yard_snat_claims, k, &held, BPF_NOEXIST);
}

/* Records `rep` under rep_key, the caller holding its claim: on a free
 * port, or over a stale holder. */
static __always_inline bool yard_snat_take(const struct yard_ct4_key *rep_key,
					   const struct yard_ct4_value *rep,
					   __u64 now)
{
	struct yard_ct4_value *old;

	if (!bpf_map_update_elem(&yard_ct4, rep_key, rep, BPF_NOEXIST))
		return true;
	old = bpf_map_lookup_elem(&yard_ct4, rep_key);
	/* Gone since (swept, evicted) is as free as stale. */
	if (old && !yard_snat_stale(old, rep_key->proto, now))
		return false;
	return !bpf_map_update_elem(&yard_ct4, rep_key, rep, BPF_ANY);
}

/* Records the reply entry `rep` under a source port of the SNAT range:
 * random, then its successors. Returns the port, or 0 when none is free.
 *
 * A port is decided under its claim. Taking over a stale holder is a
 * lookup, then a write: unclaimed, two CPUs could both find the holder
 * stale and both write, and two flows would leave with one port (the
 * second's reply entry replacing the first's, whose answers then reach
 * the wrong client); or a takeover could write over the entry of a new
 * flow that got the port after the holder was swept. Every writer of an
 * SNAT reply entry claims it first, so one decides at a time; a port
 * claimed by another CPU is busy, and the next one is tried. */
static __always_inline __be16 yard_snat_reserve(
    struct yard_ct4_key *rep_key, const struct yard_ct4_value *rep, __u64 now)
{
	__u32 min = yard_cfg.snat_port_min, max = yard_cfg.snat_port_max;
	__u32 span, start, i;
	bool taken;

	if (max < min)
		return 0;
	span = max - min + 1;
	start = bpf_get_prandom_u32() % span;
	for (i = 0; i < YARD_SNAT_TRIES; i++) {
		rep_key->dport = bpf_htons((__u16)(min + (start + i) % span));
		if (!yard_snat_claim(rep_key))
			continue;
		taken = yard_snat_take(rep_key, rep, now);
		bpf_map_delete_elem(&yard_snat_claims, rep_key);
		if (taken)
			return rep_key->dport;
	}
	return 0;
}

/* Whether a packet's destination is a port of this node's SNAT range:
 * the answer of a remote endpoint to a flow this node sent on. */
static __always_inline bool yard_snat_is_reply(const struct yard_pkt4 *p)
{
	__u16 dport = bpf_ntohs(p->dport);

	return yard_cfg.snat_addr && p->daddr == yard_cfg.snat_addr &&
	       dport >= yard_cfg.snat_port_min &&
	       dport <= yard_cfg.snat_port_max;
}

#endif /* SWITCHYARD_BPF_LIB_SNAT_H_ */
