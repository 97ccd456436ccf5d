// SPDX-License-Identifier: Apache-2.0
// The bearer token sent to the API server, kept current with the file it
// comes from. The kubelet rotates a pod's projected service account token
// (about hourly, by swapping a symlink), and an API server refuses the old
// one once it expires, so the file is looked at again while the client
// runs rather than read once at start.
#ifndef SWITCHYARD_CONTROL_KUBE_BEARER_TOKEN_H_
#define SWITCHYARD_CONTROL_KUBE_BEARER_TOKEN_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace switchyard::kube {

// A token goes into an HTTP header, so it may hold no line break or other
// control character (a token file with two lines is a mistake best named).
absl::Status CheckToken(absl::string_view token);

// The token in `path`, surrounding whitespace removed (the trailing newline
// `echo` and editors add). An empty file is an error: sending
// "Bearer " would be refused with a 401 that says nothing of why. So is one
// CheckToken refuses.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

class BearerToken {
 public:
  struct Options {
    // Current() looks at the file at most this often: a stat per request
    // would be cheap, but a list of many pages needs no more than one.
    absl::Duration check_interval = absl::Seconds(1);
    // The clock; absl::Now when empty. Tests step it.
    std::function<absl::Time()> now;
  };

  // A token that never changes.
  static std::unique_ptr<BearerToken> Fixed(std::string token);
  // A token goes into an HTTP header, so it may hold no line break or other
  // control character (a token file with two lines is a mistake best named).
  absl::Status CheckToken(absl::string_view token);

  // The token in `path`, read now (an error if it cannot be) and again
  // whenever the file's identity (device, inode, size, mtime) has changed.
  static absl::StatusOr<std::unique_ptr<BearerToken>> FromFile(std::string path,
                                                               Options options);

  // The token to send now. Thread-safe. A changed file that cannot be read
  // (mid-rotation, or gone) keeps the last good token, logged once until a
  // read succeeds again, and is tried again at the next check.
  std::string Current();

 private:
  // What tells a rewritten file from the one already read. The kubelet
  // swaps a symlink, which stat() follows to a new inode; an editor or
  // `kubectl create token > file` changes the size or mtime.
  struct FileIdentity {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileIdentity&) const = default;
  };

  BearerToken(std::string token, std::string path, Options options)
      : path_(std::move(path)),
        options_(std::move(options)),
        token_(std::move(token)) {}
  static absl::StatusOr<FileIdentity> Identify(const std::string& path);

  const std::string path_;  // "" for a fixed token
  const Options options_;

  std::mutex mu_;
  std::string token_;
  FileIdentity identity_;
  absl::Time last_check_ = absl::InfinitePast();
  // A failed re-read has been logged; reset by the next good one.
  bool failure_logged_ = false;
};

}  // namespace switchyard::kube

#endif  // SWITCHYARD_CONTROL_KUBE_BEARER_TOKEN_H_
