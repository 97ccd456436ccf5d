// SPDX-License-Identifier: Apache-2.0
#include "control/common/errno_status.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace switchyard {

absl::Status ErrnoStatus(int err, absl::string_view what) {
  err = std::abs(err);
  std::string message = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case 0:
      return absl::OkStatus();
    case ENOENT:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EINVAL:
    case E2BIG:
      return absl::InvalidArgumentError(message);
    case EPERM:
    case EACCES:
      return absl::PermissionDeniedError(message);
    case ENOMEM:
    case ENOSPC:
      return absl::ResourceExhaustedError(message);
    case EBUSY:
    case EAGAIN:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace switchyard
