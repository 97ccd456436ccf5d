// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * The live-traffic benchmark's two programs:
 *
 * ybl_gen (XDP), run by BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES:
 * writes a whole UDP frame from ybl_cfg into the page the kernel hands it,
 * then passes it to the stack of the injection interface (or tail-calls
 * the program in ybl_next slot 0, when one is set). Live-frame pages are
 * recycled without being reset, and the stack may have rewritten them
 * (NAT rewrites addresses in place), so every byte that matters is
 * written on every run: nothing is assumed about the page's contents.
 *
 * ybl_sink (tc ingress on each backend's interface): counts and drops the
 * frames addressed to the endpoints' UDP port, so what is measured is the
 * node's forwarding and service translation, not a socket's receive path.
 * Everything else (ARP, TCP, ICMP) passes.
 */
#include "lib/common.h"

#include "live_gen_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The frame recipe: written by the driver through the mmap'ed .bss. */
struct ybl_gen_config ybl_cfg;

/* Frames generated on each CPU: the flow index of the next frame. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ybl_seq SEC(".maps");

/* Service addresses and ports frames go to. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, YBL_MAX_DSTS);
	__type(key, __u32);
	__type(value, struct ybl_dst);
} ybl_dsts SEC(".maps");

/* Slot 0: an XDP program to run on the finished frame instead of passing
 * it (a datapath's XDP entry point); empty means XDP_PASS. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ybl_next SEC(".maps");

/* Frames the sinks counted (and dropped), summed over every backend. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ybl_sink_cnt SEC(".maps");

static __always_inline __u16 fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Sums of 16-bit words in their in-memory (network) order: the ones'
 * complement sum does not care about byte order as long as it is the same
 * for every word and for the stored result. */
static __always_inline __u32 words32(__u32 v)
{
	return (v & 0xffff) + (v >> 16);
}

SEC("xdp")
int ybl_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;
	struct udphdr *udp = (void *)ip + sizeof(*ip);
	__u32 *payload = (void *)udp + sizeof(*udp);
	__u32 zero = 0, flows, n_dsts, k, idx, cpu, sum;
	struct ybl_dst *dst;
	__u64 *seq, n;
	__be32 saddr;
	__be16 sport, udp_len, tot_len;

	if (data + YBL_FRAME_LEN > data_end)
		return XDP_DROP;
	seq = bpf_map_lookup_elem(&ybl_seq, &zero);
	if (!seq)
		return XDP_DROP;
	n = (*seq)++;
	flows = ybl_cfg.flows;
	n_dsts = ybl_cfg.n_dsts;
	if (n_dsts == 0)
		return XDP_DROP;
	k = flows ? (__u32)(n % flows) : (__u32)n;
	idx = k % n_dsts;
	dst = bpf_map_lookup_elem(&ybl_dsts, &idx);
	if (!dst)
		return XDP_DROP;
	cpu = bpf_get_smp_processor_id();
	saddr = ybl_cfg.src_base |
		bpf_htonl(((cpu & 0x3f) << 16) | ((k >> 14) & 0xffff));
	sport = bpf_htons(1024 + (k & 0x3fff));
	udp_len = bpf_htons(sizeof(*udp) + YBL_PAYLOAD_LEN);
	tot_len = bpf_htons(sizeof(*ip) + sizeof(*udp) + YBL_PAYLOAD_LEN);

	__builtin_memcpy(eth->h_dest, ybl_cfg.dst_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, ybl_cfg.src_mac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = tot_len;
	ip->id = bpf_htons((__u16)n);
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->check = 0;
	ip->saddr = saddr;
	ip->daddr = dst->addr;
	sum = bpf_htons(0x4500) + tot_len + ip->id +
	      bpf_htons((64 << 8) | IPPROTO_UDP) + words32(saddr) +
	      words32(dst->addr);
	ip->check = fold(sum);

	udp->source = sport;
	udp->dest = dst->port;
	udp->len = udp_len;
	/* Pseudo-header, then the UDP header; the payload is zeros. */
	sum = words32(saddr) + words32(dst->addr) + bpf_htons(IPPROTO_UDP) +
	      udp_len + sport + dst->port + udp_len;
	udp->check = fold(sum) ?: 0xffff;
	payload[0] = 0;
	payload[1] = 0;
	payload[2] = 0;
	payload[3] = 0;
	payload[4] = 0;

	bpf_tail_call(ctx, &ybl_next, 0);
	return XDP_PASS;
}

SEC("tc")
int ybl_sink(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;
	struct udphdr *udp;
	__u32 zero = 0;
	__u64 *cnt;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return TC_ACT_OK;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end ||
	    udp->dest != bpf_htons(YBL_TARGET_PORT))
		return TC_ACT_OK;
	cnt = bpf_map_lookup_elem(&ybl_sink_cnt, &zero);
	if (cnt)
		*cnt += 1;
	return TC_ACT_SHOT;
}
