// SPDX-License-Identifier: Apache-2.0
// `yardctl trace`: one packet through a node's datapath (kernel/trace.h
// says how it changes nothing), then the answer, formatted.
#include <ostream>
#include <random>

#include "absl/strings/str_cat.h"
#include "control/ctl/node_commands.h"
#include "control/ctl/node_pins.h"
#include "control/ctl/trace_format.h"
#include "control/kernel/trace.h"

namespace switchyard::ctl {
namespace {

// Linux's default ephemeral range (net.ipv4.ip_local_port_range), where a
// client's source port would come from.
uint16_t EphemeralPort() {
  std::random_device random;
  return static_cast<uint16_t>(
      std::uniform_int_distribution<int>(32768, 60999)(random));
}

}  // namespace

absl::Status RunTrace(const CommandOptions& options, Context& context) {
  if (options.args.size() != 2) {
    return absl::InvalidArgumentError(
        "trace takes SRC[:SPORT] DST:PORT[/tcp|udp], e.g. yardctl trace "
        "10.244.0.5 10.96.0.10:80/tcp");
  }
  if ((options.flags_set & kFlagFromPod) && (options.flags_set & kFlagToPod)) {
    return absl::InvalidArgumentError("give --from-pod or --to-pod, not both");
  }
  absl::StatusOr<InspectOutput> output = ParseInspectOutput(options.output);
  if (!output.ok()) return output.status();
  absl::StatusOr<packet::FlowTuple> tuple =
      ParseTraceTuple(options.args[0], options.args[1], EphemeralPort());
  if (!tuple.ok()) return tuple.status();
  absl::StatusOr<NodePins> pins = ResolveNodePins(
      options.bpffs_root.empty() ? kDefaultBpffsRoot : options.bpffs_root,
      options.node);
  if (!pins.ok()) return pins.status();

  kernel::TraceRequest request{.tuple = *tuple,
                               .hook = options.to_pod
                                           ? packet::TraceHook::kToPod
                                           : packet::TraceHook::kFromPod};
  absl::StatusOr<kernel::TraceResult> result =
      kernel::RunTrace(pins->pin_dir, request);
  if (!result.ok()) return result.status();
  *context.out << FormatTrace(pins->node, *result, *output);
  return absl::OkStatus();
}

}  // namespace switchyard::ctl
