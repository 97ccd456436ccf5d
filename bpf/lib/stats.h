/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Counting: per reason and per frontend, both per CPU. */
#ifndef SWITCHYARD_BPF_LIB_STATS_H_
#define SWITCHYARD_BPF_LIB_STATS_H_

#include "maps.h"

static __always_inline void yard_count_reason(enum yard_reason reason,
					      __u32 bytes)
{
	__u32 key = reason;
	struct yard_counter *c = bpf_map_lookup_elem(&yard_reasons, &key);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void yard_count_svc(__u32 rev_nat_id, bool reply,
					   __u32 bytes)
{
	struct yard_svc_stats *s =
	    bpf_map_lookup_elem(&yard_svc_stats, &rev_nat_id);
	struct yard_counter *c;

	if (!s)
		return;
	c = reply ? &s->reply : &s->forward;
	c->packets++;
	c->bytes += bytes;
}

/* Drop with a reason: the one way the datapath discards a packet. */
static __always_inline int yard_drop(struct __sk_buff *skb,
				     enum yard_reason reason)
{
	yard_count_reason(reason, skb->len);
	return TC_ACT_SHOT;
}

/* Pass unchanged, but counted: for frames the datapath does not handle. */
static __always_inline int yard_pass_counted(struct __sk_buff *skb,
					     enum yard_reason reason)
{
	yard_count_reason(reason, skb->len);
	return TC_ACT_OK;
}

static __always_inline int yard_xdp_drop(struct xdp_md *ctx,
					 enum yard_reason reason)
{
	yard_count_reason(reason, bpf_xdp_get_buff_len(ctx));
	return XDP_DROP;
}

#endif /* SWITCHYARD_BPF_LIB_STATS_H_ */
