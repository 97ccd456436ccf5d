/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* What a packet to a service port does with its flow's tracking entry,
 * whichever hook it arrived at (tc from a pod, XDP from outside): go on
 * to the flow's backend, choose a backend anew, or be dropped. */
#ifndef SWITCHYARD_BPF_LIB_FLOW_H_
#define SWITCHYARD_BPF_LIB_FLOW_H_

#include "conntrack.h"
#include "lb.h"

enum yard_flow_step {
	YARD_FLOW_CONTINUE = 0, /* the entry's backend, as before */
	YARD_FLOW_CHOOSE,	/* a new flow: choose and record */
	YARD_FLOW_GONE,		/* drop: BACKEND_GONE */
};

/* ct: the tuple's forward entry, or NULL. */
static __always_inline enum yard_flow_step
yard_flow_step(const struct yard_ct4_value *ct, const struct yard_pkt4 *p,
	       __u64 now)
{
	struct yard_backend4 *be;

	if (!ct)
		return YARD_FLOW_CHOOSE;
	be = yard_lookup_backend4(ct->backend_id);
	if (!be || be->addr != ct->addr || be->port != ct->port) {
		/* The flow's endpoint is gone. Only a new connection on the
		 * same tuple may choose again; anything else would reach a
		 * different endpoint mid-connection, or leak untranslated. */
		if (p->proto != IPPROTO_TCP || yard_is_tcp_syn(p))
			return YARD_FLOW_CHOOSE;
		return YARD_FLOW_GONE;
	}
	/* An endpoint no longer listed keeps its TCP connections (it may be
	 * back in a moment, as after a relist); datagrams and new
	 * connections go to one that is listed. */
	if (unlikely(be->state == YARD_BACKEND_RETIRED) &&
	    (p->proto != IPPROTO_TCP || yard_is_tcp_syn(p)))
		return YARD_FLOW_CHOOSE;
	/* A new connection on the tuple of one that has closed or gone
	 * quiet for good is a new flow. */
	if (unlikely(yard_is_tcp_syn(p) &&
		     ((ct->flags & YARD_CT_F_CLOSING) ||
		      yard_ct_expired(ct, p->proto, now))))
		return YARD_FLOW_CHOOSE;
	/* An idle UDP flow chooses again. A TCP segment of a flow idle past
	 * its timeout keeps the backend it had, which is still there:
	 * dropping or moving it would end a connection that only paused. */
	if (unlikely(p->proto != IPPROTO_TCP &&
		     yard_ct_expired(ct, p->proto, now)))
		return YARD_FLOW_CHOOSE;
	return YARD_FLOW_CONTINUE;
}

#endif /* SWITCHYARD_BPF_LIB_FLOW_H_ */
