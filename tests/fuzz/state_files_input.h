// SPDX-License-Identifier: Apache-2.0
// The state_files_fuzz input format, shared by the target and the program
// that writes its seeds: one flags byte, then (when FLAG_SNAPSHOT) a
// 16-bit little-endian length and the snapshot file's bytes, then the
// journal file's bytes to the end.
#ifndef SWITCHYARD_TESTS_FUZZ_STATE_FILES_INPUT_H_
#define SWITCHYARD_TESTS_FUZZ_STATE_FILES_INPUT_H_

#include <cstdint>
#include <string>

namespace switchyard::fuzz {

enum StateFilesFlags : uint8_t {
  kHasSnapshot = 1,     // write a snapshot file
  kHasJournal = 2,      // write a journal file (else it is missing)
  kAcknowledged = 4,    // the "acknowledged" marker exists
  kKeepReadable = 8,    // Load(Damage::kKeepReadable)
  kResealJournal = 16,  // fix the journal's CRCs, so mutated payloads and
                        // lengths get past them
};

inline std::string PackStateFiles(uint8_t flags, const std::string& snapshot,
                                  const std::string& journal) {
  std::string out(1, static_cast<char>(flags));
  if (flags & kHasSnapshot) {
    out.push_back(static_cast<char>(snapshot.size() & 0xff));
    out.push_back(static_cast<char>(snapshot.size() >> 8));
    out += snapshot;
  }
  return out + journal;
}

}  // namespace switchyard::fuzz

#endif  // SWITCHYARD_TESTS_FUZZ_STATE_FILES_INPUT_H_
