// SPDX-License-Identifier: Apache-2.0
#include "control/kube/bearer_token.h"

#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"
#include "control/common/log.h"
#include "control/kube/read_file.h"

namespace switchyard::kube {

absl::Status CheckToken(absl::string_view token) {
  for (char c : token) {
    if (absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          "the token holds a line break or another control character");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadConfigFile(path);
  if (!text.ok()) return text.status();
  absl::string_view token = absl::StripAsciiWhitespace(*text);
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": empty; expected a bearer token"));
  }
  if (absl::Status s = CheckToken(token); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  return std::string(token);
}

std::unique_ptr<BearerToken> BearerToken::Fixed(std::string token) {
  return std::unique_ptr<BearerToken>(
      new BearerToken(std::move(token), "", Options()));
}

absl::StatusOr<std::unique_ptr<BearerToken>> BearerToken::FromFile(
    std::string path, Options options) {
  if (!options.now) options.now = [] { return absl::Now(); };
  // Identity first: a file rewritten between the two calls is then seen as
  // changed at the next check and read again, never the reverse.
  absl::StatusOr<FileIdentity> identity = Identify(path);
  if (!identity.ok()) return identity.status();
  absl::StatusOr<std::string> token = ReadTokenFile(path);
  if (!token.ok()) return token.status();
  absl::Time now = options.now();
  std::unique_ptr<BearerToken> source(
      new BearerToken(*std::move(token), std::move(path), std::move(options)));
  source->identity_ = *identity;
  source->last_check_ = now;
  return source;
}

absl::StatusOr<BearerToken::FileIdentity> BearerToken::Identify(
    const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, path);
  FileIdentity identity;
  identity.device = st.st_dev;
  identity.inode = st.st_ino;
  identity.size = st.st_size;
  identity.mtime_ns =
      int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  return identity;
}

std::string BearerToken::Current() {
  std::lock_guard<std::mutex> lock(mu_);
  if (path_.empty()) return token_;
  absl::Time now = options_.now();
  if (now - last_check_ < options_.check_interval) return token_;
  last_check_ = now;

  absl::StatusOr<FileIdentity> identity = Identify(path_);
  absl::StatusOr<std::string> token;
  if (identity.ok()) {
    if (*identity == identity_) return token_;
    token = ReadTokenFile(path_);
  }
  absl::Status failure = !identity.ok() ? identity.status() : token.status();
  if (!failure.ok()) {
    // identity_ is left as it was, so the next check tries again.
    if (!failure_logged_) {
      LOG(WARNING) << "bearer token file changed but cannot be read ("
                   << failure.message()
                   << "); still sending the last token read from it";
      failure_logged_ = true;
    }
    return token_;
  }
  if (failure_logged_) {
    LOG(INFO) << "bearer token file " << path_ << " is readable again";
    failure_logged_ = false;
  }
  token_ = *std::move(token);
  identity_ = *identity;
  return token_;
}

}  // namespace switchyard::kube
