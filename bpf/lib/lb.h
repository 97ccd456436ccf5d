/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Service lookup and backend selection. Selection is one function that
 * switches on the service's policy, so Maglev, least-connection or weighted
 * choice arrive as new cases, not new call sites. */
#ifndef SWITCHYARD_BPF_LIB_LB_H_
#define SWITCHYARD_BPF_LIB_LB_H_

#include "affinity.h"
#include "least_conn.h"
#include "maglev.h"
#include "maps.h"
#include "parse.h"

static __always_inline struct yard_svc_value *
yard_lookup_service4(const struct yard_pkt4 *p, __u8 scope)
{
	struct yard_svc4_key key = {
	    .addr = p->daddr,
	    .port = p->dport,
	    .proto = p->proto,
	    .scope = scope,
	};

	return bpf_map_lookup_elem(&yard_svc4, &key);
}

/* False when no frontend of scope YARD_SCOPE_INTERNAL has addr: the
 * packet is to no service (one array read). True means "maybe". */
static __always_inline bool yard_may_be_internal_service4(__be32 addr)
{
	__u32 bit = yard_svc_addr_bit(addr);
	__u32 word = bit / 64;
	__u64 *w = bpf_map_lookup_elem(&yard_svc_addrs, &word);

	return w && (*w & (1ULL << (bit % 64)));
}

/* Whether addr is a service address at all, whatever the port: it has a
 * wildcard entry. (Node addresses have none: a NodePort does not make
 * every other port of the node a service's.) */
static __always_inline bool yard_is_service_addr4(__be32 addr, __u8 scope)
{
	struct yard_svc4_key key = {.addr = addr, .scope = scope};

	return bpf_map_lookup_elem(&yard_svc4, &key) != NULL;
}

static __always_inline struct yard_backend4 *yard_lookup_backend4(__u32 id)
{
	struct yard_backend4 *be = bpf_map_lookup_elem(&yard_be4, &id);

	if (!be || be->state == YARD_BACKEND_EMPTY)
		return NULL;
	return be;
}

/* Picks the slot (1..count) a new flow goes to; count must be non-zero. */
static __always_inline __u32 yard_select_slot(const struct yard_svc_value *svc,
					      const struct yard_pkt4 *p)
{
	switch (svc->policy) {
	case YARD_POLICY_LEAST_CONN:
		return yard_lc_select_slot(svc);
	case YARD_POLICY_RANDOM:
	/* Maglev chooses a backend, not a slot (yard_select_backend4); it
	 * comes here only when its table is missing. */
	default:
		return bpf_get_prandom_u32() % svc->count + 1;
	}
}

/* The id of the backend a new flow to svc goes to, or 0 when the chosen
 * slot is not (yet) written: a broken update order, counted by the caller.
 * With session affinity, the client's earlier choice comes first and the
 * policy chooses only when there is none (lib/affinity.h).
 *
 * A global function, so the verifier checks it once, on its own: inlined,
 * its branches (affinity, each policy, least-connection's scan) multiply
 * with every path of every hook that calls it, and the external hooks
 * then pass the verifier's million-instruction budget. Its pointer
 * arguments are checked for NULL because a global function's are not
 * trusted. */
__noinline __u32 yard_choose_backend_id4(const struct yard_svc_value *svc,
					  const struct yard_pkt4 *p)
{
	struct yard_slot_key key = {};
	struct yard_slot_value *slot;
	struct yard_backend4 *be;
	__u32 backend_id = 0;
	__u64 now = 0;

	if (!svc || !p || svc->count == 0)
		return 0;
	key.svc_id = svc->svc_id;
	if (yard_has_affinity(svc)) {
		now = yard_now();
		be = yard_affinity_find4(svc, p, now, &backend_id);
		if (be)
			return backend_id;
	} else if (svc->policy == YARD_POLICY_MAGLEV) {
		/* Maglev's table names backends directly: no slot lookup.
		 * Affinity remembers the slot it chose, so a service with both
		 * chooses by slot (the controller warns of it when applied). */
		backend_id = yard_maglev_backend_id(svc->svc_id, p);
		if (backend_id)
			return backend_id;
	}
	key.slot = yard_select_slot(svc, p);
	slot = bpf_map_lookup_elem(&yard_slots, &key);
	if (!slot)
		return 0;
	if (yard_has_affinity(svc)) {
		be = yard_lookup_backend4(slot->backend_id);
		if (be)
			yard_affinity_remember4(svc, p, key.slot,
						slot->backend_id, be, now);
	}
	return slot->backend_id;
}

/* The backend a new flow to svc goes to (its id in *backend_id), or NULL
 * when none is written (see yard_choose_backend_id4). */
static __always_inline struct yard_backend4 *
yard_select_backend4(const struct yard_svc_value *svc,
		     const struct yard_pkt4 *p, __u32 *backend_id)
{
	*backend_id = yard_choose_backend_id4(svc, p);
	if (!*backend_id)
		return NULL;
	return yard_lookup_backend4(*backend_id);
}

#endif /* SWITCHYARD_BPF_LIB_LB_H_ */
