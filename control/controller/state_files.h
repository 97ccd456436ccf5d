// SPDX-License-Identifier: Apache-2.0
// The cluster store's files, so that an acknowledged write survives a crash
// or restart. One directory holds:
//
//   LOCK      flock()ed while a store has the directory open; a second
//             controller on the same directory would interleave journals.
//   snapshot  every object at one version.
//   journal   one record per write since that snapshot, appended and
//             fdatasync()ed before the write is acknowledged.
//
// Both files are sequences of records: a 4-byte little-endian payload
// length, a 4-byte little-endian CRC-32 (zlib's) of the length bytes and
// the payload, then the payload, a binary v1.WatchResponse. Snapshot
// records have snapshot=true and carry objects in chunks; journal records
// are the deltas watchers receive (version, upserts as stored, deletes).
// Reusing WatchResponse keeps one schema for "a change to cluster state".
#ifndef SWITCHYARD_CONTROL_CONTROLLER_STATE_FILES_H_
#define SWITCHYARD_CONTROL_CONTROLLER_STATE_FILES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "control/common/scoped_fd.h"
#include "switchyard/v1/controller.pb.h"

namespace switchyard::controller {

// The binary WatchResponse for these fields, encoded straight from the
// caller's objects so a large write is not copied once more just to be
// journaled.
std::string EncodeWatchResponse(uint64_t version, bool snapshot,
                                absl::Span<const v1::Object* const> upserts,
                                absl::Span<const v1::ObjectRef> deletes);

class StateFiles {
 public:
  // Creates `dir` if needed and locks it. Fails with FailedPrecondition
  // when another store holds the lock.
  static absl::StatusOr<std::unique_ptr<StateFiles>> Open(
      const std::string& dir);
  StateFiles(const StateFiles&) = delete;
  StateFiles& operator=(const StateFiles&) = delete;

  struct Contents {
    uint64_t snapshot_version = 0;           // 0: no snapshot yet
    std::vector<v1::Object> objects;         // the snapshot's
    std::vector<v1::WatchResponse> journal;  // records after the snapshot
  };
  // Reads both files, once, before the first Append. A damaged last
  // journal record is what a crash in the middle of an append leaves: it
  // was never acknowledged, so it is dropped with a warning and cut off the
  // file. Damage anywhere else is DataLoss: acknowledged writes would be
  // missing, and starting anyway would hand agents a wrong state.
  absl::StatusOr<Contents> Load();

  // Appends one record and fdatasync()s it. On failure the file is cut
  // back to where it was, as far as possible.
  absl::Status Append(absl::string_view payload);

  // Replaces the snapshot (temp file, fsync, rename, fsync of the
  // directory, so a crash leaves the old or the new one, never half) and
  // then empties the journal. A crash between the two leaves journal
  // records the snapshot already has; Load skips them by version.
  absl::Status WriteSnapshot(uint64_t version,
                             absl::Span<const v1::Object* const> objects);

  size_t journal_records() const { return journal_records_; }
  uint64_t journal_bytes() const { return journal_bytes_; }
  const std::string& dir() const { return dir_; }

 private:
  StateFiles(std::string dir, ScopedFd lock, ScopedFd journal)
      : dir_(std::move(dir)),
        lock_(std::move(lock)),
        journal_(std::move(journal)) {}

  absl::Status SyncDir();

  std::string dir_;
  ScopedFd lock_;
  ScopedFd journal_;  // O_APPEND
  size_t journal_records_ = 0;
  uint64_t journal_bytes_ = 0;
};

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_STATE_FILES_H_
