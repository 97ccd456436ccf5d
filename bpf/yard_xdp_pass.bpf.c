// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/* The floor every per-packet cost is measured against: an XDP program that
 * does nothing but pass the frame. */
#include "lib/common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int yard_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* The tc floor: BPF_PROG_TEST_RUN of a tc program carries skb costs that
 * XDP's does not, so tc programs are also measured against this. */
SEC("tc")
int yard_tc_pass(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}
