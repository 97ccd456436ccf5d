// SPDX-License-Identifier: Apache-2.0
// "Why did this packet go there?": one synthetic packet run through the
// datapath of a node, against that node's live service maps, reporting the
// verdict, the reason, the backend and the headers before and after.
//
// A trace must not change the node: no flow recorded, no counter moved.
// Rather than let the packet write to the live tables and then try to undo
// it (which races with real traffic: a per-CPU counter slot can only be
// written back whole, losing packets other CPUs counted meanwhile), the
// trace runs a fresh copy of the tc object in which
//   - yard_svc4, yard_slots, yard_be4 and yard_rnat4 are the node's own
//     pinned maps (the program only reads them),
//   - yard_ct4, yard_svc_stats, yard_reasons and yard_lc4 are private;
//     the private yard_ct4 starts with a copy of the live entries for the
//     packet's tuple (the only ones the program looks up for a SYN or a
//     UDP packet), and yard_lc4 with the live least-connection counts, so
//     the copy chooses as the node would,
//   - the read-only config (hairpin address, UDP timeout) is copied byte
//     for byte from the program the node has loaded.
// The program behaves exactly as the loaded one would on this packet, the
// private counters name the reason directly, and the live maps are never
// written. The copy's tag is compared with the loaded program's, so a
// trace says when yardctl's build differs from the node's.
#ifndef SWITCHYARD_CONTROL_KERNEL_TRACE_H_
#define SWITCHYARD_CONTROL_KERNEL_TRACE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/kernel/abi.h"
#include "control/kernel/node_programs.h"
#include "control/packet/trace_frame.h"

namespace switchyard::kernel {

struct TraceRequest {
  packet::FlowTuple tuple;
  packet::TraceHook hook = packet::TraceHook::kFromPod;
};

// tc verdicts the programs return.
inline constexpr int kTcActOk = 0;
inline constexpr int kTcActShot = 2;
inline constexpr int kTcActRedirect = 7;

struct TraceResult {
  TraceRequest request;

  // What ran.
  std::string program_name;  // yard_from_pod or yard_to_pod
  std::string program_tag;   // of the copy that ran
  // The node's loaded program for the same hook (the newest, when an
  // agent restart left two), if any is loaded.
  std::optional<ProgramInfo> loaded;
  yard_config config = {};          // the config the copy ran with
  bool config_from_loaded = false;  // false: this build's defaults

  // What came out.
  int verdict = kTcActOk;  // TC_ACT_OK, TC_ACT_SHOT or TC_ACT_REDIRECT
  std::optional<yard_reason> reason;  // counted under, if any
  packet::Bytes input;
  packet::Bytes output;

  // What the packet met in the live maps.
  std::optional<yard_svc_value> service;  // the frontend for its destination
  bool service_address = false;           // destination has a wildcard entry
  std::optional<yard_ct4_value> forward_before;  // the tuple's live entries
  std::optional<yard_ct4_value> reply_before;

  // Entries the packet recorded or changed; kept in the private copy only.
  std::vector<std::pair<yard_ct4_key, yard_ct4_value>> ct_written;

  // The entry that decided the translation (new or existing) and what it
  // names: for a packet from a pod the backend it goes to, for one towards
  // a pod the backend it came from; the frontend restored on replies.
  std::optional<yard_ct4_key> flow_key;
  std::optional<yard_ct4_value> flow;
  std::optional<yard_backend4> backend;  // live entry of flow->backend_id
  std::optional<uint32_t> slot;          // backend's slot in the service's set
  std::optional<yard_rnat4> rev_nat;     // live entry of flow->rev_nat_id
};

// Traces one packet through the node whose maps are pinned in pin_dir.
// Needs the privileges of a BPF loader (root), attaches nothing.
absl::StatusOr<TraceResult> RunTrace(absl::string_view pin_dir,
                                     const TraceRequest& request);

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_TRACE_H_
