// SPDX-License-Identifier: Apache-2.0
// `yardctl status`: a node's datapath (map fill, programs on interfaces)
// and how far its agent lags behind the controller; with --cluster, every
// node's sync state as the controller sees it. Formatting only, from
// plain structs, so it is tested with made-up data.
#ifndef SWITCHYARD_CONTROL_CTL_STATUS_FORMAT_H_
#define SWITCHYARD_CONTROL_CTL_STATUS_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "control/ctl/inspect_text.h"
#include "control/kernel/features.h"
#include "control/kernel/map_usage.h"
#include "control/kernel/node_programs.h"
#include "control/kernel/tc_attachments.h"
#include "switchyard/v1/controller.pb.h"

namespace switchyard::ctl {

struct NodeStatusView {
  std::string node;
  std::string pin_dir;
  std::string netns;  // "" when the interfaces were read in yardctl's own
  // The layout version recorded with the pins (yard_layout); nullopt for
  // pins made before the record. And the one this yardctl reads.
  std::optional<uint32_t> layout;
  uint32_t own_layout = YARD_LAYOUT_VERSION;
  std::vector<kernel::MapUsage> maps;
  std::vector<kernel::TcAttachment> attachments;
  std::vector<kernel::ProgramInfo> programs;  // loaded with the node's maps
  // What the agent that loaded the datapath found the kernel allows;
  // nullopt for pins without the record.
  std::optional<kernel::FeatureSet> features;
  std::string controller;                        // the address tried
  absl::Status controller_status;                // not OK: unreachable, and why
  std::optional<v1::ListNodeSyncResponse> sync;  // when reachable
  absl::Time now;
};
std::string FormatNodeStatus(const NodeStatusView& view, InspectOutput output);

struct ClusterStatusView {
  std::string controller;
  v1::ListNodeSyncResponse sync;
  absl::Time now;
};
std::string FormatClusterStatus(const ClusterStatusView& view,
                                InspectOutput output);

}  // namespace switchyard::ctl

#endif  // SWITCHYARD_CONTROL_CTL_STATUS_FORMAT_H_
