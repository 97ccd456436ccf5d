/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Source ports for flows from outside that this node sends on to an
 * endpoint on another node under its own address (yard_cfg.snat_addr):
 * the flow's reply entry, keyed by that port, is the reservation. */
#ifndef SWITCHYARD_BPF_LIB_SNAT_H_
#define SWITCHYARD_BPF_LIB_SNAT_H_

#include "conntrack.h"

/* A source port may be taken over from an ended flow after this long (the
 * endpoint's TIME_WAIT accepts a newer SYN), from an idle TCP flow after
 * much longer. */
#define YARD_SNAT_CLOSED_REUSE_NS (10 * NSEC_PER_SEC)
#define YARD_SNAT_IDLE_REUSE_NS (2 * 3600 * NSEC_PER_SEC)
/* Ports tried for one new flow before giving up: bounded work per packet. */
#define YARD_SNAT_TRIES 8

/* Whether the reply entry holding a source port belongs to a flow that
 * has ended or gone quiet, so a new flow may take the port. */
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

/* Records the reply entry `rep` under a source port of the SNAT range:
 * random, then its successors. Returns the port, or 0 when none is free. */
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
