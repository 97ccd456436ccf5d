// SPDX-License-Identifier: Apache-2.0
#include "bench/live/traffic_source.h"

#include "absl/strings/str_cat.h"
#include "bench/live/af_packet_source.h"
#include "bench/live/live_frame_source.h"

namespace switchyard::bench::live {
namespace {

// One live-frames test run of one frame on a veth in a namespace of its
// own, like the real runs but with nothing behind it: with no recipe set
// the generator drops the frame. The namespace goes when this returns.
absl::Status ProbeLiveFrames(FrameGenerator& generator) {
  absl::StatusOr<std::unique_ptr<netns::Namespace>> ns =
      netns::Namespace::Create("ybl-probe");
  if (!ns.ok()) return ns.status();
  const netns::Namespace& probe = **ns;
  if (absl::Status s = netns::CreateVeth(probe, "yp0", probe, "yp1"); !s.ok()) {
    return s;
  }
  absl::StatusOr<int> ifindex = probe.Ifindex("yp0");
  if (!ifindex.ok()) return ifindex.status();
  return probe
      .Run([&]() -> absl::StatusOr<InjectResult> {
        return generator.Inject(*ifindex, 1, 1);
      })
      .status();
}

}  // namespace

absl::StatusOr<TrafficChoice> ParseTrafficChoice(absl::string_view text) {
  if (text == "auto") return TrafficChoice::kAuto;
  if (text == "live-frames") return TrafficChoice::kLiveFrames;
  if (text == "af-packet") return TrafficChoice::kAfPacket;
  return absl::InvalidArgumentError(absl::StrCat(
      "traffic source ", text, ": auto, live-frames or af-packet"));
}

absl::StatusOr<ChosenSource> ChooseTrafficSource(TrafficChoice choice,
                                                 FrameGenerator& generator) {
  ChosenSource chosen;
  switch (choice) {
    case TrafficChoice::kLiveFrames:
      chosen.source = std::make_unique<LiveFrameSource>(&generator);
      chosen.why = "forced by --traffic_source";
      return chosen;
    case TrafficChoice::kAfPacket:
      chosen.source = std::make_unique<AfPacketSource>();
      chosen.why = "forced by --traffic_source";
      return chosen;
    case TrafficChoice::kAuto:
      break;
  }
  // Whatever the refusal (EPERM, EINVAL, ENOTSUPP, an old kernel without
  // the flag), the socket works wherever namespaces and veths do.
  if (absl::Status probe = ProbeLiveFrames(generator); !probe.ok()) {
    chosen.source = std::make_unique<AfPacketSource>();
    chosen.why =
        absl::StrCat("auto, the live-frames probe failed: ", probe.message());
    return chosen;
  }
  chosen.source = std::make_unique<LiveFrameSource>(&generator);
  chosen.why = "auto, the live-frames probe worked";
  return chosen;
}

}  // namespace switchyard::bench::live
