// SPDX-License-Identifier: Apache-2.0
// A controller state's identity. Versions count writes within one
// history: two controllers (or one whose state was rebuilt, as in
// Kubernetes mode, or lost) number theirs independently, so the same
// version can stand for different contents. Every watch response carries
// the id of the history its version belongs to, and an agent resumes
// with a delta only from a controller with the same id; anywhere else it
// gets a snapshot, which costs it a full reconcile but never a wrong
// delta.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_STATE_ID_H_
#define SWITCHYARD_CONTROL_CONTROLLER_STATE_ID_H_

#include <string>

#include "absl/strings/string_view.h"

namespace switchyard::controller {

// 128 random bits as 32 lowercase hex digits, from the kernel's random
// source: two controllers started at once must not pick the same.
std::string NewStateId();

// Whether `text` has the form NewStateId() gives.
bool IsStateId(absl::string_view text);

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_STATE_ID_H_
