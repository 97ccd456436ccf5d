// SPDX-License-Identifier: Apache-2.0
// The one place an errno becomes an absl::Status.
#ifndef SWITCHYARD_CONTROL_COMMON_ERRNO_STATUS_H_
#define SWITCHYARD_CONTROL_COMMON_ERRNO_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace switchyard {

// `err` is an errno value, positive or negative (libbpf returns -errno).
// The message reads "<what>: <strerror>", so a caller names the operation.
absl::Status ErrnoStatus(int err, absl::string_view what);

}  // namespace switchyard

#endif  // SWITCHYARD_CONTROL_COMMON_ERRNO_STATUS_H_
