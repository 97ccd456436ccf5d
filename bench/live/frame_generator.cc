// SPDX-License-Identifier: Apache-2.0
#include "bench/live/frame_generator.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <time.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"
#include "control/kernel/datapath.h"
#include "yard_live_gen.skel.h"

namespace switchyard::bench::live {
namespace {

static_assert(sizeof(ybl_dst) == 8);
static_assert(sizeof(ybl_gen_config) == 28);

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FrameGenerator>> FrameGenerator::Load() {
  kernel::RouteLibbpfLogs();
  yard_live_gen* skel = yard_live_gen__open_and_load();
  if (skel == nullptr) return ErrnoStatus(errno, "load yard_live_gen");
  return std::unique_ptr<FrameGenerator>(new FrameGenerator(skel));
}

FrameGenerator::~FrameGenerator() { yard_live_gen__destroy(skel_); }

int FrameGenerator::gen_fd() const {
  return bpf_program__fd(skel_->progs.ybl_gen);
}
int FrameGenerator::sink_fd() const {
  return bpf_program__fd(skel_->progs.ybl_sink);
}

absl::Status FrameGenerator::SetRecipe(const FrameRecipe& recipe) {
  if (recipe.dsts.empty() || recipe.dsts.size() > YBL_MAX_DSTS) {
    return absl::InvalidArgumentError(absl::StrCat(
        "need 1..", YBL_MAX_DSTS, " destinations, got ", recipe.dsts.size()));
  }
  const int fd = bpf_map__fd(skel_->maps.ybl_dsts);
  for (uint32_t i = 0; i < recipe.dsts.size(); ++i) {
    if (bpf_map_update_elem(fd, &i, &recipe.dsts[i], BPF_ANY) != 0) {
      return ErrnoStatus(errno, "write ybl_dsts");
    }
  }
  // The .bss is mmap'ed: the program sees these stores on its next run.
  ybl_gen_config& cfg = skel_->bss->ybl_cfg;
  std::memcpy(cfg.src_mac, recipe.src_mac.data(), 6);
  std::memcpy(cfg.dst_mac, recipe.dst_mac.data(), 6);
  cfg.src_base = recipe.src_base_be;
  cfg.flows = recipe.flows;
  cfg.n_dsts = static_cast<uint32_t>(recipe.dsts.size());
  cfg.pad = 0;
  return absl::OkStatus();
}

absl::Status FrameGenerator::SetNext(int prog_fd) {
  const int fd = bpf_map__fd(skel_->maps.ybl_next);
  const uint32_t zero = 0;
  if (prog_fd < 0) {
    if (bpf_map_delete_elem(fd, &zero) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, "clear ybl_next");
    }
    return absl::OkStatus();
  }
  const uint32_t value = static_cast<uint32_t>(prog_fd);
  if (bpf_map_update_elem(fd, &zero, &value, BPF_ANY) != 0) {
    return ErrnoStatus(errno, "set ybl_next (tail call target)");
  }
  return absl::OkStatus();
}

absl::StatusOr<InjectResult> FrameGenerator::Inject(int ifindex,
                                                    uint32_t frames,
                                                    uint32_t batch) const {
  // The frame's contents are the program's business; the kernel only
  // needs its length, and copies this buffer into each page once.
  uint8_t frame[YBL_FRAME_LEN] = {};
  // Live mode takes the packet length from ctx.data_end when a ctx is
  // given (0 would make every frame empty and the call fail), and the
  // device from ingress_ifindex, looked up in the caller's namespace.
  xdp_md ctx = {};
  ctx.data_end = sizeof(frame);
  ctx.ingress_ifindex = static_cast<uint32_t>(ifindex);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
              .data_size_in = sizeof(frame), .ctx_in = &ctx,
              .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(frames),
              .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = batch);
  const uint64_t start = NowNs();
  if (bpf_prog_test_run_opts(gen_fd(), &opts) != 0) {
    return ErrnoStatus(errno, "BPF_PROG_TEST_RUN (live frames)");
  }
  InjectResult result;
  result.frames = frames;
  result.wall_ns = NowNs() - start;
  return result;
}

absl::StatusOr<uint64_t> FrameGenerator::SinkCount() const {
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return ErrnoStatus(-ncpu, "count possible CPUs");
  std::vector<uint64_t> values(static_cast<size_t>(ncpu));
  const uint32_t zero = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.ybl_sink_cnt), &zero,
                          values.data()) != 0) {
    return ErrnoStatus(errno, "read ybl_sink_cnt");
  }
  uint64_t sum = 0;
  for (uint64_t v : values) sum += v;
  return sum;
}

}  // namespace switchyard::bench::live
