// SPDX-License-Identifier: Apache-2.0
// yardctl's subcommands, dispatched from one table: name, usage, the
// flags each takes, handler. Handlers write to the streams in Context and
// return a Status; main prints a failed one and exits non-zero.
#ifndef SWITCHYARD_CONTROL_CTL_COMMANDS_H_
#define SWITCHYARD_CONTROL_CTL_COMMANDS_H_

#include <cstdint>
#include <iosfwd>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "control/ctl/cli.h"
#include "control/ctl/client.h"

namespace switchyard::ctl {

struct Context {
  ClusterClient* client = nullptr;
  std::istream* in = nullptr;   // manifests for `-f -`
  std::ostream* out = nullptr;  // results
  std::ostream* err = nullptr;  // warnings and notes, as kubectl does
};

struct Command {
  absl::string_view name;
  absl::string_view usage;    // after "yardctl "
  absl::string_view summary;  // one line for the command list
  uint32_t flags;             // CommandFlag bits it accepts
  absl::Status (*run)(const CommandOptions& options, Context& context);
};

absl::Span<const Command> Commands();

// nullptr when there is no such command.
const Command* FindCommand(absl::string_view name);

// The whole help text: usage line, commands, global flags.
std::string Usage();

// Finds the command, refuses flags it does not take, runs it. -h prints
// the command's usage instead.
absl::Status RunCommand(const CommandLine& line, Context& context);

}  // namespace switchyard::ctl

#endif  // SWITCHYARD_CONTROL_CTL_COMMANDS_H_
