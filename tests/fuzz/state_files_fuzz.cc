// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the controller's state-file loader (StateFiles::Load)
// on arbitrary snapshot and journal contents (format: state_files_input.h),
// written to a scratch directory on tmpfs. What must hold, from
// state_files.h:
//   - Load returns contents or a status, never crashes; with
//     kKeepReadable it always starts;
//   - the journal records it returns are exactly the leading intact
//     records of a format-2 journal (after the snapshot's version): never
//     a record past damage;
//   - with kRefuse, whatever follows those records is a torn append (an
//     incomplete record or header at the very end, or zeros), never a
//     complete record that fails its checksum;
//   - a loaded snapshot is every record of the file, all intact;
//   - after a successful load, a record appended is there on the next
//     load: recovery leaves a journal that can be written again.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "control/common/log.h"
#include "control/controller/state_files.h"
#include "google/protobuf/stubs/logging.h"
#include "tests/fuzz/state_files_input.h"

namespace {

namespace v1 = switchyard::v1;
using switchyard::controller::StateFiles;
namespace fuzz = switchyard::fuzz;

constexpr absl::string_view kJournalMagic = "yardJNL2";
constexpr absl::string_view kSnapshotMagic = "yardSNP2";
constexpr size_t kHeaderBytes = 12;
constexpr uint32_t kMaxRecordBytes = 1u << 30;

std::string* scratch_dir = nullptr;  // made once, emptied per input

uint32_t Le32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}
void PutLe32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t Crc(absl::string_view bytes) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()),
            static_cast<uInt>(bytes.size())));
}

// An independent reading of a format-2 file: its leading intact records,
// where they end, and whether what follows is a torn append.
struct Records {
  std::vector<v1::WatchResponse> intact;
  size_t end = 0;
  bool torn_tail = true;  // nothing after `end`, or only a torn append
};

Records ReadFormat2(absl::string_view data) {
  Records out;
  size_t offset = kJournalMagic.size();
  while (offset < data.size()) {
    absl::string_view rest = data.substr(offset);
    if (rest.find_first_not_of('\0') == rest.npos) break;  // zero tail
    if (rest.size() < kHeaderBytes) break;                 // partial header
    uint32_t length = Le32(rest.data());
    bool header_ok = Crc(rest.substr(0, 8)) == Le32(rest.data() + 8) &&
                     length > 0 && length <= kMaxRecordBytes;
    if (!header_ok) {
      out.torn_tail = false;
      break;
    }
    if (rest.size() - kHeaderBytes < length) break;  // incomplete record
    absl::string_view payload = rest.substr(kHeaderBytes, length);
    v1::WatchResponse record;
    if (Crc(payload) != Le32(rest.data() + 4) ||
        !record.ParseFromArray(payload.data(), static_cast<int>(length))) {
      out.torn_tail = false;
      break;
    }
    out.intact.push_back(std::move(record));
    offset += kHeaderBytes + length;
  }
  out.end = offset;
  return out;
}

// Recomputes every record's CRCs along the lengths as they stand.
void Reseal(std::string& journal) {
  if (!absl::StartsWith(journal, kJournalMagic)) return;
  size_t offset = kJournalMagic.size();
  while (journal.size() - offset >= kHeaderBytes) {
    char* header = journal.data() + offset;
    uint32_t length = Le32(header);
    if (length == 0 || length > journal.size() - offset - kHeaderBytes) return;
    PutLe32(header + 4, Crc(absl::string_view(header + kHeaderBytes, length)));
    PutLe32(header + 8, Crc(absl::string_view(header, 8)));
    offset += kHeaderBytes + length;
  }
}

void WriteFile(const std::string& path, absl::string_view data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, data.data(), data.size()) !=
                    static_cast<ssize_t>(data.size())) {
    std::perror(path.c_str());
    std::abort();
  }
  close(fd);
}

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

bool SameRecords(const std::vector<v1::WatchResponse>& a,
                 const std::vector<v1::WatchResponse>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].SerializeAsString() != b[i].SerializeAsString()) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  switchyard::log_internal::SetMinSeverity(
      switchyard::log_internal::Severity::kError);
  // protobuf logs each string field that is not UTF-8; parsing fails
  // either way, and the log is noise at this rate.
  google::protobuf::SetLogHandler(nullptr);
  // tmpfs: Load fsyncs when it cuts a journal, and disks make that slow.
  const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string tmpl = std::string(base) + "/yard-state-fuzz-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  scratch_dir = new std::string(tmpl);
  std::atexit([] { std::filesystem::remove_all(*scratch_dir); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  uint8_t flags = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  std::optional<std::string> snapshot;
  if (flags & fuzz::kHasSnapshot) {
    if (in.size() < 2) return 0;
    size_t length =
        static_cast<uint8_t>(in[0]) | size_t{static_cast<uint8_t>(in[1])} << 8;
    in.remove_prefix(2);
    length = std::min(length, in.size());
    snapshot = std::string(in.substr(0, length));
    in.remove_prefix(length);
  }
  std::string journal(in);
  if (flags & fuzz::kResealJournal) Reseal(journal);

  std::filesystem::remove_all(*scratch_dir);
  std::filesystem::create_directory(*scratch_dir);
  const std::string& dir = *scratch_dir;
  if (snapshot) WriteFile(dir + "/snapshot", *snapshot);
  if (flags & fuzz::kHasJournal) WriteFile(dir + "/journal", journal);
  if (flags & fuzz::kAcknowledged) WriteFile(dir + "/acknowledged", "");
  bool keep_readable = flags & fuzz::kKeepReadable;

  uint64_t last_version = 0;
  {
    absl::StatusOr<std::unique_ptr<StateFiles>> files = StateFiles::Open(dir);
    if (!files.ok()) Fail("Open failed on a fresh directory");
    absl::StatusOr<StateFiles::Contents> contents =
        (*files)->Load(keep_readable ? StateFiles::Damage::kKeepReadable
                                     : StateFiles::Damage::kRefuse);
    if (!contents.ok()) {
      if (keep_readable) Fail("Load refused with kKeepReadable");
      if (contents.status().code() != absl::StatusCode::kDataLoss) {
        Fail("Load refused with a status other than DATA_LOSS");
      }
      return 0;
    }
    last_version = contents->snapshot_version;

    if (snapshot && absl::StartsWith(*snapshot, kSnapshotMagic)) {
      Records read = ReadFormat2(*snapshot);
      size_t objects = 0;
      for (const v1::WatchResponse& r : read.intact)
        objects += r.upserts_size();
      if (!keep_readable &&
          (read.end != snapshot->size() || read.intact.empty())) {
        Fail("a damaged snapshot was loaded with kRefuse");
      }
      if (contents->objects.size() > objects) {
        Fail("more snapshot objects than intact snapshot records hold");
      }
    }

    if ((flags & fuzz::kHasJournal) &&
        absl::StartsWith(journal, kJournalMagic)) {
      Records read = ReadFormat2(journal);
      std::vector<v1::WatchResponse> expected;
      for (const v1::WatchResponse& r : read.intact) {
        if (r.version() > contents->snapshot_version) expected.push_back(r);
      }
      if (!SameRecords(expected, contents->journal)) {
        Fail("the journal records loaded are not the leading intact ones");
      }
      if (!keep_readable && !read.torn_tail) {
        Fail("damage after the intact records was taken for a torn append");
      }
      if (std::filesystem::file_size(dir + "/journal") != read.end) {
        Fail("the journal was not cut to its intact records");
      }
    }
    for (const v1::WatchResponse& r : contents->journal) {
      last_version = std::max(last_version, r.version());
    }
    // What the store does next: rewrite damaged or old files, then append.
    std::vector<const v1::Object*> objects;
    for (const v1::Object& o : contents->objects) objects.push_back(&o);
    if (contents->rewrite) {
      if (!(*files)->WriteSnapshot(last_version, objects).ok()) {
        Fail("WriteSnapshot failed after a load");
      }
    }
    std::string payload = switchyard::controller::EncodeWatchResponse(
        last_version + 1, false, {}, {});
    if (!(*files)->Append(payload).ok()) Fail("Append failed after a load");
  }
  // The lock is released with the first StateFiles: load again.
  absl::StatusOr<std::unique_ptr<StateFiles>> files = StateFiles::Open(dir);
  if (!files.ok()) Fail("reopen failed");
  absl::StatusOr<StateFiles::Contents> again = (*files)->Load();
  if (!again.ok()) {
    std::fprintf(stderr, "%s\n", again.status().ToString().c_str());
    Fail("the files refused to load after a successful load and an append");
  }
  if (again->journal.empty() ||
      again->journal.back().version() != last_version + 1) {
    Fail("an appended record is missing on the next load");
  }
  return 0;
}
