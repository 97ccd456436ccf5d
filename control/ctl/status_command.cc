// SPDX-License-Identifier: Apache-2.0
// `yardctl status`: a node's datapath as the kernel holds it, and its sync
// state as the controller sees it; `--cluster`: every node's.
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "control/ctl/node_commands.h"
#include "control/ctl/node_pins.h"
#include "control/ctl/status_format.h"
#include "control/kernel/features_map.h"
#include "control/kernel/pinned_layout.h"

namespace switchyard::ctl {

absl::Status RunStatus(const CommandOptions& options, Context& context) {
  if (!options.args.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument \"", options.args[0],
                     "\"; status takes --node N, or --cluster for every node"));
  }
  absl::StatusOr<InspectOutput> output = ParseInspectOutput(options.output);
  if (!output.ok()) return output.status();

  if (options.cluster) {
    if (options.flags_set & (kFlagNode | kFlagBpffsRoot | kFlagNetns)) {
      return absl::InvalidArgumentError(
          "status --cluster asks the controller about every node; it takes "
          "no --node, --bpffs-root or --netns");
    }
    absl::StatusOr<v1::ListNodeSyncResponse> sync =
        context.client->ListNodeSync();
    if (!sync.ok()) return sync.status();
    ClusterStatusView view{.controller = context.client->address(),
                           .sync = *std::move(sync),
                           .now = absl::Now()};
    *context.out << FormatClusterStatus(view, *output);
    return absl::OkStatus();
  }

  absl::StatusOr<NodePins> pins = ResolveNodePins(
      options.bpffs_root.empty() ? kDefaultBpffsRoot : options.bpffs_root,
      options.node);
  if (!pins.ok()) return pins.status();
  NodeStatusView view{
      .node = pins->node, .pin_dir = pins->pin_dir, .netns = options.netns};
  absl::StatusOr<std::optional<uint32_t>> layout =
      kernel::ReadPinnedLayout(pins->pin_dir);
  if (!layout.ok()) return layout.status();
  view.layout = *layout;
  absl::StatusOr<std::vector<kernel::MapUsage>> maps =
      kernel::ReadMapUsage(pins->pin_dir);
  if (!maps.ok()) return maps.status();
  view.maps = *std::move(maps);
  absl::StatusOr<std::vector<kernel::TcAttachment>> attachments =
      kernel::ListTcAttachments(options.netns, pins->pin_dir);
  if (!attachments.ok()) return attachments.status();
  view.attachments = *std::move(attachments);
  absl::StatusOr<std::vector<kernel::ProgramInfo>> programs =
      kernel::FindNodePrograms(pins->pin_dir);
  if (!programs.ok()) return programs.status();
  view.programs = *std::move(programs);
  absl::StatusOr<std::optional<kernel::FeatureSet>> features =
      kernel::ReadPinnedFeatures(pins->pin_dir);
  if (!features.ok()) return features.status();
  view.features = *std::move(features);

  // The controller is optional here: a node's state is worth showing most
  // when the rest of the system is in trouble.
  view.controller = context.client->address();
  absl::StatusOr<v1::ListNodeSyncResponse> sync =
      context.client->ListNodeSync();
  if (sync.ok()) {
    view.sync = *std::move(sync);
  } else {
    view.controller_status = sync.status();
  }
  view.now = absl::Now();
  *context.out << FormatNodeStatus(view, *output);
  return absl::OkStatus();
}

}  // namespace switchyard::ctl
