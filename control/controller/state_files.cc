// SPDX-License-Identifier: Apache-2.0
#include "control/controller/state_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"
#include "control/common/log.h"
#include "control/controller/state_id.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace switchyard::controller {
namespace {

constexpr char kLockFile[] = "LOCK";
constexpr char kSnapshotFile[] = "snapshot";
constexpr char kSnapshotTempFile[] = "snapshot.tmp";
constexpr char kJournalFile[] = "journal";
constexpr char kJournalTempFile[] = "journal.tmp";
constexpr char kAcknowledgedFile[] = "acknowledged";
constexpr char kStateIdFile[] = "state_id";
constexpr char kStateIdTempFile[] = "state_id.tmp";
constexpr char kStoppedCleanlyFile[] = "stopped_cleanly";
// Format 2's first bytes. "yard" as a format-1 length is 0x64726179, beyond
// kMaxRecordBytes, so no format-1 file starts like this.
constexpr absl::string_view kJournalMagic = "yardJNL2";
constexpr absl::string_view kSnapshotMagic = "yardSNP2";
constexpr size_t kMagicBytes = 8;
constexpr size_t kV1HeaderBytes = 8;
constexpr size_t kHeaderBytes = 12;
// A record larger than this is a corrupt length, not a real write.
constexpr uint32_t kMaxRecordBytes = 1u << 30;
// Objects per snapshot record: keeps each message (and the memory to parse
// it) small however big the cluster is.
constexpr size_t kSnapshotChunk = 1024;

// Protobuf wire format tags (field number << 3 | wire type).
constexpr uint32_t kVarint = 0;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t Tag(int field, uint32_t wire_type) {
  return static_cast<uint32_t>(field) << 3 | wire_type;
}

void PutLe32(char* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(value >> (8 * i));
}
uint32_t GetLe32(const char* in) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    value |= uint32_t{static_cast<unsigned char>(in[i])} << (8 * i);
  }
  return value;
}

uint32_t Crc(absl::string_view bytes, uLong crc = 0L) {
  return static_cast<uint32_t>(
      crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()),
            static_cast<uInt>(bytes.size())));
}

// Format 1's only CRC covered the length bytes and the payload together.
uint32_t V1RecordCrc(const char* length_bytes, absl::string_view payload) {
  return Crc(payload, Crc(absl::string_view(length_bytes, 4)));
}

// A format-2 record's header: the payload's length and CRC, and a CRC of
// those two.
std::array<char, kHeaderBytes> RecordHeader(absl::string_view payload) {
  std::array<char, kHeaderBytes> header;
  PutLe32(header.data(), static_cast<uint32_t>(payload.size()));
  PutLe32(header.data() + 4, Crc(payload));
  PutLe32(header.data() + 8, Crc(absl::string_view(header.data(), 8)));
  return header;
}

void AppendRecord(std::string& out, absl::string_view payload) {
  std::array<char, kHeaderBytes> header = RecordHeader(payload);
  out.append(header.data(), header.size());
  out.append(payload.data(), payload.size());
}

absl::Status WriteAll(int fd, absl::string_view data, absl::string_view what) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, what);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// The whole file, or NotFound when it does not exist.
absl::StatusOr<std::string> ReadFile(const std::string& path) {
  ScopedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("open ", path));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) {
    return ErrnoStatus(errno, absl::StrCat("stat ", path));
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = read(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, absl::StrCat("read ", path));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  return data;
}

bool AllZero(absl::string_view data) {
  return data.find_first_not_of('\0') == data.npos;
}

enum class Format { kV1, kV2 };

// One record of `data` starting at `offset`: its payload parsed into
// `message`, or why it is unreadable and whether that is a torn append.
struct RecordRead {
  enum Outcome { kOk, kTorn, kDamaged } outcome = kDamaged;
  size_t end = 0;  // offset after the record (when kOk)
  std::string problem;
};

RecordRead Torn(std::string problem) {
  return {RecordRead::kTorn, 0, std::move(problem)};
}
RecordRead Damaged(std::string problem) {
  return {RecordRead::kDamaged, 0, std::move(problem)};
}

RecordRead ParsePayload(absl::string_view payload, size_t end,
                        v1::WatchResponse& message) {
  if (!message.ParseFromArray(payload.data(),
                              static_cast<int>(payload.size()))) {
    return Damaged("unparsable payload");
  }
  return {RecordRead::kOk, end, ""};
}

// Format 2: the header is checked on its own first, so a length is only
// believed once its CRC matches.
RecordRead ReadV2Record(absl::string_view data, size_t offset,
                        v1::WatchResponse& message) {
  size_t left = data.size() - offset;
  // What some file systems show after a crash in an append: the size grew,
  // the data never landed. Acknowledged bytes were fdatasync()ed, so they
  // are never among these zeros.
  if (AllZero(data.substr(offset))) {
    return Torn(absl::StrCat("zero-filled tail of ", left, " bytes"));
  }
  if (left < kHeaderBytes) {
    return Torn(absl::StrCat("incomplete header (", left, " of ", kHeaderBytes,
                             " bytes)"));
  }
  const char* header = data.data() + offset;
  if (Crc(absl::string_view(header, 8)) != GetLe32(header + 8)) {
    return Damaged("header checksum mismatch");
  }
  uint32_t length = GetLe32(header);
  if (length == 0 || length > kMaxRecordBytes) {
    return Damaged(absl::StrCat("bad length ", length));
  }
  if (left - kHeaderBytes < length) {
    return Torn(absl::StrCat("incomplete record (", left - kHeaderBytes, " of ",
                             length, " payload bytes)"));
  }
  absl::string_view payload = data.substr(offset + kHeaderBytes, length);
  if (Crc(payload) != GetLe32(header + 4)) {
    return Damaged("payload checksum mismatch");
  }
  return ParsePayload(payload, offset + kHeaderBytes + length, message);
}

// Format 1, as it was always read: any record that does not read is torn
// if it reaches the end of the file (or only zeros follow), since nothing
// checks the length on its own.
RecordRead ReadV1Record(absl::string_view data, size_t offset,
                        v1::WatchResponse& message) {
  size_t left = data.size() - offset;
  bool zeros = AllZero(data.substr(offset));
  auto fail = [&](size_t end, std::string problem) {
    return end >= data.size() || zeros ? Torn(std::move(problem))
                                       : Damaged(std::move(problem));
  };
  if (left < kV1HeaderBytes) return fail(data.size(), "truncated header");
  uint32_t length = GetLe32(data.data() + offset);
  size_t end = offset + kV1HeaderBytes + length;
  if (length == 0 || length > kMaxRecordBytes) {
    return fail(offset + kV1HeaderBytes, absl::StrCat("bad length ", length));
  }
  if (end > data.size()) return fail(end, "truncated payload");
  absl::string_view payload = data.substr(offset + kV1HeaderBytes, length);
  if (V1RecordCrc(data.data() + offset, payload) !=
      GetLe32(data.data() + offset + 4)) {
    return fail(end, "CRC mismatch");
  }
  return ParsePayload(payload, end, message);
}

RecordRead ReadRecord(Format format, absl::string_view data, size_t offset,
                      v1::WatchResponse& message) {
  return format == Format::kV2 ? ReadV2Record(data, offset, message)
                               : ReadV1Record(data, offset, message);
}

// The format of a file's `data` and where its first record starts.
std::pair<Format, size_t> FormatOf(absl::string_view data,
                                   absl::string_view magic) {
  if (absl::StartsWith(data, magic)) return {Format::kV2, kMagicBytes};
  return {Format::kV1, 0};
}

absl::Status DataLoss(const std::string& path, size_t offset,
                      absl::string_view problem, uint64_t last_good_version) {
  return absl::DataLossError(absl::StrCat(
      path, ": damaged at byte offset ", offset, " (", problem,
      "); the last good version is ", last_good_version,
      ". Acknowledged writes would be missing, so the controller does not "
      "start; --recover_readable_state starts from what is readable and "
      "drops the rest."));
}

}  // namespace

std::string EncodeWatchResponse(uint64_t version, bool snapshot,
                                absl::Span<const v1::Object* const> upserts,
                                absl::Span<const v1::ObjectRef> deletes) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream raw(&out);
    google::protobuf::io::CodedOutputStream coded(&raw);
    if (version != 0) {
      coded.WriteTag(Tag(v1::WatchResponse::kVersionFieldNumber, kVarint));
      coded.WriteVarint64(version);
    }
    if (snapshot) {
      coded.WriteTag(Tag(v1::WatchResponse::kSnapshotFieldNumber, kVarint));
      coded.WriteVarint32(1);
    }
    for (const v1::Object* object : upserts) {
      coded.WriteTag(
          Tag(v1::WatchResponse::kUpsertsFieldNumber, kLengthDelimited));
      coded.WriteVarint32(static_cast<uint32_t>(object->ByteSizeLong()));
      object->SerializeWithCachedSizes(&coded);
    }
    for (const v1::ObjectRef& ref : deletes) {
      coded.WriteTag(
          Tag(v1::WatchResponse::kDeletesFieldNumber, kLengthDelimited));
      coded.WriteVarint32(static_cast<uint32_t>(ref.ByteSizeLong()));
      ref.SerializeWithCachedSizes(&coded);
    }
  }
  return out;
}

std::string EncodeWatchResponse(uint64_t version,
                                absl::Span<const absl::string_view> upserts) {
  using google::protobuf::io::CodedOutputStream;
  constexpr uint32_t kVersionTag =
      Tag(v1::WatchResponse::kVersionFieldNumber, kVarint);
  constexpr uint32_t kUpsertTag =
      Tag(v1::WatchResponse::kUpsertsFieldNumber, kLengthDelimited);
  // Sized first, then written once: grown as it went (a string behind a
  // CodedOutputStream), the 5 MB record of a cold write was reallocated,
  // copied and zero-filled again at every doubling.
  size_t size = 0;
  if (version != 0) {
    size += CodedOutputStream::VarintSize32(kVersionTag) +
            CodedOutputStream::VarintSize64(version);
  }
  for (absl::string_view object : upserts) {
    size +=
        CodedOutputStream::VarintSize32(kUpsertTag) +
        CodedOutputStream::VarintSize32(static_cast<uint32_t>(object.size())) +
        object.size();
  }
  std::string out;
  out.reserve(size);
  // Two varints of at most 10 bytes each (a 64-bit value).
  uint8_t varints[20];
  auto append_varints = [&](uint64_t first, uint64_t second) {
    uint8_t* end = CodedOutputStream::WriteVarint64ToArray(first, varints);
    end = CodedOutputStream::WriteVarint64ToArray(second, end);
    out.append(reinterpret_cast<const char*>(varints),
               static_cast<size_t>(end - varints));
  };
  if (version != 0) append_varints(kVersionTag, version);
  for (absl::string_view object : upserts) {
    append_varints(kUpsertTag, object.size());
    out.append(object.data(), object.size());
  }
  return out;
}

absl::StatusOr<std::unique_ptr<StateFiles>> StateFiles::Open(
    const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return ErrnoStatus(ec.value(), absl::StrCat("create state dir ", dir));
  }
  std::string lock_path = absl::StrCat(dir, "/", kLockFile);
  ScopedFd lock(open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock.valid())
    return ErrnoStatus(errno, absl::StrCat("open ", lock_path));
  if (flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat("state dir ", dir, " is in use by another controller (",
                       lock_path, " is locked)"));
    }
    return ErrnoStatus(errno, absl::StrCat("flock ", lock_path));
  }
  // The journal is opened by Load: whether it may be created depends on
  // what the directory held.
  return std::unique_ptr<StateFiles>(new StateFiles(dir, std::move(lock)));
}

std::string StateFiles::Path(absl::string_view file) const {
  return absl::StrCat(dir_, "/", file);
}

absl::Status StateFiles::SyncDir() {
  ScopedFd fd(open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("open ", dir_));
  if (fsync(fd.get()) != 0) {
    return ErrnoStatus(errno, absl::StrCat("fsync ", dir_));
  }
  return absl::OkStatus();
}

absl::Status StateFiles::MarkAcknowledged() {
  if (acknowledged_) return absl::OkStatus();
  std::string path = Path(kAcknowledgedFile);
  ScopedFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("create ", path));
  if (fsync(fd.get()) != 0) {
    return ErrnoStatus(errno, absl::StrCat("fsync ", path));
  }
  if (absl::Status s = SyncDir(); !s.ok()) return s;
  acknowledged_ = true;
  return absl::OkStatus();
}

absl::Status StateFiles::ResetJournal() {
  std::string temp_path = Path(kJournalTempFile);
  std::string final_path = Path(kJournalFile);
  // Opened before the rename and kept: appends must never go to a journal
  // that is no longer in the directory.
  ScopedFd fd(open(temp_path.c_str(),
                   O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("open ", temp_path));
  absl::Status s =
      WriteAll(fd.get(), kJournalMagic, absl::StrCat("write ", temp_path));
  if (s.ok() && fsync(fd.get()) != 0) {
    s = ErrnoStatus(errno, absl::StrCat("fsync ", temp_path));
  }
  if (s.ok() && rename(temp_path.c_str(), final_path.c_str()) != 0) {
    s = ErrnoStatus(errno, absl::StrCat("rename ", temp_path));
  }
  if (!s.ok()) {
    unlink(temp_path.c_str());
    return s;
  }
  journal_ = std::move(fd);
  journal_records_ = 0;
  journal_bytes_ = kMagicBytes;
  return SyncDir();
}

absl::Status StateFiles::TruncateJournal(uint64_t bytes) {
  std::string path = Path(kJournalFile);
  if (ftruncate(journal_.get(), static_cast<off_t>(bytes)) != 0) {
    return ErrnoStatus(errno, absl::StrCat("truncate ", path));
  }
  if (fsync(journal_.get()) != 0) {
    return ErrnoStatus(errno, absl::StrCat("fsync ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> StateFiles::LoadSnapshot(Damage damage,
                                              Contents& contents) {
  std::string path = Path(kSnapshotFile);
  absl::StatusOr<std::string> snapshot = ReadFile(path);
  if (absl::IsNotFound(snapshot.status())) return false;
  if (!snapshot.ok()) return snapshot.status();
  auto [format, offset] = FormatOf(*snapshot, kSnapshotMagic);
  if (format == Format::kV1) contents.rewrite = true;
  // Written whole and renamed into place, so any damage here is real, an
  // incomplete last record included.
  bool first = true;
  while (offset < snapshot->size() || first) {
    v1::WatchResponse chunk;
    RecordRead read = offset < snapshot->size()
                          ? ReadRecord(format, *snapshot, offset, chunk)
                          : Damaged("no record");
    if (read.outcome == RecordRead::kOk &&
        (!chunk.snapshot() ||
         (!first && chunk.version() != contents.snapshot_version))) {
      read = Damaged("not a record of this snapshot");
    }
    if (read.outcome != RecordRead::kOk) {
      if (damage == Damage::kRefuse) {
        return DataLoss(path, offset, read.problem, contents.snapshot_version);
      }
      LOG(WARNING) << path << ": recovering: dropping bytes " << offset << "-"
                   << snapshot->size() << " (" << snapshot->size() - offset
                   << " bytes, " << read.problem << "); kept "
                   << contents.objects.size() << " objects at version "
                   << contents.snapshot_version;
      contents.rewrite = true;
      break;
    }
    contents.snapshot_version = chunk.version();
    for (v1::Object& object : *chunk.mutable_upserts()) {
      contents.objects.push_back(std::move(object));
    }
    offset = read.end;
    first = false;
  }
  return true;
}

absl::Status StateFiles::LoadJournal(Damage damage, bool acknowledged,
                                     Contents& contents,
                                     std::optional<uint64_t>& cut_at) {
  std::string path = Path(kJournalFile);
  absl::StatusOr<std::string> journal = ReadFile(path);
  if (absl::IsNotFound(journal.status()) ||
      (journal.ok() && journal->empty())) {
    // Every journal this code creates starts with the magic; format 1
    // left an empty one. Once a write was acknowledged either is lost data.
    if (acknowledged && damage == Damage::kRefuse) {
      return DataLoss(
          path, 0,
          journal.ok() ? "the journal is empty" : "the journal is missing",
          contents.snapshot_version);
    }
    if (acknowledged) {
      LOG(WARNING) << path << ": recovering: the journal is "
                   << (journal.ok() ? "empty" : "missing")
                   << "; writes after version " << contents.snapshot_version
                   << " are lost";
      contents.rewrite = true;
    }
    return ResetJournal();
  }
  if (!journal.ok()) return journal.status();
  if (!acknowledged && journal->size() < kMagicBytes &&
      absl::StartsWith(kJournalMagic, *journal)) {
    LOG(WARNING) << path << ": the journal's creation was interrupted ("
                 << journal->size() << " bytes); it held no records";
    return ResetJournal();
  }
  auto [format, offset] = FormatOf(*journal, kJournalMagic);
  if (format == Format::kV1) {
    // The marker is only made once the files are in format 2, so a
    // format-1 journal here is not one: it was replaced or overwritten.
    if (acknowledged && damage == Damage::kRefuse) {
      return DataLoss(path, 0, "no format-2 header", contents.snapshot_version);
    }
    contents.rewrite = true;
  }
  uint64_t last_good_version = contents.snapshot_version;
  while (offset < journal->size()) {
    v1::WatchResponse record;
    RecordRead read = ReadRecord(format, *journal, offset, record);
    if (read.outcome == RecordRead::kTorn) {
      LOG(WARNING) << path << ": dropping an incomplete last record at byte "
                   << "offset " << offset << " (" << read.problem << ", "
                   << journal->size() - offset
                   << " bytes): an append that never completed, so it was "
                      "never acknowledged";
    } else if (read.outcome == RecordRead::kDamaged) {
      if (damage == Damage::kRefuse) {
        return DataLoss(path, offset, read.problem, last_good_version);
      }
      LOG(WARNING) << path << ": recovering: dropping bytes " << offset << "-"
                   << journal->size() << " (" << journal->size() - offset
                   << " bytes, " << read.problem
                   << "); the last good version is " << last_good_version;
      contents.rewrite = true;
    }
    if (read.outcome != RecordRead::kOk) {
      cut_at = offset;
      break;
    }
    offset = read.end;
    ++journal_records_;
    last_good_version = std::max(last_good_version, record.version());
    if (record.version() > contents.snapshot_version) {
      contents.journal.push_back(std::move(record));
    }
  }
  journal_bytes_ = offset;
  ScopedFd fd(open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("open ", path));
  journal_ = std::move(fd);
  return absl::OkStatus();
}

absl::StatusOr<StateFiles::Contents> StateFiles::Load(Damage damage) {
  Contents contents;
  struct stat st;
  bool acknowledged = stat(Path(kAcknowledgedFile).c_str(), &st) == 0;
  absl::StatusOr<bool> has_snapshot = LoadSnapshot(damage, contents);
  if (!has_snapshot.ok()) return has_snapshot.status();
  std::optional<uint64_t> cut_at;
  if (absl::Status s = LoadJournal(damage, acknowledged, contents, cut_at);
      !s.ok()) {
    return s;
  }
  if (acknowledged && !*has_snapshot && journal_records_ == 0) {
    // The first write is journaled before the marker is made, so some
    // record must be here; a snapshot file that went missing looks so too.
    std::string what =
        "no snapshot and no journal record, but a write was "
        "acknowledged";
    if (damage == Damage::kRefuse) {
      return DataLoss(Path(kJournalFile), journal_bytes_, what, 0);
    }
    LOG(WARNING) << dir_ << ": recovering: " << what << "; starting empty";
    contents.rewrite = true;
  }
  // Only now that the load is accepted: a refused start changes nothing.
  if (cut_at.has_value()) {
    if (absl::Status s = TruncateJournal(*cut_at); !s.ok()) return s;
  }
  acknowledged_ = acknowledged;
  // Directories written before the marker existed get it once their files
  // are in format 2 (after the store's rewrite, for format-1 ones).
  if (!contents.rewrite && (*has_snapshot || journal_records_ > 0)) {
    if (absl::Status s = MarkAcknowledged(); !s.ok()) return s;
  }
  return contents;
}

absl::Status StateFiles::Append(absl::string_view payload) {
  // The header, then the payload where it lies: copying a cold write's
  // 5 MB next to its header cost more than writing it. A crash between the
  // two writes leaves a torn last record, as a short write would, which
  // Load cuts off; neither is acknowledged before the fdatasync.
  std::array<char, kHeaderBytes> header = RecordHeader(payload);
  std::string what = absl::StrCat("append to ", Path(kJournalFile));
  absl::Status status = WriteAll(
      journal_.get(), absl::string_view(header.data(), header.size()), what);
  if (status.ok()) status = WriteAll(journal_.get(), payload, what);
  if (!status.ok()) {
    // Cut off whatever part of the record reached the file so a later
    // append does not land after garbage (which Load would call damage).
    if (ftruncate(journal_.get(), static_cast<off_t>(journal_bytes_)) != 0) {
      LOG(ERROR) << "could not cut " << Path(kJournalFile) << " back to "
                 << journal_bytes_
                 << " bytes: " << ErrnoStatus(errno, "ftruncate").message();
    }
    return status;
  }
  ++journal_records_;
  journal_bytes_ += kHeaderBytes + payload.size();
  return absl::OkStatus();
}

absl::Status StateFiles::Sync() {
  if (fdatasync(journal_.get()) != 0) {
    return ErrnoStatus(errno, absl::StrCat("fdatasync ", Path(kJournalFile)));
  }
  // After a record is durable, not before: a crash in the first append
  // must not leave a marker promising a record that never was. (Callers
  // Sync after an Append.)
  return MarkAcknowledged();
}

absl::StatusOr<bool> StateFiles::TakeStoppedCleanly() {
  std::string path = Path(kStoppedCleanlyFile);
  if (unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return false;
    return ErrnoStatus(errno, absl::StrCat("remove ", path));
  }
  if (absl::Status s = SyncDir(); !s.ok()) return s;
  return true;
}

absl::Status StateFiles::MarkStoppedCleanly() {
  std::string path = Path(kStoppedCleanlyFile);
  ScopedFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("create ", path));
  if (fsync(fd.get()) != 0) {
    return ErrnoStatus(errno, absl::StrCat("fsync ", path));
  }
  return SyncDir();
}

absl::StatusOr<std::string> StateFiles::ReadStateId() const {
  std::string path = Path(kStateIdFile);
  absl::StatusOr<std::string> text = ReadFile(path);
  if (absl::IsNotFound(text.status())) return std::string();
  if (!text.ok()) return text.status();
  absl::string_view id = absl::StripTrailingAsciiWhitespace(*text);
  if (!IsStateId(id)) {
    LOG(WARNING) << path << " does not hold a state id; making a new one";
    return std::string();
  }
  return std::string(id);
}

absl::Status StateFiles::WriteStateId(absl::string_view id) {
  std::string temp_path = Path(kStateIdTempFile);
  std::string final_path = Path(kStateIdFile);
  ScopedFd fd(
      open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("open ", temp_path));
  absl::Status s = WriteAll(fd.get(), absl::StrCat(id, "\n"),
                            absl::StrCat("write ", temp_path));
  if (s.ok() && fsync(fd.get()) != 0) {
    s = ErrnoStatus(errno, absl::StrCat("fsync ", temp_path));
  }
  fd.Reset();
  if (s.ok() && rename(temp_path.c_str(), final_path.c_str()) != 0) {
    s = ErrnoStatus(errno, absl::StrCat("rename ", temp_path));
  }
  if (!s.ok()) {
    unlink(temp_path.c_str());
    return s;
  }
  return SyncDir();
}

absl::Status StateFiles::WriteSnapshot(
    uint64_t version, absl::Span<const v1::Object* const> objects) {
  std::string temp_path = Path(kSnapshotTempFile);
  std::string final_path = Path(kSnapshotFile);
  ScopedFd fd(
      open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("open ", temp_path));
  auto fail = [&](absl::Status status) {
    unlink(temp_path.c_str());
    return status;
  };
  std::string buffer(kSnapshotMagic);
  size_t done = 0;
  do {
    size_t n = std::min(kSnapshotChunk, objects.size() - done);
    AppendRecord(buffer, EncodeWatchResponse(version, /*snapshot=*/true,
                                             objects.subspan(done, n), {}));
    done += n;
    if (buffer.size() >= (4u << 20) || done == objects.size()) {
      if (absl::Status s =
              WriteAll(fd.get(), buffer, absl::StrCat("write ", temp_path));
          !s.ok()) {
        return fail(s);
      }
      buffer.clear();
    }
  } while (done < objects.size());
  if (fsync(fd.get()) != 0) {
    return fail(ErrnoStatus(errno, absl::StrCat("fsync ", temp_path)));
  }
  fd.Reset();
  if (rename(temp_path.c_str(), final_path.c_str()) != 0) {
    return fail(ErrnoStatus(errno, absl::StrCat("rename ", temp_path)));
  }
  if (absl::Status s = SyncDir(); !s.ok()) return s;
  // From here the snapshot has every journaled write.
  if (absl::Status s = ResetJournal(); !s.ok()) return s;
  // After the reset: the marker promises format-2 files.
  return MarkAcknowledged();
}

}  // namespace switchyard::controller
