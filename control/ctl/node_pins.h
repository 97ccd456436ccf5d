// SPDX-License-Identifier: Apache-2.0
// Which node's pinned maps a node command reads: <bpffs-root>/<node>, as
// yard-agent pins them. With no --node, the one node pinned under the root
// is taken, so the usual one-node machine needs no flag.
#ifndef SWITCHYARD_CONTROL_CTL_NODE_PINS_H_
#define SWITCHYARD_CONTROL_CTL_NODE_PINS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::ctl {

inline constexpr absl::string_view kDefaultBpffsRoot = "/sys/fs/bpf/switchyard";

struct NodePins {
  std::string node;     // the folder's name: the node's name
  std::string pin_dir;  // <root>/<node>
};

// The nodes with maps pinned under `root` (folders holding a yard_svc4),
// sorted. An empty list when root does not exist.
std::vector<std::string> PinnedNodes(absl::string_view root);

// `node` under `root`, or the only pinned node when `node` is empty. The
// errors list the nodes there are, so the next command can be right.
absl::StatusOr<NodePins> ResolveNodePins(absl::string_view root,
                                         absl::string_view node);

}  // namespace switchyard::ctl

#endif  // SWITCHYARD_CONTROL_CTL_NODE_PINS_H_
