// SPDX-License-Identifier: Apache-2.0
// Running a loaded BPF program on one frame with BPF_PROG_TEST_RUN, for the
// packet-table tests and the benchmarks alike.
#ifndef SWITCHYARD_TESTS_PACKET_PROG_RUN_H_
#define SWITCHYARD_TESTS_PACKET_PROG_RUN_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "control/packet/packet_types.h"

namespace switchyard::packet {

struct ProgRun {
  int verdict = 0;       // the program's return value
  Bytes output;          // the frame as the program left it
  uint32_t duration_ns;  // kernel-measured mean per repetition
};

// Runs prog_fd on `frame` `repeat` times (the kernel runs the program on
// the same buffer each time, so changes made by one run are seen by the
// next). Fails with the kernel's errno, e.g. EINVAL for a tc program given
// less than an Ethernet header.
absl::StatusOr<ProgRun> RunProg(int prog_fd, const Bytes& frame,
                                uint32_t repeat = 1);

}  // namespace switchyard::packet

#endif  // SWITCHYARD_TESTS_PACKET_PROG_RUN_H_
