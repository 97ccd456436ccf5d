/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Least-connection selection (YARD_POLICY_LEAST_CONN, IPVS's "lc"): a new
 * flow goes to the backend with the fewest active flows on this node.
 *
 * The count of a backend (yard_lc4) rises when the forward entry of a
 * flow of a least-connection frontend is recorded, and falls once, when
 * the flow ends (RST, or a FIN from each side) or is replaced by a new
 * flow on its tuple. Flows that end otherwise (expiry, LRU eviction, the
 * agent's sweeper) leave their count behind: the agent recounts yard_ct4
 * and corrects (control/agent/lc_recount.h). Counts decide only which
 * backend a new flow gets; an established flow follows its entry.
 *
 * Only flows of least-connection frontends are counted, so random and
 * Maglev services pay nothing; a backend shared with such a frontend
 * shows only the least-connection flows, plus (after a recount) any
 * other flows the agent finds pinned to it. */
#ifndef SWITCHYARD_BPF_LIB_LEAST_CONN_H_
#define SWITCHYARD_BPF_LIB_LEAST_CONN_H_

#include "maps.h"

/* Slots scanned for the least count. Above this many the choice is
 * between two slots drawn at random ("power of two choices"): bounded
 * work per new flow, and still within a few flows of the least loaded
 * on a service that large. */
#ifndef YARD_LC_SCAN_MAX
#define YARD_LC_SCAN_MAX 64
#endif

/* Larger than any real count: a slot with no backend loses. */
#define YARD_LC_NONE 0x7fffffff

/* A backend's active count; never negative (see struct yard_lc_count). */
static __always_inline __s32 yard_lc_active(__u32 backend_id)
{
	struct yard_lc_count *c = bpf_map_lookup_elem(&yard_lc4, &backend_id);
	__s32 n;

	if (!c)
		return YARD_LC_NONE;
	n = (__s32)(__u32)c->word;
	return n < 0 ? 0 : n;
}

/* The active count of the backend in slot `slot` of backend set svc_id. */
static __always_inline __s32 yard_lc_slot_active(__u32 svc_id, __u32 slot)
{
	struct yard_slot_key key = {.svc_id = svc_id, .slot = slot};
	struct yard_slot_value *v = bpf_map_lookup_elem(&yard_slots, &key);

	if (!v)
		return YARD_LC_NONE;
	return yard_lc_active(v->backend_id);
}

/* Two slots at random, the less loaded of them. */
static __always_inline __u32
yard_lc_two_choices(const struct yard_svc_value *svc)
{
	__u32 a = bpf_get_prandom_u32() % svc->count + 1;
	__u32 b = bpf_get_prandom_u32() % svc->count + 1;

	if (yard_lc_slot_active(svc->svc_id, b) <
	    yard_lc_slot_active(svc->svc_id, a))
		return b;
	return a;
}

/* The slot (1..count) whose backend has the fewest active flows; among
 * equals, each equally likely (reservoir sampling: the k-th equal found
 * replaces the choice with probability 1/k), so equal counts spread. */
static __always_inline __u32
yard_lc_select_slot(const struct yard_svc_value *svc)
{
	__u32 count = svc->count, best = 1, ties = 0, i;
	__s32 least = YARD_LC_NONE, n;

	if (count > YARD_LC_SCAN_MAX)
		return yard_lc_two_choices(svc);
	for (i = 1; i <= YARD_LC_SCAN_MAX; i++) {
		if (i > count)
			break;
		n = yard_lc_slot_active(svc->svc_id, i);
		if (n < least) {
			least = n;
			best = i;
			ties = 1;
		} else if (n == least && bpf_get_prandom_u32() % ++ties == 0) {
			best = i;
		}
	}
	return best;
}

/* Marks the forward entry of a new flow of svc as one to count. */
static __always_inline void yard_lc_mark(const struct yard_svc_value *svc,
					 struct yard_ct4_value *fwd)
{
	if (svc->policy == YARD_POLICY_LEAST_CONN)
		fwd->lc = YARD_LC_COUNTED;
}

/* The flow of forward entry `fwd` has been recorded: it counts now. */
static __always_inline void yard_lc_opened(const struct yard_ct4_value *fwd)
{
	__u32 id = fwd->backend_id;
	struct yard_lc_count *c;

	if (!(fwd->lc & YARD_LC_COUNTED))
		return;
	c = bpf_map_lookup_elem(&yard_lc4, &id);
	if (c)
		__sync_fetch_and_add(&c->word, YARD_LC_OPEN);
}

/* The flow of forward entry `fwd` is over: its count falls, once however
 * many CPUs see its end (a retransmitted FIN, a RST racing a FIN). */
static __always_inline void yard_lc_release(struct yard_ct4_value *fwd)
{
	__u32 id = fwd->backend_id;
	struct yard_lc_count *c;
	__u32 old;

	/* A plain read first: most entries are not counted, or released. */
	if ((fwd->lc & (YARD_LC_COUNTED | YARD_LC_RELEASED)) != YARD_LC_COUNTED)
		return;
	old = __sync_fetch_and_or(&fwd->lc, YARD_LC_RELEASED);
	if (old & YARD_LC_RELEASED)
		return;
	c = bpf_map_lookup_elem(&yard_lc4, &id);
	if (c)
		__sync_fetch_and_add(&c->word, YARD_LC_CLOSE);
}

#endif /* SWITCHYARD_BPF_LIB_LEAST_CONN_H_ */
