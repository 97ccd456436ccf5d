// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/bpf_map.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"

namespace switchyard::kernel {
namespace {

// The kernel's ENOTSUPP, which user space headers do not name: what a map
// type without batch operations (an LPM trie) answers.
constexpr int kKernelEnotsupp = 524;

bool BatchUnsupported(int err) {
  return err == EINVAL || err == ENOTSUP || err == EOPNOTSUPP ||
         err == kKernelEnotsupp;
}

}  // namespace

absl::StatusOr<BpfMap> BpfMap::OpenPinned(absl::string_view path,
                                          std::string name) {
  const std::string p(path);
  ScopedFd fd(bpf_obj_get(p.c_str()));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("open pinned ", p));
  return BpfMap(std::move(fd), name.empty() ? p : std::move(name));
}

absl::StatusOr<BpfMap> BpfMap::OpenPinnedIn(absl::string_view pin_dir,
                                            absl::string_view name) {
  return OpenPinned(absl::StrCat(pin_dir, "/", name), std::string(name));
}

absl::StatusOr<BpfMap> BpfMap::OpenPinnedInIfPresent(absl::string_view pin_dir,
                                                     absl::string_view name) {
  absl::StatusOr<BpfMap> map = OpenPinnedIn(pin_dir, name);
  if (absl::IsNotFound(map.status())) return BpfMap();
  return map;
}

absl::StatusOr<BpfMap> BpfMap::OpenById(uint32_t id) {
  ScopedFd fd(bpf_map_get_fd_by_id(id));
  if (!fd.valid()) {
    return ErrnoStatus(errno, absl::StrCat("open map id ", id));
  }
  BpfMap map(std::move(fd), absl::StrCat("map id ", id));
  absl::StatusOr<BpfMapInfo> info = map.Info();
  if (!info.ok()) return info.status();
  map.name_ = info->name;
  return map;
}

BpfMap BpfMap::Of(const bpf_map* map, std::string name) {
  return BpfMap(ScopedFd(fcntl(bpf_map__fd(map), F_DUPFD_CLOEXEC, 0)),
                name.empty() ? bpf_map__name(map) : std::move(name));
}

absl::StatusOr<BpfMapInfo> BpfMap::Info() const {
  bpf_map_info info = {};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd(), &info, &len) != 0) {
    return ErrnoStatus(errno, absl::StrCat("map info of ", name_));
  }
  BpfMapInfo out;
  out.id = info.id;
  out.type = info.type;
  out.key_size = info.key_size;
  out.value_size = info.value_size;
  out.max_entries = info.max_entries;
  out.map_flags = info.map_flags;
  out.name.assign(info.name, strnlen(info.name, sizeof(info.name)));
  return out;
}

absl::StatusOr<uint32_t> BpfMap::MaxEntries() const {
  absl::StatusOr<BpfMapInfo> info = Info();
  if (!info.ok()) return info.status();
  return info->max_entries;
}

absl::StatusOr<int> BpfMap::PossibleCpus() {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return ErrnoStatus(cpus, "count possible CPUs");
  return cpus;
}

absl::StatusOr<bool> BpfMap::LookupRaw(const void* key, void* value) const {
  if (bpf_map_lookup_elem(fd(), key, value) == 0) return true;
  if (errno == ENOENT) return false;
  return ErrnoStatus(errno, absl::StrCat("lookup in ", name_));
}

absl::Status BpfMap::UpdateRaw(const void* key, const void* value,
                               uint64_t flags) {
  if (bpf_map_update_elem(fd(), key, value, flags) != 0) {
    return ErrnoStatus(errno, absl::StrCat("update ", name_));
  }
  return absl::OkStatus();
}

namespace {

// ENOTSUPP (524, kernel-internal) when the map type has no batch
// operation; EINVAL before 5.6, which knows no batch commands at all.
bool NoBatchCalls(int err, uint32_t done) {
  constexpr int kEnotsupp = 524;
  return err == kEnotsupp || err == EOPNOTSUPP || (err == EINVAL && done == 0);
}

}  // namespace

absl::Status BpfMap::UpdateBatchRaw(const void* keys, const void* values,
                                    uint32_t count, uint32_t& done) {
  done = count;
  if (count == 0) return absl::OkStatus();
  DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
  if (bpf_map_update_batch(fd(), keys, values, &done, &opts) == 0) {
    return absl::OkStatus();
  }
  const int err = errno;
  // After EFAULT the count is not to be trusted: claim nothing.
  if (err == EFAULT || done > count) done = 0;
  if (NoBatchCalls(err, done)) {
    return absl::UnimplementedError(
        ErrnoStatus(err, absl::StrCat("batch update of ", name_)).message());
  }
  return ErrnoStatus(err, absl::StrCat("batch update of ", name_));
}

absl::Status BpfMap::DeleteBatchRaw(const void* keys, uint32_t count,
                                    uint32_t& done) {
  done = count;
  if (count == 0) return absl::OkStatus();
  DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
  if (bpf_map_delete_batch(fd(), keys, &done, &opts) == 0) {
    return absl::OkStatus();
  }
  const int err = errno;
  if (err == EFAULT || done > count) done = 0;
  if (NoBatchCalls(err, done)) {
    return absl::UnimplementedError(
        ErrnoStatus(err, absl::StrCat("batch delete from ", name_)).message());
  }
  return ErrnoStatus(err, absl::StrCat("batch delete from ", name_));
}

absl::Status BpfMap::DeleteRaw(const void* key, bool missing_ok) {
  if (bpf_map_delete_elem(fd(), key) != 0 && !(missing_ok && errno == ENOENT)) {
    return ErrnoStatus(errno, absl::StrCat("delete from ", name_));
  }
  return absl::OkStatus();
}

absl::Status BpfMap::NotFound(uint32_t key) const {
  return ErrnoStatus(ENOENT, absl::StrCat("lookup in ", name_, " at ", key));
}

absl::Status BpfMap::ZeroRaw(uint32_t entries, size_t value_bytes) {
  std::vector<uint8_t> zeros(value_bytes);
  for (uint32_t key = 0; key < entries; ++key) {
    if (bpf_map_update_elem(fd(), &key, zeros.data(), BPF_ANY) != 0) {
      return ErrnoStatus(errno, absl::StrCat("zero ", name_));
    }
  }
  return absl::OkStatus();
}

absl::Status BpfMap::ForEachKeyRaw(
    size_t key_size, absl::FunctionRef<void(const void*)> visit) const {
  std::vector<uint8_t> key(key_size), next(key_size);
  const void* prev = nullptr;  // nullptr: the first key
  while (bpf_map_get_next_key(fd(), prev, next.data()) == 0) {
    visit(next.data());
    key.swap(next);
    prev = key.data();
  }
  if (errno != ENOENT) {
    return ErrnoStatus(errno, absl::StrCat("iterate ", name_));
  }
  return absl::OkStatus();
}

absl::Status BpfMap::ForEachEntryOneByOne(
    size_t key_size, size_t value_size,
    absl::FunctionRef<void(const void*, const void*)> visit) const {
  std::vector<uint8_t> value(value_size);
  absl::Status lookup_error;
  absl::Status s = ForEachKeyRaw(key_size, [&](const void* key) {
    if (!lookup_error.ok()) return;
    absl::StatusOr<bool> found = LookupRaw(key, value.data());
    if (!found.ok()) {
      lookup_error = found.status();
    } else if (*found) {
      visit(key, value.data());
    }  // else deleted since get_next_key: skipped
  });
  return lookup_error.ok() ? s : lookup_error;
}

absl::Status BpfMap::ForEachEntryRaw(
    size_t key_size, size_t value_size,
    absl::FunctionRef<void(const void*, const void*)> visit) const {
  // Hash batches stop at bucket boundaries and fail with ENOSPC (having
  // read nothing) when one bucket holds more than the batch: the batch
  // then grows.
  uint32_t batch = 4096;
  std::vector<uint8_t> keys(batch * key_size), values(batch * value_size);
  // The cursor is opaque: hash maps resume from a 4-byte bucket index,
  // arrays from a key. 8 zeroed bytes hold either.
  uint64_t token = 0;
  bool first = true;
  for (;;) {
    uint32_t count = batch;
    uint64_t in = token;
    int err = bpf_map_lookup_batch(fd(), first ? nullptr : &in, &token,
                                   keys.data(), values.data(), &count, nullptr);
    if (err != 0 && errno == ENOSPC && count == 0) {
      batch *= 2;
      keys.resize(batch * key_size);
      values.resize(batch * value_size);
      token = in;
      continue;
    }
    if (err != 0 && errno != ENOENT) {
      if (first && BatchUnsupported(errno)) {
        return ForEachEntryOneByOne(key_size, value_size, visit);
      }
      return ErrnoStatus(errno, absl::StrCat("batch read ", name_));
    }
    first = false;
    for (uint32_t i = 0; i < count; ++i) {
      visit(keys.data() + i * key_size, values.data() + i * value_size);
    }
    if (err != 0) break;  // ENOENT: that was the last batch
  }
  return absl::OkStatus();
}

}  // namespace switchyard::kernel
