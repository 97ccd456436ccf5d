// SPDX-License-Identifier: Apache-2.0
// The pod programs (yard_from_pod, yard_to_pod) pinned next to a node's
// maps, so a process other than the agent can attach them: yard-cni does,
// while the container runtime sets a pod's network up and before the pod
// can send its first packet. The agent pins them at every start; a pinned
// program keeps using the node's pinned maps, so whichever process
// attaches it, the pod is served by the same datapath.
#ifndef SWITCHYARD_CONTROL_KERNEL_POD_PROGRAM_PINS_H_
#define SWITCHYARD_CONTROL_KERNEL_POD_PROGRAM_PINS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "control/kernel/datapath.h"

namespace switchyard::kernel {

// <pin_dir>/yard_from_pod or <pin_dir>/yard_to_pod: the program that goes
// on a pod interface's ingress or egress.
std::string PodProgramPin(absl::string_view pin_dir, TcDirection direction);

// Pins both programs, each replacing an earlier agent's pin in one step
// (pinned under a temporary name, then renamed over it), so a reader never
// finds a pin missing while an agent restarts.
absl::Status PinPodPrograms(absl::string_view pin_dir, int from_pod_fd,
                            int to_pod_fd);

// Attaches the pinned programs to a pod interface of the calling thread's
// network namespace, as Datapath::AttachPodInterface does. NOT_FOUND (with
// a message saying the agent has not pinned them yet) when either pin is
// missing.
absl::Status AttachPinnedPodPrograms(absl::string_view pin_dir, int ifindex);

// OK when both of Switchyard's tc filters on `ifindex` run the pinned
// programs; NOT_FOUND naming the hook that does not.
absl::Status CheckPinnedPodPrograms(absl::string_view pin_dir, int ifindex);

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_POD_PROGRAM_PINS_H_
