// SPDX-License-Identifier: Apache-2.0
// The live-frame generator: yard_live_gen.bpf.c loaded through its
// skeleton, run with BPF_PROG_TEST_RUN in live-frames mode so that the
// frames it writes really enter an interface's receive path, plus the
// counting sink the backends' interfaces carry.
#ifndef SWITCHYARD_BENCH_LIVE_FRAME_GENERATOR_H_
#define SWITCHYARD_BENCH_LIVE_FRAME_GENERATOR_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/live/frame_recipe.h"
#include "bench/live/live_gen_abi.h"

struct yard_live_gen;  // the libbpf skeleton

namespace switchyard::bench::live {

class FrameGenerator {
 public:
  static absl::StatusOr<std::unique_ptr<FrameGenerator>> Load();
  ~FrameGenerator();
  FrameGenerator(const FrameGenerator&) = delete;
  FrameGenerator& operator=(const FrameGenerator&) = delete;

  // Takes effect for the next Inject; the flow sequence keeps counting, so
  // a new recipe never replays tuples an earlier one sent.
  absl::Status SetRecipe(const FrameRecipe& recipe);

  // Runs the generator `frames` times on interface `ifindex` of the
  // calling thread's network namespace, `batch` frames per softirq round
  // (1..256). Call it on a thread inside that namespace.
  absl::StatusOr<InjectResult> Inject(int ifindex, uint32_t frames,
                                      uint32_t batch) const;

  // The XDP program every frame is handed to once written (slot 0 of
  // ybl_next: a tail call), or none (-1): frames are passed to the stack.
  // It must be an XDP program like the generator (the prog array checks).
  absl::Status SetNext(int prog_fd);

  // Frames the sinks have counted since the program was loaded.
  absl::StatusOr<uint64_t> SinkCount() const;

  int gen_fd() const;
  int sink_fd() const;

 private:
  explicit FrameGenerator(yard_live_gen* skel) : skel_(skel) {}
  yard_live_gen* skel_;
};

}  // namespace switchyard::bench::live

#endif  // SWITCHYARD_BENCH_LIVE_FRAME_GENERATOR_H_
