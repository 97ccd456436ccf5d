// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/node_programs.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/common/errno_status.h"
#include "control/common/scoped_fd.h"
#include "control/kernel/bpf_map.h"

namespace switchyard::kernel {

absl::StatusOr<ProgramInfo> ReadProgramInfo(uint32_t id) {
  ScopedFd fd(bpf_prog_get_fd_by_id(id));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("no program with id ", id));
    }
    return ErrnoStatus(errno, absl::StrCat("open program id ", id));
  }
  // Twice: first to learn how many maps, then to read their ids.
  bpf_prog_info info = {};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) {
    return ErrnoStatus(errno, absl::StrCat("program info of id ", id));
  }
  std::vector<uint32_t> map_ids(info.nr_map_ids);
  bpf_prog_info again = {};
  again.nr_map_ids = static_cast<uint32_t>(map_ids.size());
  again.map_ids = reinterpret_cast<uintptr_t>(map_ids.data());
  len = sizeof(again);
  if (bpf_obj_get_info_by_fd(fd.get(), &again, &len) != 0) {
    return ErrnoStatus(errno, absl::StrCat("map ids of program id ", id));
  }
  map_ids.resize(std::min<size_t>(map_ids.size(), again.nr_map_ids));

  ProgramInfo out;
  out.id = id;
  out.name.assign(info.name, strnlen(info.name, sizeof(info.name)));
  for (uint8_t byte : info.tag) absl::StrAppendFormat(&out.tag, "%02x", byte);
  out.map_ids = std::move(map_ids);
  return out;
}

absl::StatusOr<uint32_t> PinnedMapId(absl::string_view path) {
  absl::StatusOr<BpfMap> map = BpfMap::OpenPinned(path);
  if (!map.ok()) return map.status();
  absl::StatusOr<BpfMapInfo> info = map->Info();
  if (!info.ok()) return info.status();
  return info->id;
}

absl::StatusOr<std::vector<uint32_t>> NodeMapIds(absl::string_view pin_dir) {
  std::vector<uint32_t> ids;
  for (const char* name :
       {YARD_MAP_SVC4, YARD_MAP_SLOTS, YARD_MAP_BACKEND4, YARD_MAP_RNAT4,
        YARD_MAP_CT4, YARD_MAP_SVC_STATS, YARD_MAP_REASONS}) {
    absl::StatusOr<uint32_t> id = PinnedMapId(absl::StrCat(pin_dir, "/", name));
    if (!id.ok()) return id.status();
    ids.push_back(*id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool UsesNodeMaps(const ProgramInfo& program,
                  const std::vector<uint32_t>& node_map_ids) {
  // Any one map will do: yard_to_pod, for one, never touches yard_svc4.
  for (uint32_t id : program.map_ids) {
    if (std::binary_search(node_map_ids.begin(), node_map_ids.end(), id)) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<std::vector<ProgramInfo>> FindNodePrograms(
    absl::string_view pin_dir) {
  absl::StatusOr<std::vector<uint32_t>> node_maps = NodeMapIds(pin_dir);
  if (!node_maps.ok()) return node_maps.status();
  std::vector<ProgramInfo> found;
  uint32_t id = 0;
  while (bpf_prog_get_next_id(id, &id) == 0) {
    absl::StatusOr<ProgramInfo> info = ReadProgramInfo(id);
    // A program unloaded between the two calls is simply not there.
    if (absl::IsNotFound(info.status())) continue;
    if (!info.ok()) return info.status();
    if (info->name != kFromPodProgram && info->name != kToPodProgram &&
        info->name != kFromOutsideProgram && info->name != kToOutsideProgram &&
        info->name != kOutsideIngressProgram) {
      continue;
    }
    if (!UsesNodeMaps(*info, *node_maps)) continue;
    found.push_back(*std::move(info));
  }
  if (errno != ENOENT) return ErrnoStatus(errno, "list loaded programs");
  std::sort(
      found.begin(), found.end(),
      [](const ProgramInfo& a, const ProgramInfo& b) { return a.id > b.id; });
  return found;
}

absl::StatusOr<std::optional<std::vector<uint8_t>>> ReadProgramRodata(
    const ProgramInfo& program) {
  for (uint32_t map_id : program.map_ids) {
    absl::StatusOr<BpfMap> map = BpfMap::OpenById(map_id);
    if (!map.ok()) continue;  // unloaded meanwhile
    absl::StatusOr<BpfMapInfo> info = map->Info();
    if (!info.ok()) return info.status();
    // libbpf names it "<object>.rodata" (cut to 15 characters).
    if (info->type != BPF_MAP_TYPE_ARRAY ||
        !absl::EndsWith(info->name, ".rodata")) {
      continue;
    }
    std::vector<uint8_t> value(info->value_size);
    const uint32_t key = 0;
    absl::StatusOr<bool> found = map->LookupRaw(&key, value.data());
    if (!found.ok()) return found.status();
    if (!*found) return ErrnoStatus(ENOENT, absl::StrCat("read ", info->name));
    return value;
  }
  return std::nullopt;
}

std::optional<yard_config> ConfigFromRodata(
    const std::vector<uint8_t>& rodata) {
  if (rodata.size() != sizeof(yard_config)) return std::nullopt;
  yard_config config;
  std::memcpy(&config, rodata.data(), sizeof(config));
  return config;
}

}  // namespace switchyard::kernel
