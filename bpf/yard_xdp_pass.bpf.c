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
