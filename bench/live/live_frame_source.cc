// SPDX-License-Identifier: Apache-2.0
#include "bench/live/live_frame_source.h"

namespace switchyard::bench::live {

absl::Status LiveFrameSource::Start(const InjectionPoint& point,
                                    const FrameRecipe& recipe) {
  if (point.node == nullptr) {
    return absl::InvalidArgumentError("live frames need the node namespace");
  }
  if (absl::Status s = generator_->SetRecipe(recipe); !s.ok()) return s;
  point_ = point;
  // The node's XDP program (Switchyard north-south) runs on every frame
  // the generator writes; Stop drops the tail call again, so no case's
  // program outlives it in the generator's prog array.
  return generator_->SetNext(point.xdp_entry_fd);
}

absl::StatusOr<InjectResult> LiveFrameSource::Inject(uint32_t frames,
                                                     uint32_t batch) {
  // The test run looks the device up in the caller's namespace.
  return point_.node->Run([&]() -> absl::StatusOr<InjectResult> {
    return generator_->Inject(point_.node_ifindex, frames, batch);
  });
}

absl::Status LiveFrameSource::Stop() {
  point_ = InjectionPoint();
  return generator_->SetNext(-1);
}

}  // namespace switchyard::bench::live
