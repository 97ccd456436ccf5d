// SPDX-License-Identifier: Apache-2.0
// The cluster store's files, so that an acknowledged write survives a crash
// or restart. One directory holds:
//
//   LOCK          flock()ed while a store has the directory open; a second
//                 controller on the same directory would interleave
//                 journals.
//   snapshot      every object at one version.
//   journal       one record per write since that snapshot, appended and
//                 fdatasync()ed before the write is acknowledged.
//   acknowledged  an empty file created (and made durable) once the first
//                 write is: from then on a missing or emptied journal, or
//                 no record anywhere, is lost data, not a fresh start.
//   state_id      the id of this state's history (state_id.h), one line;
//                 replaced whole (temp file, fsync, rename, fsync of the
//                 directory). Missing, a new one is made: that only costs
//                 every agent a snapshot.
//   stopped_cleanly  an empty file made (durably) by a store that closed
//                 with every write durable, and removed (durably) by the
//                 next one to open the directory. Writes are streamed to
//                 agents before their fdatasync; after any other stop a
//                 streamed write may be lost, so the history it belonged
//                 to must not be continued: a new state_id is made.
//
// Format 2 (written since issue 13). Each file starts with 8 magic bytes
// ("yardJNL2" / "yardSNP2"), then records: a 12-byte header (payload
// length, CRC-32 of the payload, CRC-32 of those 8 header bytes; all
// little-endian, zlib's CRC) and the payload, a binary v1.WatchResponse.
// The header's own CRC is what tells a damaged length from a torn write:
// only a record with a sound header that runs past the end of the file (or
// a partial header at the very end) is a torn append.
//
// Format 1 (no magic; 8-byte header: length, CRC-32 of length + payload)
// is still read, with the old rule that any unreadable last record is
// torn (without a header CRC a damaged length cannot be told apart), and
// converted on load: the store writes a format-2 snapshot and journal
// before its first write. Old files are recognised because "yard" read as
// a format-1 length is beyond the largest record.
//
// Snapshot records have snapshot=true and carry objects in chunks; journal
// records are the deltas watchers receive (version, upserts as stored,
// deletes). Reusing WatchResponse keeps one schema for "a change to
// cluster state".
#ifndef SWITCHYARD_CONTROL_CONTROLLER_STATE_FILES_H_
#define SWITCHYARD_CONTROL_CONTROLLER_STATE_FILES_H_

#include <cstdint>
#include <memory>
#include <optional>
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
// A delta (not a snapshot) of upserts only, each already encoded.
std::string EncodeWatchResponse(uint64_t version,
                                absl::Span<const absl::string_view> upserts);

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
    // The files should be rewritten (WriteSnapshot) before the first
    // Append: they are in format 1, or recovery dropped damaged parts.
    bool rewrite = false;
  };
  enum class Damage {
    kRefuse,        // any damage is DataLoss
    kKeepReadable,  // keep what precedes it, log what is dropped
  };
  // Reads both files, once, before the first Append. An incomplete last
  // journal record is what a crash in the middle of an append leaves: it
  // was never acknowledged, so it is dropped with a warning and cut off the
  // file. Anything else (a header or payload failing its CRC, a missing or
  // emptied file once a write was acknowledged) is DataLoss naming the
  // file, byte offset and last good version: starting anyway would hand
  // agents a wrong state. With kKeepReadable the operator asked to start
  // from what is readable: damage ends the readable part instead.
  absl::StatusOr<Contents> Load(Damage damage = Damage::kRefuse);

  // Appends one record, not yet durable: Sync makes it so. On failure the
  // file is cut back to where it was, as far as possible.
  absl::Status Append(absl::string_view payload);
  // Makes every appended record durable (fdatasync). Safe to call while
  // another thread Appends; not while one writes a snapshot.
  absl::Status Sync();

  // Whether the last store to close this directory did so with every
  // write durable. Also removes the mark, durably, so that a crash from
  // here on reads as one. Call once, after Load.
  absl::StatusOr<bool> TakeStoppedCleanly();
  // Leaves the mark TakeStoppedCleanly reads; call last, after Sync.
  absl::Status MarkStoppedCleanly();

  // Replaces the snapshot (temp file, fsync, rename, fsync of the
  // directory, so a crash leaves the old or the new one, never half) and
  // then replaces the journal by an empty one the same way. A crash
  // between the two leaves journal records the snapshot already has; Load
  // skips them by version.
  absl::Status WriteSnapshot(uint64_t version,
                             absl::Span<const v1::Object* const> objects);

  // The state_id file's id; "" when there is none or it does not hold
  // one (a new id is then in order, not an error).
  absl::StatusOr<std::string> ReadStateId() const;
  // Replaces the state_id file durably.
  absl::Status WriteStateId(absl::string_view id);

  size_t journal_records() const { return journal_records_; }
  uint64_t journal_bytes() const { return journal_bytes_; }
  const std::string& dir() const { return dir_; }

 private:
  StateFiles(std::string dir, ScopedFd lock)
      : dir_(std::move(dir)), lock_(std::move(lock)) {}

  std::string Path(absl::string_view file) const;
  absl::Status SyncDir();
  // Reads the snapshot into `contents`; false when there is none.
  absl::StatusOr<bool> LoadSnapshot(Damage damage, Contents& contents);
  // Reads the journal's records after the snapshot into `contents`;
  // `cut_at` is where an unreadable tail starts (cut once Load accepts).
  absl::Status LoadJournal(Damage damage, bool acknowledged, Contents& contents,
                           std::optional<uint64_t>& cut_at);
  // Cuts the journal to its first `bytes`, durably.
  absl::Status TruncateJournal(uint64_t bytes);
  // Puts an empty format-2 journal in place atomically and opens it.
  absl::Status ResetJournal();
  // Creates the "acknowledged" marker, durably, unless it exists.
  absl::Status MarkAcknowledged();

  std::string dir_;
  ScopedFd lock_;
  ScopedFd journal_;  // O_APPEND; opened by Load
  bool acknowledged_ = false;
  size_t journal_records_ = 0;
  uint64_t journal_bytes_ = 0;
};

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_STATE_FILES_H_
