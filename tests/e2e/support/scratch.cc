// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/support/scratch.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/netns/netns.h"

namespace switchyard::e2e {

std::string ScratchName(absl::string_view tag) {
  return absl::StrCat(netns::NamePrefix(), tag);
}

void RemoveStaleScratch(absl::string_view tag) {
  const std::string suffix = absl::StrCat("-", tag);
  for (const char* parent : {"/tmp", "/sys/fs/bpf"}) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(parent, ec)) {
      absl::string_view name = entry.path().filename().native();
      int pid = 0;
      if (!absl::ConsumePrefix(&name, "ysy") ||
          !absl::ConsumeSuffix(&name, suffix) ||
          !absl::SimpleAtoi(name, &pid) || pid <= 0 || pid == getpid()) {
        continue;
      }
      // Only a pid that no longer exists marks a dead run; EPERM means
      // someone else's live process.
      if (kill(pid, 0) == 0 || errno != ESRCH) continue;
      std::error_code remove_ec;
      std::filesystem::remove_all(entry.path(), remove_ec);
      std::cerr << "removed stale " << entry.path() << "\n";
    }
  }
}

absl::Status RemoveStaleLeftovers(absl::string_view tag) {
  absl::StatusOr<int> removed = netns::CleanupStaleNamespaces();
  if (!removed.ok()) return removed.status();
  RemoveStaleScratch(tag);
  return absl::OkStatus();
}

std::string ScratchWorkDir(absl::string_view tag) {
  return absl::StrCat("/tmp/", ScratchName(tag));
}

std::string ScratchPinRoot(absl::string_view tag) {
  return absl::StrCat("/sys/fs/bpf/", ScratchName(tag));
}

absl::Status FreshScratch(const std::string& work_dir,
                          const std::string& pin_root) {
  std::error_code ec;
  std::filesystem::remove_all(work_dir, ec);
  std::filesystem::remove_all(pin_root, ec);
  if (!std::filesystem::create_directories(work_dir, ec)) {
    return absl::InternalError(absl::StrCat(work_dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

RemoveOnExit::~RemoveOnExit() {
  for (const std::string& path : paths_) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) std::cerr << "remove " << path << ": " << ec.message() << "\n";
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Tail(const std::string& text, int lines) {
  std::vector<absl::string_view> all = absl::StrSplit(text, '\n');
  size_t from =
      all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0;
  return absl::StrJoin(all.begin() + from, all.end(), "\n");
}

}  // namespace switchyard::e2e
