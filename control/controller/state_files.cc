// SPDX-License-Identifier: Apache-2.0
#include "control/controller/state_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"
#include "control/common/log.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace switchyard::controller {
namespace {

constexpr char kLockFile[] = "LOCK";
constexpr char kSnapshotFile[] = "snapshot";
constexpr char kSnapshotTempFile[] = "snapshot.tmp";
constexpr char kJournalFile[] = "journal";
constexpr size_t kHeaderBytes = 8;
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

uint32_t RecordCrc(const char* length_bytes, absl::string_view payload) {
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(length_bytes), 4);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(payload.data()),
              static_cast<uInt>(payload.size()));
  return static_cast<uint32_t>(crc);
}

void AppendRecord(std::string& out, absl::string_view payload) {
  char header[kHeaderBytes];
  PutLe32(header, static_cast<uint32_t>(payload.size()));
  PutLe32(header + 4, RecordCrc(header, payload));
  out.append(header, kHeaderBytes);
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

// One record of `data` starting at `offset`: its payload parsed into
// `message`, or why it is unreadable.
struct RecordRead {
  bool ok = false;
  size_t end = 0;  // offset after the record; past EOF when truncated
  std::string problem;
};
RecordRead ReadRecord(absl::string_view data, size_t offset,
                      v1::WatchResponse& message) {
  RecordRead result;
  if (data.size() - offset < kHeaderBytes) {
    result.end = offset + kHeaderBytes;
    result.problem = "truncated header";
    return result;
  }
  uint32_t length = GetLe32(data.data() + offset);
  uint32_t crc = GetLe32(data.data() + offset + 4);
  result.end = offset + kHeaderBytes + length;
  // Length 0 is never written (every record has a version) and is what a
  // zero-filled tail after a crash looks like; its CRC would match.
  if (length == 0 || length > kMaxRecordBytes) {
    result.end = std::max(result.end, offset + kHeaderBytes);
    result.problem = absl::StrCat("bad length ", length);
    return result;
  }
  if (result.end > data.size()) {
    result.problem = "truncated payload";
    return result;
  }
  absl::string_view payload = data.substr(offset + kHeaderBytes, length);
  if (RecordCrc(data.data() + offset, payload) != crc) {
    result.problem = "CRC mismatch";
    return result;
  }
  if (!message.ParseFromArray(payload.data(), static_cast<int>(length))) {
    result.problem = "unparsable payload";
    return result;
  }
  result.ok = true;
  return result;
}

bool AllZero(absl::string_view data) {
  return data.find_first_not_of('\0') == data.npos;
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
  std::string journal_path = absl::StrCat(dir, "/", kJournalFile);
  ScopedFd journal(open(journal_path.c_str(),
                        O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!journal.valid()) {
    return ErrnoStatus(errno, absl::StrCat("open ", journal_path));
  }
  std::unique_ptr<StateFiles> files(
      new StateFiles(dir, std::move(lock), std::move(journal)));
  // The journal's directory entry must be durable before the first
  // acknowledged append relies on it.
  if (absl::Status s = files->SyncDir(); !s.ok()) return s;
  return files;
}

absl::Status StateFiles::SyncDir() {
  ScopedFd fd(open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("open ", dir_));
  if (fsync(fd.get()) != 0) {
    return ErrnoStatus(errno, absl::StrCat("fsync ", dir_));
  }
  return absl::OkStatus();
}

absl::StatusOr<StateFiles::Contents> StateFiles::Load() {
  Contents contents;
  std::string snapshot_path = absl::StrCat(dir_, "/", kSnapshotFile);
  absl::StatusOr<std::string> snapshot = ReadFile(snapshot_path);
  if (snapshot.ok()) {
    // Written whole and renamed into place, so any damage here is real.
    size_t offset = 0;
    bool first = true;
    while (offset < snapshot->size() || first) {
      v1::WatchResponse chunk;
      RecordRead read = ReadRecord(*snapshot, offset, chunk);
      if (!read.ok || !chunk.snapshot() ||
          (!first && chunk.version() != contents.snapshot_version)) {
        return absl::DataLossError(absl::StrCat(
            snapshot_path, ": record at offset ", offset, " is damaged (",
            read.ok ? "not a snapshot record" : read.problem, ")"));
      }
      contents.snapshot_version = chunk.version();
      for (v1::Object& object : *chunk.mutable_upserts()) {
        contents.objects.push_back(std::move(object));
      }
      offset = read.end;
      first = false;
    }
  } else if (!absl::IsNotFound(snapshot.status())) {
    return snapshot.status();
  }

  std::string journal_path = absl::StrCat(dir_, "/", kJournalFile);
  absl::StatusOr<std::string> journal = ReadFile(journal_path);
  if (!journal.ok()) return journal.status();
  size_t offset = 0;
  while (offset < journal->size()) {
    v1::WatchResponse record;
    RecordRead read = ReadRecord(*journal, offset, record);
    if (!read.ok) {
      bool torn_tail = read.end >= journal->size() ||
                       AllZero(absl::string_view(*journal).substr(offset));
      if (!torn_tail) {
        return absl::DataLossError(absl::StrCat(
            journal_path, ": record at offset ", offset, " is damaged (",
            read.problem, ") and more records follow it"));
      }
      LOG(WARNING) << journal_path << ": dropping a damaged last record at "
                   << "offset " << offset << " (" << read.problem << ", "
                   << journal->size() - offset
                   << " bytes): a write interrupted before it was "
                      "acknowledged";
      if (ftruncate(journal_.get(), static_cast<off_t>(offset)) != 0) {
        return ErrnoStatus(errno, absl::StrCat("truncate ", journal_path));
      }
      if (fsync(journal_.get()) != 0) {
        return ErrnoStatus(errno, absl::StrCat("fsync ", journal_path));
      }
      break;
    }
    offset = read.end;
    ++journal_records_;
    if (record.version() > contents.snapshot_version) {
      contents.journal.push_back(std::move(record));
    }
  }
  journal_bytes_ = offset;
  return contents;
}

absl::Status StateFiles::Append(absl::string_view payload) {
  std::string record;
  record.reserve(kHeaderBytes + payload.size());
  AppendRecord(record, payload);
  std::string what = absl::StrCat("append to ", dir_, "/", kJournalFile);
  absl::Status status = WriteAll(journal_.get(), record, what);
  if (status.ok() && fdatasync(journal_.get()) != 0) {
    status =
        ErrnoStatus(errno, absl::StrCat("fdatasync ", dir_, "/", kJournalFile));
  }
  if (!status.ok()) {
    // Cut off whatever part of the record reached the file so a later
    // append does not land after garbage (which Load would call damage).
    if (ftruncate(journal_.get(), static_cast<off_t>(journal_bytes_)) != 0) {
      LOG(ERROR) << "could not cut " << dir_ << "/" << kJournalFile
                 << " back to " << journal_bytes_
                 << " bytes: " << ErrnoStatus(errno, "ftruncate").message();
    }
    return status;
  }
  ++journal_records_;
  journal_bytes_ += record.size();
  return absl::OkStatus();
}

absl::Status StateFiles::WriteSnapshot(
    uint64_t version, absl::Span<const v1::Object* const> objects) {
  std::string temp_path = absl::StrCat(dir_, "/", kSnapshotTempFile);
  std::string final_path = absl::StrCat(dir_, "/", kSnapshotFile);
  ScopedFd fd(
      open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("open ", temp_path));
  auto fail = [&](absl::Status status) {
    unlink(temp_path.c_str());
    return status;
  };
  std::string buffer;
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
  if (ftruncate(journal_.get(), 0) != 0) {
    return ErrnoStatus(errno,
                       absl::StrCat("truncate ", dir_, "/", kJournalFile));
  }
  if (fsync(journal_.get()) != 0) {
    return ErrnoStatus(errno, absl::StrCat("fsync ", dir_, "/", kJournalFile));
  }
  journal_records_ = 0;
  journal_bytes_ = 0;
  return absl::OkStatus();
}

}  // namespace switchyard::controller
