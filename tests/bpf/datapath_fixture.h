// SPDX-License-Identifier: Apache-2.0
// Checks shared by the packet-level BPF tests (datapath_test.cc for the pod
// programs, external_test.cc for the north-south ones): a frame compared
// field by field and its checksums recomputed from scratch, and every
// reason counter compared with what one packet must have moved.
#ifndef SWITCHYARD_TESTS_BPF_DATAPATH_FIXTURE_H_
#define SWITCHYARD_TESTS_BPF_DATAPATH_FIXTURE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "control/kernel/datapath_maps.h"
#include "control/names/reason_names.h"
#include "control/packet/packet_decoder.h"
#include "control/packet/packet_types.h"
#include "gtest/gtest.h"

#ifndef ASSERT_OK
#define ASSERT_OK(expr)                           \
  do {                                            \
    const absl::Status yard_status = (expr);      \
    ASSERT_TRUE(yard_status.ok()) << yard_status; \
  } while (0)
#endif

namespace switchyard::bpf_test {

using ReasonCounts = std::map<yard_reason, uint64_t>;

// The output frame equals `want` byte for byte (a mismatch prints the
// differing header fields), and its checksums are right when recomputed
// whole: a wrong expectation cannot hide a wrong checksum.
inline void ExpectFrame(const packet::Bytes& want, const packet::Bytes& got) {
  EXPECT_TRUE(want == got) << "output differs from expected:\n"
                           << packet::DiffFrames(want, got);
  const packet::DecodedFrame d = packet::Decode(got);
  if (d.ip.has_value() && d.incomplete.empty() && d.ip->ihl >= 5) {
    absl::Status s = packet::VerifyChecksums(got);
    EXPECT_TRUE(s.ok()) << s;
  }
}

// Every reason counter equals `want` (absent: 0): each packet the datapath
// does not simply translate or pass is counted exactly once.
inline void ExpectReasons(const kernel::DatapathMaps& maps,
                          const ReasonCounts& want) {
  std::string wrong;
  for (int r = 0; r < YARD_REASON_MAX; ++r) {
    const yard_reason reason = static_cast<yard_reason>(r);
    absl::StatusOr<yard_counter> got = maps.ReasonCounter(reason);
    ASSERT_TRUE(got.ok()) << got.status();
    auto it = want.find(reason);
    const uint64_t expected = it == want.end() ? 0 : it->second;
    if (got->packets != expected) {
      absl::StrAppend(&wrong, names::DescribeReason(r).name, ": expected ",
                      expected, " got ", got->packets, "\n");
    }
  }
  EXPECT_TRUE(wrong.empty()) << "reason counters:\n" << wrong;
}

// Rows of a packet table for one family of programs: tc (verdicts
// TC_ACT_OK / SHOT / REDIRECT) or XDP (XDP_PASS / DROP / TX). Hook names
// the program a row runs through when the family has several.
template <typename Hook, int kPass, int kDrop, int kBack>
struct FrameTable {
  struct Row {
    std::string name;
    Hook hook = {};
    packet::Bytes input;
    int verdict = kPass;
    // The frame the program must leave; nullopt for drops, whose contents
    // nobody sees.
    std::optional<packet::Bytes> output;
    ReasonCounts reasons;
    // The frontend whose forward counter this packet moves, 0 for none.
    uint32_t translated = 0;

    // gtest prints a parameter with this; the default is a byte dump.
    friend void PrintTo(const Row& r, std::ostream* os) { *os << r.name; }
  };

  // The frame passes as it came.
  static Row Unchanged(std::string name, packet::Bytes input,
                       ReasonCounts reasons = {}, Hook hook = {}) {
    Row r{std::move(name), hook, input, kPass, input, std::move(reasons)};
    return r;
  }
  static Row Dropped(std::string name, packet::Bytes input,
                     yard_reason reason) {
    return {std::move(name), {},           std::move(input),
            kDrop,           std::nullopt, {{reason, 1}}};
  }
  static Row Translated(std::string name, packet::Bytes input,
                        packet::Bytes output, uint32_t frontend) {
    return {std::move(name),   {}, std::move(input), kPass,
            std::move(output), {}, frontend};
  }
  // Answered in place and sent back towards the sender.
  static Row Rejected(std::string name, packet::Bytes input,
                      packet::Bytes output, yard_reason reason) {
    return {std::move(name),   {},           std::move(input), kBack,
            std::move(output), {{reason, 1}}};
  }
};

}  // namespace switchyard::bpf_test

#endif  // SWITCHYARD_TESTS_BPF_DATAPATH_FIXTURE_H_
