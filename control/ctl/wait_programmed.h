// SPDX-License-Identifier: Apache-2.0
// `yardctl apply --wait`: after the write, until every node connected to
// the controller has programmed it (its agent acked that version or a
// later one), or the timeout ends. A node that refused the version, or is
// still behind when the wait ends, fails the command by name; the note
// goes to stderr so `-o yaml` output stays a document.
#ifndef SWITCHYARD_CONTROL_CTL_WAIT_PROGRAMMED_H_
#define SWITCHYARD_CONTROL_CTL_WAIT_PROGRAMMED_H_

#include <cstdint>

#include "absl/status/status.h"
#include "control/ctl/commands.h"

namespace switchyard::ctl {

absl::Status WaitProgrammed(uint64_t version, Context& context);

}  // namespace switchyard::ctl

#endif  // SWITCHYARD_CONTROL_CTL_WAIT_PROGRAMMED_H_
