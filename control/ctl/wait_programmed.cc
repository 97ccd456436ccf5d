// SPDX-License-Identifier: Apache-2.0
#include "control/ctl/wait_programmed.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "control/ctl/client.h"

namespace switchyard::ctl {

namespace {

// Connected nodes by where they stand on one version.
struct Standing {
  int programmed = 0;
  // When the last programmed node's ack arrived, and whether every one
  // said (a controller older than NodeSync.acked_unix_us does not).
  int64_t last_ack_unix_us = 0;
  bool every_ack_timed = true;
  std::vector<std::string> refused;  // "name (reason)"
  std::vector<std::string> behind;   // "name (at version N)"
};

Standing StandingOf(const v1::ListNodeSyncResponse& sync, uint64_t version) {
  Standing standing;
  for (const v1::NodeSync& node : sync.nodes()) {
    if (!node.connected()) continue;
    if (node.acked_version() >= version) {
      ++standing.programmed;
      standing.every_ack_timed &= node.acked_unix_us() > 0;
      standing.last_ack_unix_us =
          std::max(standing.last_ack_unix_us, node.acked_unix_us());
    } else if (node.rejected_version() >= version) {
      standing.refused.push_back(
          absl::StrCat(node.node_name(), " (", node.rejected_error(), ")"));
    } else {
      standing.behind.push_back(absl::StrCat(node.node_name(), " (at version ",
                                             node.acked_version(), ")"));
    }
  }
  return standing;
}

}  // namespace

absl::Status WaitProgrammed(uint64_t version, int64_t received_unix_us,
                            Context& context) {
  const absl::Time start = absl::Now();
  const absl::Duration timeout = context.client->timeout();
  const absl::Time deadline =
      start + (timeout > absl::ZeroDuration() ? timeout : absl::Minutes(1));
  Standing standing;
  while (true) {
    absl::StatusOr<v1::ListNodeSyncResponse> sync =
        context.client->WaitNodeSync(version, deadline - absl::Now());
    if (!sync.ok()) return sync.status();
    standing = StandingOf(*sync, version);
    if (!standing.refused.empty() || standing.behind.empty() ||
        absl::Now() >= deadline) {
      break;
    }
    // Behind before the deadline: a controller older than the wait
    // answered at once. Ask again, as a poll.
    absl::SleepFor(std::min(absl::Milliseconds(100), deadline - absl::Now()));
  }
  if (!standing.refused.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("version ", version, " was refused by ",
                     absl::StrJoin(standing.refused, ", ")));
  }
  if (!standing.behind.empty()) {
    return absl::DeadlineExceededError(
        absl::StrCat("version ", version, " is not programmed yet on ",
                     absl::StrJoin(standing.behind, ", ")));
  }
  const int programmed = standing.programmed;
  if (context.err != nullptr) {
    if (programmed == 0) {
      *context.err << "no node is connected to the controller: nothing to "
                      "wait for\n";
    } else {
      // Here at least one node is programmed, so every_ack_timed means a
      // last ack time too.
      const bool on_controller_clock =
          received_unix_us > 0 && standing.every_ack_timed;
      // Milliseconds, or microseconds below one: a one-service change is
      // programmed in a fraction of a millisecond.
      const absl::Duration took =
          on_controller_clock
              ? absl::Microseconds(std::max<int64_t>(
                    0, standing.last_ack_unix_us - received_unix_us))
              : absl::Now() - start;
      *context.err << "version " << version << " programmed on " << programmed
                   << (programmed == 1 ? " node" : " nodes") << " in "
                   << absl::FormatDuration(
                          absl::Trunc(took, took < absl::Milliseconds(1)
                                                ? absl::Microseconds(1)
                                                : absl::Milliseconds(1)))
                   << "\n";
    }
  }
  return absl::OkStatus();
}

}  // namespace switchyard::ctl
