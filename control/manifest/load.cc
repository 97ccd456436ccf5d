// SPDX-License-Identifier: Apache-2.0
// Manifests from files and directories.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"
#include "control/common/scoped_fd.h"
#include "control/manifest/manifest.h"
#include "control/manifest/yaml_limits.h"

namespace switchyard::manifest {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  ScopedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, path);
  std::string text;
  char buffer[64 * 1024];
  while (true) {
    ssize_t n = read(fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, path);
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    // Stops reading a file (or a fifo) that could never be applied.
    if (static_cast<int64_t>(text.size()) > kMaxManifestBytes) {
      return ManifestTooLarge(path);
    }
  }
  return text;
}

bool IsManifestName(const std::string& name) {
  return absl::EndsWith(name, ".yaml") || absl::EndsWith(name, ".yml") ||
         absl::EndsWith(name, ".json");
}

absl::Status LoadFile(const std::string& path, const DecodeOptions& options,
                      ManifestSet* set) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<ManifestSet> parsed = ParseManifests(*text, path, options);
  if (!parsed.ok()) return parsed.status();
  for (v1::Object& object : parsed->objects) {
    set->objects.push_back(std::move(object));
  }
  for (std::string& origin : parsed->origins) {
    set->origins.push_back(std::move(origin));
  }
  for (std::string& warning : parsed->warnings) {
    set->warnings.push_back(std::move(warning));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ManifestSet> LoadManifestPath(const std::string& path,
                                             const DecodeOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec) return ErrnoStatus(ec.value(), path);
  ManifestSet set;
  if (!fs::is_directory(status)) {
    if (absl::Status s = LoadFile(path, options, &set); !s.ok()) return s;
    return set;
  }
  std::vector<std::string> files;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    // Editors' and kubectl's own habit: dotfiles are not manifests.
    if (absl::StartsWith(name, ".") || !IsManifestName(name)) continue;
    std::error_code file_ec;
    if (!it->is_regular_file(file_ec)) continue;
    files.push_back(it->path().string());
  }
  if (ec) return ErrnoStatus(ec.value(), path);
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    set.warnings.push_back(
        absl::StrCat(path, ": no *.yaml, *.yml or *.json files"));
  }
  for (const std::string& file : files) {
    if (absl::Status s = LoadFile(file, options, &set); !s.ok()) return s;
  }
  return set;
}

}  // namespace switchyard::manifest
