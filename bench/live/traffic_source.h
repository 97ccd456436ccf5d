// SPDX-License-Identifier: Apache-2.0
// Where the benchmark's frames come from. Two sources write the same
// frames (frame_recipe.h) into the same place, the node's device facing
// the client (vcl) or the outside (vext):
//
//   live-frames  yard_live_gen run with BPF_PROG_TEST_RUN in live-frames
//                mode on the node's device itself (live_frame_source.h);
//   af-packet    a raw packet socket on the other end of that device's
//                veth, in the client's namespace (af_packet_source.h), so
//                frames cross the veth like a pod's own.
//
// Live frames are cheaper to make and need no peer, but some kernels
// refuse the test run (EPERM on 6.18 here); `auto` probes once and falls
// back to af-packet.
#ifndef SWITCHYARD_BENCH_LIVE_TRAFFIC_SOURCE_H_
#define SWITCHYARD_BENCH_LIVE_TRAFFIC_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/live/frame_generator.h"
#include "bench/live/frame_recipe.h"
#include "tests/netns/netns.h"

namespace switchyard::bench::live {

// Where frames enter the node: its device, and the other end of that
// device's veth. The namespaces must outlive the source's use of them
// (until Stop).
struct InjectionPoint {
  const netns::Namespace* node = nullptr;
  int node_ifindex = 0;  // vcl or vext
  const netns::Namespace* peer = nullptr;
  int peer_ifindex = 0;  // the client's or the outside client's eth0
  // The node's XDP program for frames on this device, or -1. A test run's
  // frames skip the device's attached XDP program, so live-frames
  // tail-calls it; frames from the peer meet the attached one.
  int xdp_entry_fd = -1;
};

class TrafficSource {
 public:
  virtual ~TrafficSource() = default;

  // "live-frames" or "af-packet": what the report calls it.
  virtual const char* name() const = 0;

  // From now until Stop, frames of `recipe` enter at `point`. The flow
  // sequence keeps counting across Starts, so a new recipe never replays
  // tuples an earlier one sent.
  virtual absl::Status Start(const InjectionPoint& point,
                             const FrameRecipe& recipe) = 0;

  // Injects `frames` frames, `batch` (1..256) per softirq round or per
  // send call. Returns what was offered and the wall time it took.
  virtual absl::StatusOr<InjectResult> Inject(uint32_t frames,
                                              uint32_t batch) = 0;

  // Releases what Start took (a tail call, a socket).
  virtual absl::Status Stop() = 0;
};

enum class TrafficChoice { kAuto, kLiveFrames, kAfPacket };

// "auto", "live-frames", "af-packet".
absl::StatusOr<TrafficChoice> ParseTrafficChoice(absl::string_view text);

struct ChosenSource {
  std::unique_ptr<TrafficSource> source;
  std::string why;  // for the report: forced, or what the probe saw
};

// The source to use. kAuto runs one tiny live-frames test run in a
// namespace of its own (the frame is dropped: no recipe is set yet) and
// takes af-packet if the kernel refuses it. `generator` must outlive the
// result (live-frames drives it).
absl::StatusOr<ChosenSource> ChooseTrafficSource(TrafficChoice choice,
                                                 FrameGenerator& generator);

}  // namespace switchyard::bench::live

#endif  // SWITCHYARD_BENCH_LIVE_TRAFFIC_SOURCE_H_
