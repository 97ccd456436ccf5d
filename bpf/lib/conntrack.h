/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Connection tracking for translated flows: a forward entry keyed by the
 * tuple the client sent, pinning the flow to its backend, and a reply entry
 * keyed by the tuple the backend answers with, naming the frontend to
 * restore. */
#ifndef SWITCHYARD_BPF_LIB_CONNTRACK_H_
#define SWITCHYARD_BPF_LIB_CONNTRACK_H_

#include "maps.h"
#include "parse.h"

static __always_inline void yard_ct4_key_of(const struct yard_pkt4 *p, __u8 dir,
					    struct yard_ct4_key *k)
{
	k->saddr = p->saddr;
	k->daddr = p->daddr;
	k->sport = p->sport;
	k->dport = p->dport;
	k->proto = p->proto;
	k->dir = dir;
	k->pad = 0;
}

static __always_inline bool yard_ct_closes(const struct yard_pkt4 *p)
{
	return p->proto == IPPROTO_TCP &&
	       (p->tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST));
}

/* Accounts one packet to an entry. Counters are plain adds: a flow's
 * packets rarely race across CPUs and the counts are for people, not for
 * decisions. */
static __always_inline void yard_ct_touch(struct yard_ct4_value *ct,
					  const struct yard_pkt4 *p, __u32 len,
					  __u64 now)
{
	ct->last_seen_ns = now;
	ct->packets++;
	ct->bytes += len;
	if (unlikely(yard_ct_closes(p)))
		ct->flags |= YARD_CT_F_CLOSING;
}

/* Whether an idle non-TCP flow should choose its backend again. TCP flows
 * never expire here: only the LRU evicts them, so a long idle connection
 * keeps its backend. */
static __always_inline bool yard_ct_expired(const struct yard_ct4_value *ct,
					    const struct yard_pkt4 *p,
					    __u64 now)
{
	if (p->proto == IPPROTO_TCP)
		return false;
	/* Another CPU may have touched the entry after this packet read the
	 * clock: then it is not idle at all (and the unsigned difference
	 * below would wrap). */
	if (ct->last_seen_ns > now)
		return false;
	/* ">=": the clock is coarse (a tick, ~4 ms), so with a timeout of 0
	 * every packet must still count as idle long enough. */
	return now - ct->last_seen_ns >=
	       (__u64)yard_cfg.udp_timeout_s * NSEC_PER_SEC;
}

#endif /* SWITCHYARD_BPF_LIB_CONNTRACK_H_ */
