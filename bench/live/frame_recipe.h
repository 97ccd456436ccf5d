// SPDX-License-Identifier: Apache-2.0
// What the benchmark's UDP frames look like, shared by both traffic
// sources: the recipe (the driver hands it to yard_live_gen.bpf.c, whose
// live_gen_abi.h defines the sequence), and WriteFrame, the same sequence
// written in user space for sources that send from a socket.
#ifndef SWITCHYARD_BENCH_LIVE_FRAME_RECIPE_H_
#define SWITCHYARD_BENCH_LIVE_FRAME_RECIPE_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "bench/live/live_gen_abi.h"
#include "control/packet/packet_types.h"

namespace switchyard::bench::live {

using packet::Mac;

// What frames look like; see struct ybl_gen_config.
struct FrameRecipe {
  Mac src_mac = {};
  Mac dst_mac = {};
  uint32_t src_base_be = 0;   // network order, low 22 bits zero
  uint32_t flows = 0;         // 0: every frame a new 5-tuple
  std::vector<ybl_dst> dsts;  // 1..YBL_MAX_DSTS destinations
};

// One injection call, whichever source made it.
struct InjectResult {
  uint64_t frames = 0;   // frames offered to the node
  uint64_t wall_ns = 0;  // time spent injecting: live frames, the syscall
                         // (generation, the stack's work on every frame
                         // and the sink's); a socket, the send loop
};

// Writes frame number `seq` of `recipe` as sender `sender` (0..63: the
// generator's CPU, whose number is part of the source address) into
// `frame`, which holds YBL_FRAME_LEN bytes: every header field, both
// checksums and the zero payload, exactly as ybl_gen does. `recipe` must
// have at least one destination.
void WriteFrame(const FrameRecipe& recipe, uint64_t seq, uint32_t sender,
                absl::Span<uint8_t> frame);

}  // namespace switchyard::bench::live

#endif  // SWITCHYARD_BENCH_LIVE_FRAME_RECIPE_H_
