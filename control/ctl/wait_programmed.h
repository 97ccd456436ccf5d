// SPDX-License-Identifier: Apache-2.0
// `yardctl apply --wait`: after the write, until every node connected to
// the controller has programmed it (its agent acked that version or a
// later one), or the timeout ends. A node that refused the version, or is
// still behind when the wait ends, fails the command by name; the note
// goes to stderr so `-o yaml` output stays a document. The time it gives
// runs from the controller's receipt of the write (`received_unix_us`, from
// the write's reply) to the last node's ack, both on the controller's
// clock; a controller too old to say is timed by this process's own wait.
#ifndef SWITCHYARD_CONTROL_CTL_WAIT_PROGRAMMED_H_
#define SWITCHYARD_CONTROL_CTL_WAIT_PROGRAMMED_H_

#include <cstdint>

#include "absl/status/status.h"
#include "control/ctl/commands.h"

namespace switchyard::ctl {

absl::Status WaitProgrammed(uint64_t version, int64_t received_unix_us,
                            Context& context);

}  // namespace switchyard::ctl

#endif  // SWITCHYARD_CONTROL_CTL_WAIT_PROGRAMMED_H_
