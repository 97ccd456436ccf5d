/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Fragmented datagrams to and from services (a 2,000-byte UDP message
 * over a 1,500-byte MTU). Only the first fragment carries the ports; a
 * hook that translates it remembers them under the datagram's identity,
 * and the later fragments, found by the same identity, are translated
 * with the same flow: addresses only, as they have no L4 header. A later
 * fragment that overtakes its first is not translated. */
#ifndef SWITCHYARD_BPF_LIB_FRAG_H_
#define SWITCHYARD_BPF_LIB_FRAG_H_

#include "maps.h"
#include "parse.h"

static __always_inline void yard_frag4_key_of(const struct yard_pkt4 *p,
					      struct yard_frag4_key *key)
{
	key->saddr = p->saddr;
	key->daddr = p->daddr;
	key->id = p->ip_id;
	key->proto = p->proto;
	key->pad = 0;
}

/* Gives a later fragment the ports of its datagram, when its first
 * fragment was translated here. */
static __always_inline void yard_frag4_resolve(struct yard_pkt4 *p)
{
	struct yard_frag4_key key;
	struct yard_frag4_ports *ports;

	if (likely(!p->later_fragment))
		return;
	yard_frag4_key_of(p, &key);
	ports = bpf_map_lookup_elem(&yard_frag4, &key);
	if (!ports)
		return;
	p->sport = ports->sport;
	p->dport = ports->dport;
	p->l4_ok = true;
}

/* Called by a hook about to translate p: a first fragment leaves its
 * ports for the rest of its datagram. */
static __always_inline void yard_frag4_remember(const struct yard_pkt4 *p)
{
	struct yard_frag4_key key;
	struct yard_frag4_ports ports;

	if (likely(!p->fragment) || p->later_fragment)
		return;
	yard_frag4_key_of(p, &key);
	ports.sport = p->sport;
	ports.dport = p->dport;
	bpf_map_update_elem(&yard_frag4, &key, &ports, BPF_ANY);
}

#endif /* SWITCHYARD_BPF_LIB_FRAG_H_ */
