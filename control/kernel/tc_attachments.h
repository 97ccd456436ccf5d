// SPDX-License-Identifier: Apache-2.0
// Which interfaces carry the datapath: Switchyard's tc filters (the handle
// and priority AttachTc uses) on every interface of a network namespace,
// with the program each one runs.
#ifndef SWITCHYARD_CONTROL_KERNEL_TC_ATTACHMENTS_H_
#define SWITCHYARD_CONTROL_KERNEL_TC_ATTACHMENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/kernel/datapath.h"
#include "control/kernel/node_programs.h"

namespace switchyard::kernel {

// The handle and priority AttachTc installs every Switchyard filter with.
inline constexpr uint32_t kSwitchyardTcHandle = kTcHandle;
inline constexpr uint32_t kSwitchyardTcPriority = kTcPriority;

struct TcAttachment {
  std::string interface;
  int ifindex = 0;
  TcDirection direction = TcDirection::kIngress;
  bool xdp = false;  // an XDP program rather than a tc filter
  ProgramInfo program;
  // The program uses the maps pinned for the node asked about; false means
  // another node's (or an unpinned) datapath.
  bool this_node = false;
};

// Switchyard's filters on the interfaces of network namespace `netns` (a
// name under /run/netns; "" for this process's own), by interface name
// then ingress before egress. `pin_dir` names the node whose maps make
// `this_node` true.
// Switchyard's tc filters (by handle and priority) and XDP programs (by
// name) on every interface of a network namespace.
absl::StatusOr<std::vector<TcAttachment>> ListTcAttachments(
    absl::string_view netns, absl::string_view pin_dir);

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_TC_ATTACHMENTS_H_
