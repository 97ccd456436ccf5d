// SPDX-License-Identifier: Apache-2.0
// A bpffs folder of one test process, /sys/fs/bpf/<prefix><pid>, removed
// with everything pinned in it when the test ends; folders left by earlier
// runs whose process is gone (a crash skips every destructor) are removed
// when the next one starts.
#ifndef SWITCHYARD_TESTS_BPF_SCOPED_PIN_ROOT_H_
#define SWITCHYARD_TESTS_BPF_SCOPED_PIN_ROOT_H_

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace switchyard::testing {

class ScopedPinRoot {
 public:
  // `prefix` names the test, e.g. "switchyard-inspect-test-".
  explicit ScopedPinRoot(absl::string_view prefix)
      : root_(absl::StrCat(kBpffs, "/", prefix, static_cast<long>(getpid()))) {
    RemoveStale(prefix);
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);  // an earlier test's
  }
  ~ScopedPinRoot() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  ScopedPinRoot(const ScopedPinRoot&) = delete;
  ScopedPinRoot& operator=(const ScopedPinRoot&) = delete;

  const std::string& root() const { return root_; }
  std::string Node(absl::string_view node) const {
    return absl::StrCat(root_, "/", node);
  }

 private:
  static constexpr char kBpffs[] = "/sys/fs/bpf";

  static void RemoveStale(absl::string_view prefix) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(kBpffs, ec)) {
      const std::string name = entry.path().filename().string();
      if (!absl::StartsWith(name, prefix)) continue;
      long pid = 0;
      const char* digits = name.data() + prefix.size();
      auto [end, err] = std::from_chars(digits, name.data() + name.size(), pid);
      if (err != std::errc() || end != name.data() + name.size()) continue;
      // A live process's folder belongs to a test running now.
      if (pid == getpid() || kill(pid, 0) == 0 || errno == EPERM) continue;
      std::error_code ignored;
      std::filesystem::remove_all(entry.path(), ignored);
    }
  }

  std::string root_;
};

}  // namespace switchyard::testing

#endif  // SWITCHYARD_TESTS_BPF_SCOPED_PIN_ROOT_H_
