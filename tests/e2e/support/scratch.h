// SPDX-License-Identifier: Apache-2.0
// Scratch folders of e2e tests: /tmp and /sys/fs/bpf folders named after
// the test process ("ysy<pid>-<tag>", like its namespaces), so a later run
// can tell a dead run's leftovers by the pid and remove them.
#ifndef SWITCHYARD_TESTS_E2E_SUPPORT_SCRATCH_H_
#define SWITCHYARD_TESTS_E2E_SUPPORT_SCRATCH_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace switchyard::e2e {

// "ysy<pid>-<tag>": netns::NamePrefix() followed by `tag`.
std::string ScratchName(absl::string_view tag);

// Removes /tmp and /sys/fs/bpf folders named ScratchName(tag) by runs
// whose process is gone (killed before its destructors ran).
void RemoveStaleScratch(absl::string_view tag);

// What a dead run of this test left: namespaces (netns::
// CleanupStaleNamespaces) and folders (RemoveStaleScratch). For
// SetUpTestSuite, before anything of this run exists.
absl::Status RemoveStaleLeftovers(absl::string_view tag);

// /tmp/ScratchName(tag): logs, the controller's socket and state.
std::string ScratchWorkDir(absl::string_view tag);
// /sys/fs/bpf/ScratchName(tag): the agents' --bpffs_root, so runs never
// share pins.
std::string ScratchPinRoot(absl::string_view tag);

// Starts a test from nothing: both folders removed (a crashed earlier test
// of this process may have left them), then `work_dir` created empty.
absl::Status FreshScratch(const std::string& work_dir,
                          const std::string& pin_root);

// Deletes folders (pins, scratch) when destroyed, whatever the outcome.
// Declared before the processes that use the folders, so it runs last.
class RemoveOnExit {
 public:
  RemoveOnExit() = default;
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;
  ~RemoveOnExit();

  void Add(std::string path) { paths_.push_back(std::move(path)); }

 private:
  std::vector<std::string> paths_;
};

// The whole file; "" when it cannot be read (logs that never appeared).
std::string ReadFile(const std::string& path);

// The last `lines` lines of `text`.
std::string Tail(const std::string& text, int lines);

}  // namespace switchyard::e2e

#endif  // SWITCHYARD_TESTS_E2E_SUPPORT_SCRATCH_H_
