// SPDX-License-Identifier: Apache-2.0
// yardctl's node commands: they read a node's datapath from bpffs rather
// than asking the controller, so they answer while the agent is down.
//   bpf services|backends|revnat|ct|nat|stats   the maps, joined and named
//   status [--cluster]                      fill, attachments, sync lag
//   trace SRC[:SPORT] DST:PORT[/PROTO]      one packet's fate, changing nothing
#ifndef SWITCHYARD_CONTROL_CTL_NODE_COMMANDS_H_
#define SWITCHYARD_CONTROL_CTL_NODE_COMMANDS_H_

#include "absl/status/status.h"
#include "control/ctl/cli.h"
#include "control/ctl/commands.h"

namespace switchyard::ctl {

absl::Status RunBpf(const CommandOptions& options, Context& context);
absl::Status RunStatus(const CommandOptions& options, Context& context);
absl::Status RunTrace(const CommandOptions& options, Context& context);

}  // namespace switchyard::ctl

#endif  // SWITCHYARD_CONTROL_CTL_NODE_COMMANDS_H_
