/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* The datapath's maps. Capacities here are defaults: the loader sets the
 * real ones before load (bpf_map__set_max_entries) and pins every map
 * (but yard_snat_claims, whose entries last an instant) under the node's
 * bpffs folder so the maps outlive the agent. */
#ifndef SWITCHYARD_BPF_LIB_MAPS_H_
#define SWITCHYARD_BPF_LIB_MAPS_H_

#include "common.h"

/* Frontends and wildcard entries of every service address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct yard_svc4_key);
	__type(value, struct yard_svc_value);
	__uint(max_entries, YARD_DEFAULT_FRONTENDS);
} yard_svc4 SEC(".maps");

/* Which addresses may be a frontend's from pods (yard_abi.h): the
 * agent sets a bit before the first frontend of its address is written
 * and clears it after the last is deleted. An array, so the lookup is an
 * index the JIT inlines. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, YARD_SVC_ADDR_WORDS);
} yard_svc_addrs SEC(".maps");

/* Backend slots of each backend set, 1..count. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct yard_slot_key);
	__type(value, struct yard_slot_value);
	__uint(max_entries, YARD_DEFAULT_SLOTS);
} yard_slots SEC(".maps");

/* Maglev lookup tables by backend set (yard_abi.h says what a table
 * holds). The template's size is only a default: BPF_F_INNER_MAP lets
 * each table have its own. The loader adds BPF_F_MMAPABLE where the
 * kernel allows it (feature maglev_mmap, control/kernel/maglev_tables.h).
 * BPF_F_NO_PREALLOC: a replaced element is freed after an RCU grace
 * period, never reused under a reader still on it. */
struct yard_maglev_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, YARD_DEFAULT_MAGLEV_TABLE_SIZE + 1);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__uint(max_entries, YARD_DEFAULT_MAGLEV_TABLES);
	__array(values, struct yard_maglev_table);
} yard_maglev SEC(".maps");

/* Backends by id: an array, so the per-packet lookup is an index, not a
 * hash. Id 0 stays empty. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct yard_backend4);
	__uint(max_entries, YARD_DEFAULT_BACKENDS);
} yard_be4 SEC(".maps");

/* Each frontend's address and port, by rev_nat_id: for user space
 * (metrics and yardctl name frontends by it). Replies take their
 * frontend from their reply entry, not from here. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct yard_rnat4);
	__uint(max_entries, YARD_DEFAULT_FRONTENDS);
} yard_rnat4 SEC(".maps");

/* Connection tracking. LRU so a full table evicts the coldest flow rather
 * than refusing new ones. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct yard_ct4_key);
	__type(value, struct yard_ct4_value);
	__uint(max_entries, YARD_DEFAULT_CT_ENTRIES);
} yard_ct4 SEC(".maps");

/* Active flows of least-connection frontends per backend id (lib/
 * least_conn.h). One plain word per backend, not per CPU: choosing reads
 * every slot's count, which per-CPU values would multiply by the CPUs.
 * Counts change once per flow, never per packet. Sized as yard_be4. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct yard_lc_count);
	__uint(max_entries, YARD_DEFAULT_BACKENDS);
} yard_lc4 SEC(".maps");

/* SNAT ports being decided (lib/snat.h): a reply key here is claimed by
 * one CPU, for the few instructions it takes to record its flow on that
 * port or take the port over. A CPU holds one claim at a time, so the
 * size only has to exceed the CPU count. Not pinned: a claim never
 * outlives the program run that made it. A plain hash, not LRU: a claim
 * must never be evicted. */
#define YARD_SNAT_CLAIMS 1024
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct yard_ct4_key);
	__type(value, __u8);
	__uint(max_entries, YARD_SNAT_CLAIMS);
} yard_snat_claims SEC(".maps");

/* Traffic per frontend (rev_nat_id), per CPU so counting never contends. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct yard_svc_stats);
	__uint(max_entries, YARD_DEFAULT_FRONTENDS);
} yard_svc_stats SEC(".maps");

/* loadBalancerSourceRanges of the frontends that have them, by
 * (rev_nat_id, source prefix). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct yard_lb_src4_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, YARD_DEFAULT_SOURCE_RANGES);
} yard_lb_src4 SEC(".maps");

/* Ports of fragmented datagrams being translated (lib/frag.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct yard_frag4_key);
	__type(value, struct yard_frag4_ports);
	__uint(max_entries, YARD_DEFAULT_FRAGMENTS);
} yard_frag4 SEC(".maps");

/* Each affinity client's backend, per service port (lib/affinity.h). LRU:
 * a full table forgets the client seen longest ago, which then chooses
 * again, rather than refusing anyone. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct yard_aff4_key);
	__type(value, struct yard_aff4_value);
	__uint(max_entries, YARD_DEFAULT_AFFINITY_ENTRIES);
} yard_affinity4 SEC(".maps");

/* The host side of every pod interface the agent attached to (ifindex ->
 * 1): where the stack bypass may send a frame with bpf_redirect_peer
 * (lib/bypass.h). Not pinned: the agent fills it on every start before it
 * attaches its programs, and programs an earlier agent left attached keep
 * the map they were loaded with until they are replaced. */
#define YARD_DEFAULT_POD_IFS 4096
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, YARD_DEFAULT_POD_IFS);
} yard_pod_ifs SEC(".maps");

/* Packets by enum yard_reason, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct yard_counter);
	__uint(max_entries, YARD_REASON_SLOTS);
} yard_reasons SEC(".maps");

/* What the loading agent found the kernel allows (enum yard_feature):
 * written by user space, read by people; no program looks at it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct yard_feature_value);
	__uint(max_entries, YARD_FEATURE_SLOTS);
} yard_features SEC(".maps");

/* The layout version of these maps (YARD_LAYOUT_VERSION), so an agent of
 * another layout knows the pins are not its own: written by user space,
 * no program looks at it. Never changes shape. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct yard_layout_value);
	__uint(max_entries, 1);
} yard_layout SEC(".maps");

#endif /* SWITCHYARD_BPF_LIB_MAPS_H_ */
