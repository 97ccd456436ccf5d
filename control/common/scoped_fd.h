// SPDX-License-Identifier: Apache-2.0
// An owned file descriptor, closed on destruction.
#ifndef SWITCHYARD_CONTROL_COMMON_SCOPED_FD_H_
#define SWITCHYARD_CONTROL_COMMON_SCOPED_FD_H_

#include <unistd.h>

#include <utility>

namespace switchyard {

class ScopedFd {
 public:
  ScopedFd() = default;
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(ScopedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ScopedFd& operator=(ScopedFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

}  // namespace switchyard

#endif  // SWITCHYARD_CONTROL_COMMON_SCOPED_FD_H_
