/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Maglev selection: the flow's hash indexes its backend set's lookup
 * table (built by the agent, control/lb/maglev_table.h), which names the
 * backend. The hash covers the whole 5-tuple: conntrack already keeps a
 * flow on its backend, so the table decides only new flows, and with the
 * 5-tuple one busy client still spreads over every endpoint. Every node
 * builds the same table from the same endpoints, so a flow that reaches
 * another node (an ECMP change upstream) is sent to the same endpoint. */
#ifndef SWITCHYARD_BPF_LIB_MAGLEV_H_
#define SWITCHYARD_BPF_LIB_MAGLEV_H_

#include "maps.h"
#include "parse.h"

/* A 32-bit finaliser: each input bit moves about half the output bits,
 * so neighbouring ports land far apart in the table. */
static __always_inline __u32 yard_mix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

static __always_inline __u32 yard_flow_hash4(const struct yard_pkt4 *p)
{
	__u32 h = yard_mix32(p->saddr ^ 0x9e3779b9);

	h = yard_mix32(h ^ p->daddr);
	h = yard_mix32(h ^ (((__u32)p->sport << 16) | p->dport));
	return yard_mix32(h ^ p->proto);
}

/* The backend id the table of svc's backend set gives this flow; 0 when
 * the set has no table (yet): the caller then chooses at random, which is
 * what a service got before its table was written. */
static __always_inline __u32 yard_maglev_backend_id(__u32 svc_id,
						    const struct yard_pkt4 *p)
{
	void *table = bpf_map_lookup_elem(&yard_maglev, &svc_id);
	__u32 zero = 0, index, *size, *id;

	if (!table)
		return 0;
	size = bpf_map_lookup_elem(table, &zero);
	if (!size || *size == 0)
		return 0;
	index = yard_flow_hash4(p) % *size + 1;
	id = bpf_map_lookup_elem(table, &index);
	return id ? *id : 0;
}

#endif /* SWITCHYARD_BPF_LIB_MAGLEV_H_ */
