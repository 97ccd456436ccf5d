// SPDX-License-Identifier: Apache-2.0
#include "control/ctl/node_pins.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "yard_abi.h"

namespace switchyard::ctl {
namespace {

namespace fs = std::filesystem;

bool HasMaps(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / YARD_MAP_SVC4, ec);
}

std::string NodeList(const std::vector<std::string>& nodes) {
  return nodes.empty() ? "none" : absl::StrJoin(nodes, ", ");
}

}  // namespace

std::vector<std::string> PinnedNodes(absl::string_view root) {
  std::vector<std::string> nodes;
  std::error_code ec;
  for (const fs::directory_entry& entry :
       fs::directory_iterator(fs::path(std::string(root)), ec)) {
    if (entry.is_directory(ec) && HasMaps(entry.path())) {
      nodes.push_back(entry.path().filename().string());
    }
  }
  std::sort(nodes.begin(), nodes.end());
  return nodes;
}

absl::StatusOr<NodePins> ResolveNodePins(absl::string_view root,
                                         absl::string_view node) {
  std::vector<std::string> nodes = PinnedNodes(root);
  if (node.empty()) {
    if (nodes.size() == 1) {
      return NodePins{nodes[0], absl::StrCat(root, "/", nodes[0])};
    }
    if (nodes.empty()) {
      return absl::NotFoundError(absl::StrCat(
          "no node has maps pinned under ", root,
          " (has yard-agent run on this machine? --bpffs-root sets the "
          "folder)"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("maps of several nodes are pinned under ", root, ": ",
                     NodeList(nodes), "; pick one with --node"));
  }
  if (node.find('/') != absl::string_view::npos || node == "." ||
      node == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid node name \"", node, "\""));
  }
  std::string dir = absl::StrCat(root, "/", node);
  if (!HasMaps(fs::path(dir))) {
    return absl::NotFoundError(absl::StrCat("no maps pinned for node ", node,
                                            " in ", dir, " (nodes under ", root,
                                            ": ", NodeList(nodes), ")"));
  }
  return NodePins{std::string(node), dir};
}

}  // namespace switchyard::ctl
