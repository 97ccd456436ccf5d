/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * What the live-frame generator (yard_live_gen.bpf.c) and its C++ driver
 * share: the frame recipe and the destination table. C++ includes this
 * file and static_asserts the sizes, as with bpf/include/yard_abi.h.
 *
 * Byte order: fields named addr/port/mac hold network byte order, every
 * other field host byte order.
 */
#ifndef SWITCHYARD_BENCH_LIVE_LIVE_GEN_ABI_H_
#define SWITCHYARD_BENCH_LIVE_LIVE_GEN_ABI_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Destinations the generator cycles over (one per service port). */
#define YBL_MAX_DSTS 65536

/* Payload after the UDP header: zeros, a multiple of 4 so the checksum is
 * the pseudo-header plus the UDP header alone. */
#define YBL_PAYLOAD_LEN 20
#define YBL_FRAME_LEN (14 + 20 + 8 + YBL_PAYLOAD_LEN)

/* The port every UDP endpoint (targetPort) listens on; the backends' sink
 * counts only frames to it, so ARP and ICMP still pass. */
#define YBL_TARGET_PORT 8080

/* One destination: a service address and port. */
struct ybl_dst {
  __be32 addr; /* service address, network order */
  __be16 port; /* service port, network order */
  __u16 pad;   /* zero */
};

/*
 * The recipe of every frame. Frame n of the CPU running the generator gets
 * flow index k = n mod flows (flows 0: k = n, a new 5-tuple every frame),
 * source address src_base | cpu << 16 | (k >> 14) & 0xffff, source port
 * 1024 + (k & 0x3fff), and destination dsts[k mod n_dsts]. So tuples never
 * repeat within 2^30 frames per CPU, and CPUs never share a tuple.
 */
struct ybl_gen_config {
  __u8 src_mac[6]; /* the client's MAC */
  __u8 dst_mac[6]; /* the injection interface's MAC: PACKET_HOST */
  __be32 src_base; /* network order; low 22 bits must be zero */
  __u32 flows;     /* distinct tuples cycled; 0: every frame new */
  __u32 n_dsts;    /* entries of ybl_dsts in use, 1..YBL_MAX_DSTS */
  __u32 pad;       /* zero */
};

#endif /* SWITCHYARD_BENCH_LIVE_LIVE_GEN_ABI_H_ */
