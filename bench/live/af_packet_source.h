// SPDX-License-Identifier: Apache-2.0
// The af-packet traffic source: a raw packet socket (AF_PACKET, SOCK_RAW)
// opened inside the peer's namespace on its end of the node's veth, which
// sends the recipe's frames, built in user space, with sendmmsg. The
// frames cross the veth and enter the node's receive path (its attached
// XDP program, tc, netfilter, routing) as a pod's or an outside client's
// packets do.
//
// What it measures: the wall time of the send loop (building frames, the
// syscalls, and the node's work, which runs in the softirq the send
// raises on the same CPU unless the kernel defers it to ksoftirqd).
#ifndef SWITCHYARD_BENCH_LIVE_AF_PACKET_SOURCE_H_
#define SWITCHYARD_BENCH_LIVE_AF_PACKET_SOURCE_H_

#include <cstdint>
#include <vector>

#include "bench/live/traffic_source.h"

namespace switchyard::bench::live {

class AfPacketSource : public TrafficSource {
 public:
  AfPacketSource() = default;
  ~AfPacketSource() override;
  AfPacketSource(const AfPacketSource&) = delete;
  AfPacketSource& operator=(const AfPacketSource&) = delete;

  const char* name() const override { return "af-packet"; }
  absl::Status Start(const InjectionPoint& point,
                     const FrameRecipe& recipe) override;
  absl::StatusOr<InjectResult> Inject(uint32_t frames, uint32_t batch) override;
  absl::Status Stop() override;

 private:
  int fd_ = -1;
  int ifindex_ = 0;  // the peer's device
  FrameRecipe recipe_;
  uint64_t seq_ = 0;             // the next frame's number, never reset
  std::vector<uint8_t> frames_;  // one batch, YBL_FRAME_LEN each
};

}  // namespace switchyard::bench::live

#endif  // SWITCHYARD_BENCH_LIVE_AF_PACKET_SOURCE_H_
