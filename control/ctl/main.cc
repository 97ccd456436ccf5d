// SPDX-License-Identifier: Apache-2.0
// yardctl: kubectl-shaped access to yard-controller. Parses the command
// line, opens the channel, runs the command; everything else lives in
// yard_ctl_lib.
#include <grpcpp/grpcpp.h>

#include <iostream>
#include <string>
#include <vector>

#include "control/ctl/cli.h"
#include "control/ctl/client.h"
#include "control/ctl/commands.h"

int main(int argc, char** argv) {
  using namespace switchyard::ctl;  // NOLINT(build/namespaces): main only
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<CommandLine> line = ParseCommandLine(args);
  if (!line.ok()) {
    std::cerr << "error: " << line.status().message()
              << "\nSee 'yardctl help' for usage.\n";
    return 1;
  }
  if (line->command.empty()) {
    (line->help ? std::cout : std::cerr) << Usage();
    return line->help ? 0 : 1;
  }
  // The channel connects on first use, so `help` costs nothing here.
  ClusterClient client(
      ControllerChannel(line->global.controller, line->global.tls),
      line->global.controller, line->global.timeout);
  Context context{
      .client = &client, .in = &std::cin, .out = &std::cout, .err = &std::cerr};
  absl::Status status = RunCommand(*line, context);
  if (!status.ok()) {
    std::cout.flush();
    std::cerr << "error: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
