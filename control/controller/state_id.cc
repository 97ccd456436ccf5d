// SPDX-License-Identifier: Apache-2.0
#include "control/controller/state_id.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"

namespace switchyard::controller {
namespace {

constexpr size_t kStateIdBytes = 16;

// Fills `out` from getrandom(); false if the kernel refused. At most 256
// bytes are never cut short once the pool is initialised, but a signal can
// interrupt the wait for that at early boot.
bool KernelRandom(uint8_t* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = getrandom(out + done, n - done, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(got);
  }
  return true;
}

}  // namespace

std::string NewStateId() {
  uint8_t bytes[kStateIdBytes];
  if (!KernelRandom(bytes, sizeof(bytes))) {
    // Without getrandom (ENOSYS under a restrictive seccomp policy, say),
    // absl's generator, which seeds itself from the OS's entropy.
    absl::BitGen gen;
    for (uint8_t& b : bytes) b = absl::Uniform<uint8_t>(gen);
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

bool IsStateId(absl::string_view text) {
  if (text.size() != 2 * kStateIdBytes) return false;
  for (char c : text) {
    if (!absl::ascii_isxdigit(c) || absl::ascii_isupper(c)) return false;
  }
  return true;
}

}  // namespace switchyard::controller
