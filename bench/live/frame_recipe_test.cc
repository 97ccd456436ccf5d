// SPDX-License-Identifier: Apache-2.0
// WriteFrame (user space, for the af-packet source) must make the frames
// ybl_gen makes (live frames), byte for byte, or the two sources would
// measure different traffic. Runs ybl_gen with a plain BPF_PROG_TEST_RUN
// (root, no attach) pinned to CPU 0, frame by frame, against WriteFrame
// with sender 0.
#include "bench/live/frame_recipe.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <sched.h>

#include <array>
#include <cstdint>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "bench/live/frame_generator.h"
#include "control/packet/checksum.h"
#include "control/packet/packet_types.h"
#include "gtest/gtest.h"

namespace switchyard::bench::live {
namespace {

using Frame = std::array<uint8_t, YBL_FRAME_LEN>;

FrameRecipe TestRecipe(uint32_t flows) {
  FrameRecipe recipe;
  recipe.src_mac = {0x02, 0, 0, 0, 0, 0x01};
  recipe.dst_mac = {0x02, 0, 0, 0, 0, 0x02};
  recipe.src_base_be = inet_addr("10.192.0.0");
  recipe.flows = flows;
  recipe.dsts = {{inet_addr("10.96.0.1"), htons(80), 0},
                 {inet_addr("10.96.0.2"), htons(80), 0},
                 {inet_addr("192.168.77.1"), htons(30002), 0}};
  return recipe;
}

// `repeat` runs of ybl_gen on one buffer; the last run's frame, or an
// error.
absl::StatusOr<Frame> RunGenerator(const FrameGenerator& generator,
                                   int repeat = 1) {
  Frame in = {};
  Frame out = {};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(),
              .data_out = out.data(), .data_size_in = sizeof(in),
              .data_size_out = sizeof(out), .repeat = repeat);
  if (bpf_prog_test_run_opts(generator.gen_fd(), &opts) != 0) {
    return absl::InternalError("BPF_PROG_TEST_RUN of ybl_gen");
  }
  if (opts.retval != 2 /* XDP_PASS */) {
    return absl::InternalError("ybl_gen did not pass its frame");
  }
  return out;
}

// Frames 0..frames-1, then frame `far` (skipped to in one test run), whose
// flow index reaches the source address's high bits.
void ExpectSameFrames(uint32_t flows, int frames, int far) {
  absl::StatusOr<std::unique_ptr<FrameGenerator>> generator =
      FrameGenerator::Load();
  ASSERT_TRUE(generator.ok()) << generator.status();
  const FrameRecipe recipe = TestRecipe(flows);
  ASSERT_TRUE((*generator)->SetRecipe(recipe).ok());
  // CPU 0: its number is in ybl_gen's source addresses, and its sequence
  // counter starts at 0 in a freshly loaded generator.
  std::thread pinned([&] {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(0, &cpus);
    ASSERT_EQ(sched_setaffinity(0, sizeof(cpus), &cpus), 0);
    for (int n = 0; n < frames; ++n) {
      absl::StatusOr<Frame> kernel = RunGenerator(**generator);
      ASSERT_TRUE(kernel.ok()) << kernel.status();
      Frame user = {};
      WriteFrame(recipe, n, 0, absl::MakeSpan(user));
      ASSERT_EQ(*kernel, user) << "frame " << n << ", flows " << flows;
      // And the IPv4 header checksum is right on its own terms.
      EXPECT_EQ(packet::InternetChecksum(absl::MakeConstSpan(user).subspan(
                    packet::kEthHeaderLen, 20)),
                0);
    }
    absl::StatusOr<Frame> kernel = RunGenerator(**generator, far - frames + 1);
    ASSERT_TRUE(kernel.ok()) << kernel.status();
    Frame user = {};
    WriteFrame(recipe, far, 0, absl::MakeSpan(user));
    ASSERT_EQ(*kernel, user) << "frame " << far << ", flows " << flows;
  });
  pinned.join();
}

TEST(FrameRecipe, NewFlowsMatchTheGenerator) {
  ExpectSameFrames(0, 40, 3 * 16384 + 5);
}

TEST(FrameRecipe, EstablishedFlowsMatchTheGenerator) {
  ExpectSameFrames(16, 40, 20000);
}

}  // namespace
}  // namespace switchyard::bench::live
