// SPDX-License-Identifier: Apache-2.0
// The live-frames traffic source: FrameGenerator's test runs on the
// node's device, with the node's XDP entry program (if any) tail-called
// on every frame.
#ifndef SWITCHYARD_BENCH_LIVE_LIVE_FRAME_SOURCE_H_
#define SWITCHYARD_BENCH_LIVE_LIVE_FRAME_SOURCE_H_

#include "bench/live/frame_generator.h"
#include "bench/live/traffic_source.h"

namespace switchyard::bench::live {

class LiveFrameSource : public TrafficSource {
 public:
  // `generator` must outlive this.
  explicit LiveFrameSource(FrameGenerator* generator) : generator_(generator) {}

  const char* name() const override { return "live-frames"; }
  absl::Status Start(const InjectionPoint& point,
                     const FrameRecipe& recipe) override;
  absl::StatusOr<InjectResult> Inject(uint32_t frames, uint32_t batch) override;
  absl::Status Stop() override;

 private:
  FrameGenerator* generator_;
  InjectionPoint point_;
};

}  // namespace switchyard::bench::live

#endif  // SWITCHYARD_BENCH_LIVE_LIVE_FRAME_SOURCE_H_
