// SPDX-License-Identifier: Apache-2.0
#include "control/ctl/wait_programmed.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "control/ctl/client.h"

namespace switchyard::ctl {

absl::Status WaitProgrammed(uint64_t version, Context& context) {
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::ListNodeSyncResponse> sync =
      context.client->WaitNodeSync(version);
  if (!sync.ok()) return sync.status();
  int programmed = 0;
  std::vector<std::string> refused;
  std::vector<std::string> behind;
  for (const v1::NodeSync& node : sync->nodes()) {
    if (!node.connected()) continue;
    if (node.acked_version() >= version) {
      ++programmed;
    } else if (node.rejected_version() >= version) {
      refused.push_back(
          absl::StrCat(node.node_name(), " (", node.rejected_error(), ")"));
    } else {
      behind.push_back(absl::StrCat(node.node_name(), " (at version ",
                                    node.acked_version(), ")"));
    }
  }
  if (!refused.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "version ", version, " was refused by ", absl::StrJoin(refused, ", ")));
  }
  if (!behind.empty()) {
    return absl::DeadlineExceededError(
        absl::StrCat("version ", version, " is not programmed yet on ",
                     absl::StrJoin(behind, ", ")));
  }
  if (context.err != nullptr) {
    if (programmed == 0) {
      *context.err << "no node is connected to the controller: nothing to "
                      "wait for\n";
    } else {
      *context.err << "version " << version << " programmed on " << programmed
                   << (programmed == 1 ? " node" : " nodes") << " in "
                   << absl::FormatDuration(absl::Trunc(absl::Now() - start,
                                                       absl::Milliseconds(1)))
                   << "\n";
    }
  }
  return absl::OkStatus();
}

}  // namespace switchyard::ctl
