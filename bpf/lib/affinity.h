/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Session affinity (sessionAffinity: ClientIP): a client's new flows to a
 * service port go where its previous new flow went, while fewer than
 * aff_timeout_s seconds have passed since that one.
 *
 * As kube-proxy's iptables mode does (`recent --rcheck --seconds`, then
 * `--set` on the endpoint's chain), the clock restarts at every new flow
 * of the client, and only new flows count: a long connection does not
 * keep its client's entry alive. The entry is checked, never trusted:
 * its backend must still be in the slot that named it, within the
 * service's count, at the same address, or the client chooses again. */
#ifndef SWITCHYARD_BPF_LIB_AFFINITY_H_
#define SWITCHYARD_BPF_LIB_AFFINITY_H_

#include "maps.h"
#include "parse.h"

static __always_inline bool yard_has_affinity(const struct yard_svc_value *svc)
{
	return svc->flags & YARD_SVC_F_AFFINITY;
}

/* The backend the client's affinity names, refreshed to now; NULL when it
 * has none that still holds. */
static __always_inline struct yard_backend4 *
yard_affinity_find4(const struct yard_svc_value *svc,
		    const struct yard_pkt4 *p, __u64 now, __u32 *backend_id)
{
	struct yard_aff4_key key = {
	    .svc_id = svc->svc_id,
	    .client = p->saddr,
	};
	struct yard_aff4_value *aff;
	struct yard_slot_value *slot;
	struct yard_slot_key slot_key;
	struct yard_backend4 *be;

	aff = bpf_map_lookup_elem(&yard_affinity4, &key);
	if (!aff)
		return NULL;
	/* Unsigned: a last_ns ahead of now (another CPU's racing refresh)
	 * wraps to a huge age and the client simply chooses again. */
	if (now - aff->last_ns >
	    (__u64)svc->aff_timeout_s * NSEC_PER_SEC)
		return NULL;
	if (aff->slot == 0 || aff->slot > svc->count)
		return NULL;
	slot_key.svc_id = svc->svc_id;
	slot_key.slot = aff->slot;
	slot = bpf_map_lookup_elem(&yard_slots, &slot_key);
	if (!slot || slot->backend_id != aff->backend_id)
		return NULL;
	be = bpf_map_lookup_elem(&yard_be4, &slot->backend_id);
	if (!be || be->state == YARD_BACKEND_EMPTY ||
	    be->state == YARD_BACKEND_RETIRED || be->addr != aff->addr ||
	    be->port != aff->port)
		return NULL;
	aff->last_ns = now;
	*backend_id = slot->backend_id;
	return be;
}

/* Records the client's new choice. A failed update (never expected of an
 * LRU map) only costs the next flow its affinity. */
static __always_inline void
yard_affinity_remember4(const struct yard_svc_value *svc,
			const struct yard_pkt4 *p, __u32 slot,
			__u32 backend_id, const struct yard_backend4 *be,
			__u64 now)
{
	struct yard_aff4_key key = {
	    .svc_id = svc->svc_id,
	    .client = p->saddr,
	};
	struct yard_aff4_value value = {
	    .last_ns = now,
	    .backend_id = backend_id,
	    .slot = slot,
	    .addr = be->addr,
	    .port = be->port,
	};

	bpf_map_update_elem(&yard_affinity4, &key, &value, BPF_ANY);
}

#endif /* SWITCHYARD_BPF_LIB_AFFINITY_H_ */
