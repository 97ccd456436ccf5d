/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The one definition of every map key and value shared by the BPF programs
 * and the C++ control plane. C++ includes this file and static_asserts the
 * offset and size of every field (control/kernel/abi.h); nothing
 * re-declares these structs by hand.
 *
 * Byte order: fields named addr/port hold network byte order (as on the
 * wire), every other field host byte order. Every struct has explicit
 * padding, which writers must zero: hash keys are compared bytewise.
 *
 * Family prefix: "4" marks IPv4 layouts; IPv6 gets its own "6" structs and
 * maps beside these rather than a union, so each map keeps a small key.
 */
#ifndef SWITCHYARD_BPF_INCLUDE_YARD_ABI_H_
#define SWITCHYARD_BPF_INCLUDE_YARD_ABI_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Map names as the kernel and bpffs see them (at most 15 characters). */
#define YARD_MAP_SVC4 "yard_svc4"
#define YARD_MAP_SLOTS "yard_slots"
#define YARD_MAP_BACKEND4 "yard_be4"
#define YARD_MAP_RNAT4 "yard_rnat4"
#define YARD_MAP_CT4 "yard_ct4"
#define YARD_MAP_SVC_STATS "yard_svc_stats"
#define YARD_MAP_REASONS "yard_reasons"
#define YARD_MAP_LB_SRC4 "yard_lb_src4"
#define YARD_MAP_FRAG4 "yard_frag4"
#define YARD_MAP_FEATURES "yard_features"
#define YARD_MAP_LAYOUT "yard_layout"
#define YARD_MAP_MAGLEV "yard_maglev"
#define YARD_MAP_LC4 "yard_lc4"
#define YARD_MAP_AFFINITY4 "yard_affinity4"
#define YARD_MAP_POD_IFS "yard_pod_ifs"
#define YARD_MAP_SVC_ADDRS "yard_svc_addrs"

/*
 * The layout of the pinned maps, as one number. Bump it with any change a
 * pinned map of an older agent could not serve: a key or value struct, a
 * map's type or key, a field's meaning. control/kernel/abi.h pins every
 * field's offset and size, so a struct change does not build until that
 * table is updated, which is the moment to bump this too. The loading
 * agent records it in yard_layout; an agent of another layout refuses the
 * pins with both numbers instead of failing on the first map that differs.
 */
#define YARD_LAYOUT_VERSION 3

/*
 * Default capacities, overridable at load time. The services map holds one
 * frontend per (address, port, protocol) plus one wildcard entry per service
 * address; a connection uses two tracking entries (forward and reply).
 */
#define YARD_DEFAULT_FRONTENDS 65536
#define YARD_DEFAULT_SLOTS 262144
#define YARD_DEFAULT_BACKENDS 262144
#define YARD_DEFAULT_CT_ENTRIES 1048576
#define YARD_DEFAULT_SOURCE_RANGES 16384
#define YARD_DEFAULT_FRAGMENTS 8192
/* Maglev lookup tables a node can hold at once (one per backend set of a
 * Maglev service, two for a moment while one is replaced), and the entries
 * of a table: a prime, as the Maglev paper's permutations need, large
 * enough that 100 endpoints share it to within about 1%. 16381 entries of
 * 4 bytes are 64 KiB a table, allocated only for the tables in use. */
#define YARD_DEFAULT_MAGLEV_TABLES 1024
#define YARD_DEFAULT_MAGLEV_TABLE_SIZE 16381
/* Clients remembered for sessionAffinity: ClientIP, over all services. */
#define YARD_DEFAULT_AFFINITY_ENTRIES 65536

/*
 * Load-time constants of the datapath programs (read-only data: the verifier
 * folds them, so they cost nothing per packet).
 */
struct yard_config {
	__be32 hairpin_addr; /* source a pod sees when it reaches itself through
			      * a service: never a pod address, so the pod's
			      * reply comes back through the datapath */
	__u32 udp_timeout_s; /* idle seconds after which a UDP (or other
			      * non-TCP) flow chooses its backend again */
	__u32 tcp_idle_timeout_s;  /* idle seconds after which an open TCP
				    * flow's entries no longer hold its tuple */
	__u32 tcp_close_timeout_s; /* the same for a TCP flow that ended (a
				    * RST, or a FIN each way) */
	__be32 snat_addr;    /* source this node gives external flows it sends
			      * on to an endpoint on another node, so their
			      * replies come back through it; 0: never */
	__u16 snat_port_min; /* host order: ports for that source, a range */
	__u16 snat_port_max; /* clear of NodePorts and local sockets */
	__u8 local_redirect; /* 1: external flows to a local endpoint are
			      * redirected by XDP to its interface; 0: handed
			      * to the stack, which routes them */
	__u8 coarse_clock;   /* 1: flow timestamps from bpf_ktime_get_coarse_ns
			      * (5.11+, cheaper); 0: bpf_ktime_get_ns. Chosen
			      * by the loader from what the kernel accepts */
	__u8 stack_bypass;   /* 1: translated pod traffic is sent on from tc
			      * (into a local pod's interface, or out the
			      * route's device) instead of through the host
			      * stack; 0: the stack routes it. Chosen by the
			      * loader (YARD_FEATURE_STACK_BYPASS) */
	__u8 pad;
};

/* Optional kernel features of the datapath, in yard_features (indexed by
 * this enum). Each is turned on only when the kernel accepts the real
 * program (or, for maglev_mmap, the real map) that uses it; what is off
 * has a fallback with the same semantics, or (north-south) is reported as
 * not served. */
enum yard_feature {
	YARD_FEATURE_XDP = 0,	   /* north-south at XDP on external devices;
				    * off: at tc ingress (same behaviour) */
	YARD_FEATURE_COARSE_CLOCK, /* bpf_ktime_get_coarse_ns; off:
				    * bpf_ktime_get_ns */
	YARD_FEATURE_NORTH_SOUTH,  /* tc programs on external devices (need
				    * bpf_fib_lookup, bpf_redirect_neigh);
				    * off: NodePorts, load-balancer and
				    * external IPs are not served */
	YARD_FEATURE_STACK_BYPASS, /* pods' service traffic leaves tc with
				    * bpf_redirect_peer / bpf_redirect_neigh;
				    * off: the host stack routes it */
	YARD_FEATURE_MAGLEV_MMAP,  /* yard_maglev's tables are BPF_F_MMAPABLE:
				    * the agent fills them with one copy and
				    * rewrites a table of unchanged size in
				    * place; off: each table is filled entry
				    * by entry and replaced whole (the same
				    * tables, written slower) */
	YARD_FEATURE_MAX,
};

/* Room in yard_features: features added later fit the pinned map. Pins
 * made when it had one slot per feature keep their size (the agent adopts
 * them; a newer feature is then not recorded there). */
#define YARD_FEATURE_SLOTS 16

enum yard_feature_state {
	YARD_FEATURE_UNKNOWN = 0, /* not decided yet (no agent has loaded) */
	YARD_FEATURE_ON = 1,
	YARD_FEATURE_OFF_FORCED = 2,  /* turned off by configuration */
	YARD_FEATURE_OFF_REFUSED = 3, /* the kernel refused the program */
	YARD_FEATURE_OFF_PARTLY = 4,  /* on, but not on every device (why) */
};

/* yard_features (array by enum yard_feature): what the agent that loaded
 * the datapath found, for yardctl status and metrics. Written by user
 * space only. */
struct yard_feature_value {
	__u32 state;   /* enum yard_feature_state */
	char why[124]; /* NUL-terminated: the kernel's words when refused */
};

/* yard_layout (array of one, index 0): the YARD_LAYOUT_VERSION of the agent
 * that made the pins. Written by user space only, after a load. This
 * struct and the map never change, so every agent can read any pins'. */
struct yard_layout_value {
	__u32 version; /* YARD_LAYOUT_VERSION; 0: not written yet */
};

#define YARD_DEFAULT_HAIRPIN_ADDR_HOST 0xa9fe2a01 /* 169.254.42.1 */
#define YARD_DEFAULT_UDP_TIMEOUT_S 120
/* kube-proxy's conntrack defaults: a day for an established TCP flow, and
 * ten seconds once it has ended (kept briefly for late retransmissions). */
#define YARD_DEFAULT_TCP_IDLE_TIMEOUT_S 86400
#define YARD_DEFAULT_TCP_CLOSE_TIMEOUT_S 10
/* Above Linux's default ip_local_port_range (32768-60999) and the NodePort
 * range (30000-32767), so a rewritten source never collides with either. */
#define YARD_DEFAULT_SNAT_PORT_MIN 61000
#define YARD_DEFAULT_SNAT_PORT_MAX 65535

/* yard_svc4: what a packet's destination is, keyed by service address. */
struct yard_svc4_key {
	__be32 addr; /* service address (ClusterIP, ...), network order */
	__be16 port; /* service port, network order; 0 in a wildcard entry */
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP; 0 in a wildcard entry */
	__u8 scope;  /* enum yard_scope */
};

/*
 * yard_svc_addrs: a bit per hash of an address, set while some frontend of
 * scope YARD_SCOPE_INTERNAL has that address (array of
 * YARD_SVC_ADDR_WORDS 64-bit words; bit b is word b / 64, bit b % 64). A
 * clear bit proves a pod's packet is to no service, so yard_from_pod skips
 * the services and flow lookups for it; a set bit only says "maybe". The
 * table is 2^20 bits (128 KiB): at 100,000 service addresses about one bit
 * in ten is set. Both sides hash with this function, on the address as it
 * sits in memory (network order).
 */
#define YARD_SVC_ADDR_BITS_LOG2 20
#define YARD_SVC_ADDR_WORDS ((1u << YARD_SVC_ADDR_BITS_LOG2) / 64)

static inline __u32 yard_svc_addr_bit(__be32 addr)
{
	/* A 32-bit integer mixer (xor-shift, multiply, twice): every input
	 * bit moves the top bits, so addresses that differ in any one octet,
	 * in whichever byte order it sits, land far apart. */
	__u32 x = (__u32)addr;

	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x >> (32 - YARD_SVC_ADDR_BITS_LOG2);
}

/* Which traffic a frontend serves. Pods and outside clients see different
 * services on one address: a pod reaching a node address is not a NodePort
 * client, and an outside client may see only this node's endpoints
 * (externalTrafficPolicy: Local). Each hook looks up its own scope. */
enum yard_scope {
	YARD_SCOPE_INTERNAL = 0, /* from pods, at tc on pod interfaces */
	YARD_SCOPE_EXTERNAL = 1, /* from outside, at XDP on external devices */
};

/* Selection policy of a service port; the BPF side switches on it. */
enum yard_policy {
	YARD_POLICY_RANDOM = 0,	    /* uniform over slots 1..count */
	YARD_POLICY_MAGLEV = 1,	    /* the flow's hash indexes the backend
				     * set's table in yard_maglev */
	YARD_POLICY_LEAST_CONN = 2, /* the slot whose backend has the fewest
				     * counted flows in yard_lc4 (ties: at
				     * random) */
};

enum yard_svc_flags {
	/* The address is a service address but (port, proto) is not one of its
	 * ports: packets to it are rejected, as kube-proxy's REJECT does. */
	YARD_SVC_F_WILDCARD = 1 << 0,
	/* Only sources in yard_lb_src4 under this frontend's rev_nat_id may
	 * use it (loadBalancerSourceRanges); others are dropped. */
	YARD_SVC_F_SOURCE_RANGES = 1 << 1,
	/* sessionAffinity: ClientIP: a client's new flows go to the backend
	 * its previous one chose (yard_affinity4), for aff_timeout_s after
	 * the latest of them. Checked before the policy chooses. */
	YARD_SVC_F_AFFINITY = 1 << 2,
};

struct yard_svc_value {
	__u32 svc_id; /* backend set: key of its slots in yard_slots; frontends
		       * of one service port (ClusterIP, NodePort...) may share
		       * it */
	__u32 rev_nat_id; /* this frontend's index in yard_rnat4 and
			   * yard_svc_stats; 0 only in wildcard entries,
			   * which never translate */
	__u16 count; /* slots 1..count hold the backends new flows choose from;
		      * 0 means no endpoint: reject */
	__u8 flags;  /* enum yard_svc_flags */
	__u8 policy; /* enum yard_policy */
	__u32 aff_timeout_s; /* with YARD_SVC_F_AFFINITY: seconds a client
			      * keeps its backend after its latest new flow
			      * (1..86400); else zero */
};

/*
 * yard_maglev (hash of maps, keyed by yard_svc_value.svc_id): the Maglev
 * lookup table of a backend set whose frontends use YARD_POLICY_MAGLEV.
 * Each table is an array of __u32 of its own size: entry 0 holds the
 * table's size M (a prime), entries 1..M the backend id (index into
 * yard_be4) each hash value modulo M chooses. The size travels inside the
 * table so a table and its size are replaced together. A table of a new
 * size is built whole in a fresh array and swapped in with one update of
 * yard_maglev. With YARD_FEATURE_MAGLEV_MMAP a table of unchanged size is
 * rewritten in place, one aligned 32-bit store per changed entry: a packet
 * reads one entry, so it sees that entry's old backend or its new one,
 * and both are live then (the agent writes a backend before any table
 * names it and retires it only after no table does).
 */

/* yard_slots: the backends of one backend set, numbered from 1. */
struct yard_slot_key {
	__u32 svc_id; /* yard_svc_value.svc_id */
	__u32 slot;   /* 1..count */
};

struct yard_slot_value {
	__u32 backend_id; /* index into yard_be4 */
};

enum yard_backend_state {
	YARD_BACKEND_EMPTY = 0,	 /* unused id: flows pinned to it are gone */
	YARD_BACKEND_ACTIVE = 1, /* eligible for new flows when in a slot */
	YARD_BACKEND_TERMINATING = 2, /* keeps its flows; the agent lists it in
				       * slots only when no endpoint is ready */
	YARD_BACKEND_RETIRED = 3, /* no longer listed: TCP flows keep it, as
				   * conntrack keeps them; UDP flows and new
				   * connections choose again. Its id stays its
				   * own until ids run out, so an endpoint that
				   * comes back is the same backend. */
};

/* yard_be4 (array indexed by backend id; id 0 is never used). */
struct yard_backend4 {
	__be32 addr; /* endpoint address, network order */
	__be16 port; /* endpoint (target) port, network order */
	__u8 state;  /* enum yard_backend_state */
	__u8 pad;    /* zero */
};

/* yard_rnat4 (array indexed by rev_nat_id): the frontend that replies
 * must appear to come from. port 0 with addr 0 means an unused id. */
struct yard_rnat4 {
	__be32 addr; /* frontend address, network order */
	__be16 port; /* frontend port, network order */
	__u16 pad;   /* zero */
};

enum yard_ct_dir {
	YARD_CT_FORWARD = 0, /* client -> frontend, as the client sent it */
	YARD_CT_REPLY = 1,   /* backend -> client (or hairpin address) */
};

enum yard_ct_flags {
	YARD_CT_F_HAIRPIN = 1 << 0, /* client is its own backend: source was
				     * rewritten to the hairpin address */
	YARD_CT_F_CLOSING = 1
			    << 1, /* FIN or RST seen: a new SYN chooses again */
	YARD_CT_F_SEEN_REPLY = 1 << 2, /* the backend has answered */
	YARD_CT_F_EXTERNAL = 1 << 3,   /* entered through an external device:
					* replies are translated there */
	YARD_CT_F_SNAT = 1 << 4,       /* forward: source rewritten to
					* nat_addr:nat_port (endpoint on another
					* node) */
	/* How a TCP flow ends, on both of its entries: the flow has ended
	 * with a RST, or with a FIN from each side. */
	YARD_CT_F_FIN_CLIENT = 1 << 5,	/* the client sent FIN */
	YARD_CT_F_FIN_BACKEND = 1 << 6, /* the backend sent FIN */
	YARD_CT_F_RST = 1 << 7,		/* either side sent RST */
	/* A reply entry that translates nothing: a pod's direct UDP flow to
	 * an endpoint took over the real tuple of its earlier service flow,
	 * and the endpoint's answers are for the direct flow. Kept alive by
	 * the direct flow's datagrams, so a new service flow on the tuple is
	 * refused (tuple_clash) rather than given its answers. */
	YARD_CT_F_DIRECT = 1 << 8,
};

/* yard_ct4 (LRU hash): one entry per direction of a translated flow. */
struct yard_ct4_key {
	__be32 saddr; /* source address as seen at the hook, network order */
	__be32 daddr; /* destination address, network order */
	__be16 sport; /* source port, network order */
	__be16 dport; /* destination port, network order */
	__u8 proto;   /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 dir;     /* enum yard_ct_dir */
	__u16 pad;    /* zero */
};

struct yard_ct4_value {
	__u64 created_ns;   /* bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC to
			     * within a tick) when the flow was translated */
	__u64 last_seen_ns; /* bpf_ktime_get_coarse_ns() of the latest packet */
	__u64 packets; /* packets in this direction (approximate: not atomic) */
	__u64 bytes;   /* bytes in this direction, L2 included */
	__u32 backend_id; /* forward: the chosen backend; reply: same */
	__u32 rev_nat_id; /* the frontend to restore on replies */
	__be32 addr; /* forward: backend address, checked against yard_be4 so
		      * a reused backend id never captures an old flow;
		      * reply: the client's original address */
	__be16 port; /* forward: backend port; reply: client's original port */
	__u16 flags; /* enum yard_ct_flags */
	__be32 nat_addr; /* forward with YARD_CT_F_SNAT: the source written;
			  * reply: the frontend address replies come from
			  * (held here since layout 3, so a reply needs no
			  * yard_rnat4 lookup and a reused rev_nat_id never
			  * changes a live flow's frontend) */
	__be16 nat_port; /* forward with YARD_CT_F_SNAT: the source port;
			  * reply: the frontend port */
	__u16 pad;	 /* zero */
	__u32 lc;   /* forward: enum yard_lc_state. A 32-bit word of its own
		     * because BPF atomics (which make the release happen once)
		     * work on 32 or 64 bits, and flags is 16 */
	__u32 pad2; /* zero */
};

/* Whether a flow holds one of its backend's active counts in yard_lc4
 * (least-connection frontends only). Set on the forward entry. */
enum yard_lc_state {
	YARD_LC_COUNTED = 1 << 0,  /* added one to its backend's count */
	YARD_LC_RELEASED = 1 << 1, /* took it back: set by an atomic or, and
				    * the one that sets it decrements, so a
				    * retransmitted FIN or RST never does */
};

/* yard_lc4 (array indexed by backend id): how many flows of
 * least-connection frontends each backend has on this node. One 64-bit
 * word changed only by atomic adds of YARD_LC_OPEN and YARD_LC_CLOSE: the
 * low 32 bits are the count (signed: a correction racing the datapath
 * can leave it briefly at -1, read as 0), the high 32 bits advance on
 * every change. A reader that finds the whole word equal before and
 * after a walk of yard_ct4 knows no counted flow of that backend started
 * or ended meanwhile (fewer than 2^31 changes always move the word): the
 * agent's recount corrects only such quiet words. */
struct yard_lc_count {
	__u64 word; /* (changes << 32) | (__u32)active */
};
#define YARD_LC_OPEN ((1ULL << 32) + 1)
#define YARD_LC_CLOSE ((1ULL << 32) - 1)
/* yard_affinity4 (LRU hash): the backend each client of a service port
 * with YARD_SVC_F_AFFINITY went to last. Keyed by backend set, so every
 * frontend of one service port (ClusterIP, NodePort, load-balancer and
 * external IPs) shares a client's choice, as kube-proxy's per-port chains
 * do; externalTrafficPolicy: Local gives outside clients a set (and so an
 * affinity) of their own. */
struct yard_aff4_key {
	__u32 svc_id;  /* yard_svc_value.svc_id */
	__be32 client; /* client address as the hook sees it, network order */
};

struct yard_aff4_value {
	__u64 last_ns;	   /* yard_now() of the client's latest new flow */
	__u32 backend_id;  /* the backend it went to */
	__u32 slot;	   /* the slot that named it: the entry holds only
			    * while slot <= count and the slot still names
			    * backend_id, so an endpoint that leaves the set
			    * takes its clients' affinity with it */
	__be32 addr;	   /* backend address, network order: checked against
			    * yard_be4 so a reused id is never followed */
	__be16 port;	   /* backend port, network order */
	__u16 pad;	   /* zero */
};

/* yard_lb_src4 (LPM trie): the sources a frontend with
 * YARD_SVC_F_SOURCE_RANGES admits. prefixlen counts the 32 bits of
 * rev_nat_id plus the address prefix, so one trie serves every frontend. */
struct yard_lb_src4_key {
	__u32 prefixlen;   /* 32 + CIDR prefix length */
	__be32 rev_nat_id; /* network order: tries match bytes from the left */
	__be32 addr;	   /* network order */
};

/* yard_frag4 (LRU hash): the ports of a fragmented datagram, learnt from
 * its first fragment, so the later ones (which carry no L4 header) are
 * translated with it. Keyed as each hook sees the datagram, before it
 * translates it. */
struct yard_frag4_key {
	__be32 saddr; /* network order */
	__be32 daddr; /* network order */
	__be16 id;    /* IPv4 identification, network order */
	__u8 proto;
	__u8 pad; /* zero */
};

struct yard_frag4_ports {
	__be16 sport; /* network order */
	__be16 dport; /* network order */
};

/* yard_svc_stats (per-CPU array indexed by rev_nat_id). */
struct yard_counter {
	__u64 packets;
	__u64 bytes;
};

struct yard_svc_stats {
	struct yard_counter forward; /* client -> service, translated */
	struct yard_counter reply;   /* backend -> client, reverse translated */
};

/*
 * yard_reasons (per-CPU array of struct yard_counter indexed by this enum):
 * every packet that the datapath does not simply translate or pass is
 * counted under exactly one reason, so an operator can see why.
 */
enum yard_reason {
	YARD_REASON_NONE = 0,
	YARD_REASON_NOT_IPV4,  /* pass: ARP, IPv6 (until the IPv6 datapath) */
	YARD_REASON_VLAN,      /* pass: tagged frame, not ours to translate */
	YARD_REASON_TRUNCATED, /* drop: frame ends inside a header */
	YARD_REASON_BAD_IP_HEADER, /* drop: IHL < 5 or total length wrong */
	YARD_REASON_FRAGMENT, /* drop: a later fragment to a service address
			       * whose first fragment was not seen */
	YARD_REASON_UNSUPPORTED_L4, /* drop: not TCP/UDP to a service address */
	YARD_REASON_REJECT_NO_ENDPOINT, /* reject: service port has none (a
					 * RST is dropped, not answered) */
	YARD_REASON_REJECT_NO_PORT, /* reject: address is a service, port not */
	YARD_REASON_REJECT_FAILED,  /* drop: could not build the reject reply */
	YARD_REASON_BACKEND_GONE, /* drop: flow's backend removed, not a SYN */
	YARD_REASON_SLOT_MISSING, /* drop: count names a slot not written */
	YARD_REASON_CT_FULL,	  /* drop: could not record the new flow */
	YARD_REASON_REVNAT_MISSING, /* drop: reply entry names no frontend */
	YARD_REASON_REWRITE_FAILED, /* drop: a checksum/store helper failed */
	YARD_REASON_SOURCE_DENIED,  /* drop: source outside the frontend's
				     * loadBalancerSourceRanges */
	YARD_REASON_SNAT_EXHAUSTED, /* drop: no free source port to reach a
				     * remote endpoint */
	YARD_REASON_NO_ROUTE,	    /* drop: no route or neighbour towards the
				     * endpoint or the client */
	YARD_REASON_TUPLE_CLASH,    /* drop: a pod's new direct connection has
				     * the real tuple of a live service flow */
	YARD_REASON_BYPASS_PEER,    /* pass: translated pod traffic sent
				     * straight into a local pod (stack
				     * bypass, bpf_redirect_peer) */
	YARD_REASON_BYPASS_NEIGH,   /* pass: translated pod traffic sent out
				     * the route's device (stack bypass,
				     * bpf_redirect_neigh) */
	YARD_REASON_MAX,
};
/* Room in yard_reasons: reasons added later fit the pinned map. */
#define YARD_REASON_SLOTS 64

#endif /* SWITCHYARD_BPF_INCLUDE_YARD_ABI_H_ */
