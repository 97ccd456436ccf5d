// SPDX-License-Identifier: Apache-2.0
#include "tests/packet/prog_run.h"

#include <bpf/bpf.h>

#include <cerrno>

#include "control/common/errno_status.h"

namespace switchyard::packet {

absl::StatusOr<ProgRun> RunProg(int prog_fd, const Bytes& frame,
                                uint32_t repeat) {
  // Room for a reply that grows the frame: a reject answer quotes up to 68
  // bytes of the request behind fresh headers.
  Bytes out(frame.size() + 256);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
              .data_out = out.data(),
              .data_size_in = static_cast<uint32_t>(frame.size()),
              .data_size_out = static_cast<uint32_t>(out.size()),
              .repeat = static_cast<int>(repeat));
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
    return ErrnoStatus(errno, "BPF_PROG_TEST_RUN");
  }
  out.resize(opts.data_size_out);
  return ProgRun{static_cast<int>(opts.retval), std::move(out), opts.duration};
}

}  // namespace switchyard::packet
