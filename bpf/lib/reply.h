/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* The way back to a client, at tc egress towards it: a backend's answer
 * translated back to the service's address, and an ICMP error about a
 * translated flow made to quote what the client sent. Pods and outside
 * clients alike; only the flows each device carries differ. */
#ifndef SWITCHYARD_BPF_LIB_REPLY_H_
#define SWITCHYARD_BPF_LIB_REPLY_H_

#include "common.h"
#include "frag.h"
#include "icmp_error.h"
#include "parse.h"
#include "revnat.h"

/* `outside`: the device faces outside clients, so only flows that came
 * from outside (YARD_CT_F_EXTERNAL) are translated back here; the others
 * are pods' flows leaving through it. Frames this hook cannot parse were
 * the stack's to deliver; they were counted, if at all, where they
 * entered. */
static __always_inline int yard_towards_client(struct __sk_buff *skb,
					       bool outside)
{
	struct yard_pkt4 p;
	struct yard_ct4_value *ct;
	__u64 now;

	if (yard_parse4(skb, &p) != YARD_PARSE_OK)
		return TC_ACT_OK;
	yard_frag4_resolve(&p);
	if (unlikely(!yard_is_tcp_udp(&p))) {
		if (yard_icmp_is_error(&p))
			return yard_icmp_to_client(skb, &p, outside);
		return TC_ACT_OK;
	}
	ct = yard_lookup_reply(&p, &now);
	if (!ct || (outside && !(ct->flags & YARD_CT_F_EXTERNAL)))
		return TC_ACT_OK;
	return yard_reply_packet(skb, &p, ct, now);
}

#endif /* SWITCHYARD_BPF_LIB_REPLY_H_ */
