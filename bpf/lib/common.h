/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* What every Switchyard BPF file includes: kernel types (CO-RE, from the
 * running kernel's BTF), libbpf helpers, the shared ABI and the constants
 * that vmlinux.h cannot carry because they are macros in the kernel. */
#ifndef SWITCHYARD_BPF_LIB_COMMON_H_
#define SWITCHYARD_BPF_LIB_COMMON_H_

#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "yard_abi.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

#define AF_INET 2

#define ETH_HLEN 14
#define ETH_ALEN 6
#define ETH_P_IP 0x0800
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF
#define IP_DF 0x4000

#define ICMP_DEST_UNREACH 3
#define ICMP_PORT_UNREACH 3

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_ACK 0x10

#define NSEC_PER_SEC 1000000000ULL

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

/*
 * skb->data and skb->data_end, read so the verifier accepts them. vmlinux.h
 * marks every struct for CO-RE relocation, which lets clang compute the
 * address of a context field once and reuse it; the verifier refuses a
 * load through such a modified context pointer. Context offsets are fixed
 * UAPI, so a plain load at the UAPI offset is exact.
 */
#define YARD_CTX_LOAD32(ctx, field)                                            \
	({                                                                     \
		__u64 __v;                                                     \
		asm volatile("%0 = *(u32 *)(%1 + %2)"                          \
			     : "=r"(__v)                                       \
			     : "r"(ctx), "i"(__builtin_offsetof(               \
					     struct __sk_buff, field)));       \
		(void *)(long)__v;                                             \
	})
#define yard_skb_data(skb) YARD_CTX_LOAD32(skb, data)
#define yard_skb_data_end(skb) YARD_CTX_LOAD32(skb, data_end)

/* The same for XDP's context. */
#define YARD_XDP_LOAD32(ctx, field)                                            \
	({                                                                     \
		__u64 __v;                                                     \
		asm volatile("%0 = *(u32 *)(%1 + %2)"                          \
			     : "=r"(__v)                                       \
			     : "r"(ctx),                                       \
			       "i"(__builtin_offsetof(struct xdp_md, field))); \
		(void *)(long)__v;                                             \
	})
#define yard_xdp_data(ctx) YARD_XDP_LOAD32(ctx, data)
#define yard_xdp_data_end(ctx) YARD_XDP_LOAD32(ctx, data_end)

/* Set by the loader before load; frozen afterwards. */
const volatile struct yard_config yard_cfg = {
    .hairpin_addr = 0,
    .udp_timeout_s = YARD_DEFAULT_UDP_TIMEOUT_S,
    .tcp_idle_timeout_s = YARD_DEFAULT_TCP_IDLE_TIMEOUT_S,
    .tcp_close_timeout_s = YARD_DEFAULT_TCP_CLOSE_TIMEOUT_S,
    .snat_addr = 0,
    .snat_port_min = YARD_DEFAULT_SNAT_PORT_MIN,
    .snat_port_max = YARD_DEFAULT_SNAT_PORT_MAX,
    .local_redirect = 0,
    .coarse_clock = 1,
    .stack_bypass = 1,
};

/* The clock of flow timestamps. The loader turns the coarse clock off on
 * kernels that refuse it; the verifier then never sees its call. */
static __always_inline __u64 yard_now(void)
{
	if (yard_cfg.coarse_clock)
		return bpf_ktime_get_coarse_ns();
	return bpf_ktime_get_ns();
}

#endif /* SWITCHYARD_BPF_LIB_COMMON_H_ */
