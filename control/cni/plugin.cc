// SPDX-License-Identifier: Apache-2.0
#include "control/cni/plugin.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/cni/host_interface.h"
#include "control/kernel/datapath.h"
#include "control/kernel/pod_program_pins.h"

namespace switchyard::cni {
namespace {

namespace fs = std::filesystem;

PluginOutput Fail(absl::string_view cni_version, const CniError& error) {
  return {ErrorJson(cni_version, error), 1};
}

// A kernel failure as the runtime is told it: a missing pin is the node
// still starting (try again), anything else an I/O failure.
CniError FromStatus(const absl::Status& status, absl::string_view what) {
  return CniError{absl::IsNotFound(status) ? CniErrorCode::kTryAgainLater
                                           : CniErrorCode::kIoFailure,
                  absl::StrCat(what, ": ", status.message())};
}

}  // namespace

std::variant<std::string, CniError> ResolvePinDir(const PluginConfig& config) {
  if (!config.node_name.empty()) {
    return absl::StrCat(config.bpffs_root, "/", config.node_name);
  }
  std::vector<std::string> nodes;
  std::error_code ec;
  for (const fs::directory_entry& entry :
       fs::directory_iterator(fs::path(config.bpffs_root), ec)) {
    if (fs::exists(kernel::PodProgramPin(entry.path().string(),
                                         kernel::TcDirection::kIngress),
                   ec)) {
      nodes.push_back(entry.path().filename().string());
    }
  }
  if (nodes.size() == 1) return absl::StrCat(config.bpffs_root, "/", nodes[0]);
  if (nodes.empty()) {
    return CniError{
        CniErrorCode::kTryAgainLater,
        absl::StrCat("no yard-agent has pinned its pod programs "
                     "under ",
                     config.bpffs_root, " yet (is it starting on this node?)")};
  }
  std::sort(nodes.begin(), nodes.end());
  return CniError{CniErrorCode::kInvalidConfig,
                  absl::StrCat("several nodes pin under ", config.bpffs_root,
                               " (", absl::StrJoin(nodes, ", "),
                               "): set nodeName in yard-cni's configuration")};
}

PluginOutput RunPlugin(const CniRequest& request,
                       absl::string_view stdin_json) {
  if (request.command == "VERSION") return {VersionJson(), 0};
  std::variant<PluginConfig, CniError> parsed = ParsePluginConfig(stdin_json);
  if (auto* error = std::get_if<CniError>(&parsed)) return Fail("", *error);
  const PluginConfig& config = std::get<PluginConfig>(parsed);
  // The filters are removed by the kernel with the interface.
  if (request.command == "DEL") return {"", 0};
  if (!config.prev_result.has_value()) {
    return Fail(config.cni_version,
                {CniErrorCode::kInvalidConfig,
                 "yard-cni is a chained plugin and got no prevResult: list it "
                 "after the plugin that creates the pod's interface (bridge, "
                 "ptp ...) in the conflist"});
  }
  std::variant<std::string, CniError> pin_dir = ResolvePinDir(config);
  if (auto* error = std::get_if<CniError>(&pin_dir)) {
    return Fail(config.cni_version, *error);
  }
  absl::StatusOr<HostInterface> host = FindHostInterface(config, request);
  if (!host.ok()) {
    return Fail(config.cni_version, {CniErrorCode::kInvalidConfig,
                                     std::string(host.status().message())});
  }
  const std::string& dir = std::get<std::string>(pin_dir);
  if (request.command == "CHECK") {
    if (absl::Status s = kernel::CheckPinnedPodPrograms(dir, host->ifindex);
        !s.ok()) {
      return Fail(config.cni_version,
                  FromStatus(s, absl::StrCat("check ", host->name)));
    }
    return {"", 0};
  }
  if (absl::Status s = kernel::AttachPinnedPodPrograms(dir, host->ifindex);
      !s.ok()) {
    return Fail(config.cni_version,
                FromStatus(s, absl::StrCat("attach to ", host->name)));
  }
  return {ResultJson(config), 0};
}

}  // namespace switchyard::cni
