/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* What differs between the XDP and tc hooks, behind one set of names, so
 * a path both hooks run (north-south: XDP where the kernel allows it, tc
 * ingress where it does not) is written once.
 *
 * Every routine takes the hook as a constant (YARD_HOOK_XDP or
 * YARD_HOOK_TC) and the context as void *, and is always inlined: the
 * compiler keeps only the calling hook's branch, so the verifier of an
 * XDP program never sees an skb helper, nor a tc program an XDP one. */
#ifndef SWITCHYARD_BPF_LIB_HOOK_H_
#define SWITCHYARD_BPF_LIB_HOOK_H_

#include "nat.h"
#include "parse.h"
#include "reject.h"
#include "stats.h"
#include "xdp_nat.h"

#define YARD_HOOK_TC 0
#define YARD_HOOK_XDP 1

static __always_inline __u32 yard_hook_len(void *ctx, int hook)
{
	if (hook == YARD_HOOK_XDP)
		return bpf_xdp_get_buff_len(ctx);
	return ((struct __sk_buff *)ctx)->len;
}

static __always_inline void *yard_hook_data(void *ctx, int hook)
{
	return hook == YARD_HOOK_XDP ? yard_xdp_data(ctx) : yard_skb_data(ctx);
}

static __always_inline void *yard_hook_data_end(void *ctx, int hook)
{
	return hook == YARD_HOOK_XDP ? yard_xdp_data_end(ctx)
				     : yard_skb_data_end(ctx);
}

/* The device the frame arrived on. */
static __always_inline __u32 yard_hook_ifindex(void *ctx, int hook)
{
	if (hook == YARD_HOOK_XDP)
		return ((struct xdp_md *)ctx)->ingress_ifindex;
	return ((struct __sk_buff *)ctx)->ingress_ifindex;
}

/* Makes the first len bytes directly readable and writable between
 * yard_hook_data and yard_hook_data_end (XDP frames are linear). */
static __always_inline bool yard_hook_linear(void *ctx, int hook, __u32 len)
{
	if (hook == YARD_HOOK_XDP)
		return yard_xdp_data(ctx) + len <= yard_xdp_data_end(ctx);
	return yard_linear(ctx, len);
}

static __always_inline int yard_hook_parse4(void *ctx, int hook,
					    struct yard_pkt4 *p)
{
	if (hook == YARD_HOOK_XDP)
		return yard_parse4_xdp(ctx, p);
	return yard_parse4(ctx, p);
}

/* Hands the frame on to the stack, as it now is. */
static __always_inline int yard_hook_pass(int hook)
{
	return hook == YARD_HOOK_XDP ? XDP_PASS : TC_ACT_OK;
}

static __always_inline int yard_hook_drop(void *ctx, int hook,
					  enum yard_reason reason)
{
	if (hook == YARD_HOOK_XDP)
		return yard_xdp_drop(ctx, reason);
	return yard_drop(ctx, reason);
}

/* Rewrites source and destination of a parsed TCP/UDP packet (addresses
 * only for a later fragment). XDP computes its checksums itself; tc goes
 * through the kernel's helpers, which see CHECKSUM_PARTIAL. */
static __always_inline int yard_hook_nat4(void *ctx, int hook,
					  const struct yard_pkt4 *p,
					  __be32 saddr, __be16 sport,
					  __be32 daddr, __be16 dport)
{
	if (hook == YARD_HOOK_XDP)
		return yard_xdp_nat4(ctx, p, saddr, sport, daddr, dport);
	if (yard_snat4(ctx, p, saddr, sport))
		return -1;
	return yard_dnat4(ctx, p, daddr, dport);
}

/* Answers a packet to a service port that cannot take it (RST or ICMP
 * port unreachable) back out the device it came in on. */
static __always_inline int yard_hook_reject(void *ctx, int hook,
					    const struct yard_pkt4 *p,
					    enum yard_reason reason)
{
	if (hook == YARD_HOOK_XDP)
		return yard_reject_xdp(ctx, p, reason);
	return yard_reject_tc(ctx, p, reason);
}

#endif /* SWITCHYARD_BPF_LIB_HOOK_H_ */
