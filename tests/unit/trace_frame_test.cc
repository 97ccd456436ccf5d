// SPDX-License-Identifier: Apache-2.0
// The frame yardctl trace sends, byte for byte. The bytes below were
// written by the trace's own frame code before it moved onto the packet
// builder (control/kernel/trace_frame.cc, checksums summed by hand there),
// so the move, or any later change to the builder, cannot change what a
// trace sends without this test saying so.
#include "control/packet/trace_frame.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

#include "control/packet/packet_decoder.h"
#include "gtest/gtest.h"

namespace switchyard::packet {
namespace {

// 10.244.0.5:40000 -> 10.96.0.10:80.
FlowTuple Tuple(uint8_t proto) {
  return {inet_addr("10.244.0.5"), inet_addr("10.96.0.10"), htons(40000),
          htons(80), proto};
}

TEST(TraceFrameBytes, SynFromPod) {
  const Bytes want = {
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00,
      0x05, 0x08, 0x00, 0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00,
      0x40, 0x06, 0x25, 0x6e, 0x0a, 0xf4, 0x00, 0x05, 0x0a, 0x60, 0x00,
      0x0a, 0x9c, 0x40, 0x00, 0x50, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x50, 0x02, 0xff, 0xff, 0xed, 0xef, 0x00, 0x00,
  };
  const Bytes got = BuildTraceFrame(Tuple(IPPROTO_TCP), TraceHook::kFromPod);
  EXPECT_EQ(got, want) << DiffFrames(want, got);
}

TEST(TraceFrameBytes, SynAckToPod) {
  const Bytes want = {
      0x02, 0x00, 0x00, 0x00, 0x00, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00,
      0x01, 0x08, 0x00, 0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00,
      0x40, 0x06, 0x25, 0x6e, 0x0a, 0xf4, 0x00, 0x05, 0x0a, 0x60, 0x00,
      0x0a, 0x9c, 0x40, 0x00, 0x50, 0x10, 0x00, 0x00, 0x00, 0x20, 0x00,
      0x00, 0x00, 0x50, 0x12, 0xff, 0xff, 0xcd, 0xdf, 0x00, 0x00,
  };
  const Bytes got = BuildTraceFrame(Tuple(IPPROTO_TCP), TraceHook::kToPod);
  EXPECT_EQ(got, want) << DiffFrames(want, got);
}

TEST(TraceFrameBytes, UdpEitherWay) {
  // The same datagram both ways; only the MACs swap.
  const Bytes from_pod = {
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00,
      0x00, 0x05, 0x08, 0x00, 0x45, 0x00, 0x00, 0x24, 0x00, 0x00,
      0x40, 0x00, 0x40, 0x11, 0x25, 0x67, 0x0a, 0xf4, 0x00, 0x05,
      0x0a, 0x60, 0x00, 0x0a, 0x9c, 0x40, 0x00, 0x50, 0x00, 0x10,
      0x92, 0x7f, 0x79, 0x61, 0x72, 0x64, 0x63, 0x74, 0x6c, 0x21,
  };
  Bytes to_pod = from_pod;
  std::swap_ranges(to_pod.begin(), to_pod.begin() + 6, to_pod.begin() + 6);
  const Bytes got_from =
      BuildTraceFrame(Tuple(IPPROTO_UDP), TraceHook::kFromPod);
  const Bytes got_to = BuildTraceFrame(Tuple(IPPROTO_UDP), TraceHook::kToPod);
  EXPECT_EQ(got_from, from_pod) << DiffFrames(from_pod, got_from);
  EXPECT_EQ(got_to, to_pod) << DiffFrames(to_pod, got_to);
}

TEST(TraceFrameSummary, LaterFragmentHasNoTransportHeader) {
  // Its bytes after the IPv4 header are data, not a header to read ports
  // from (the datapath never fragments, so a trace never shows one).
  Bytes later = BuildTraceFrame(Tuple(IPPROTO_UDP), TraceHook::kFromPod);
  later[kEthHeaderLen + 6] = 0x00;  // no DF
  later[kEthHeaderLen + 7] = 0x02;  // offset 16 bytes
  FrameSummary s = SummarizeFrame(later);
  EXPECT_TRUE(s.ipv4);
  EXPECT_FALSE(s.l4);
  EXPECT_FALSE(s.checksums_ok);
}

}  // namespace
}  // namespace switchyard::packet
