// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/pinned_layout.h"

#include "absl/strings/str_cat.h"

namespace switchyard::kernel {

absl::StatusOr<std::optional<uint32_t>> ReadPinnedLayout(
    absl::string_view pin_dir) {
  absl::StatusOr<BpfMap> map =
      BpfMap::OpenPinned(absl::StrCat(pin_dir, "/", YARD_MAP_LAYOUT));
  if (absl::IsNotFound(map.status())) return std::nullopt;
  if (!map.ok()) return map.status();
  // The map is meant never to change shape; should it ever, reading a
  // larger value into this one would write past it.
  absl::StatusOr<BpfMapInfo> info = map->Info();
  if (!info.ok()) return info.status();
  if (info->key_size != sizeof(uint32_t) ||
      info->value_size != sizeof(yard_layout_value) || info->max_entries < 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        map->name(), " is not a layout record this build can read (",
        info->key_size, "-byte key, ", info->value_size, "-byte value, ",
        info->max_entries, " entries)"));
  }
  absl::StatusOr<std::optional<yard_layout_value>> value =
      map->Lookup<yard_layout_value>(uint32_t{0});
  if (!value.ok()) return value.status();
  // 0: the map was pinned by a load whose agent stopped before writing it.
  if (!value->has_value() || (*value)->version == 0) return std::nullopt;
  return (*value)->version;
}

absl::Status RecordLayout(BpfMap& yard_layout) {
  yard_layout_value value = {};
  value.version = kLayoutVersion;
  return yard_layout.Update(uint32_t{0}, value);
}

absl::Status CheckLayoutToRead(absl::string_view pin_dir) {
  absl::StatusOr<std::optional<uint32_t>> pinned = ReadPinnedLayout(pin_dir);
  if (!pinned.ok()) return pinned.status();
  if (!pinned->has_value() || **pinned == kLayoutVersion) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat("the maps pinned in ", pin_dir, " are of layout ", **pinned,
                   "; this yardctl reads layout ", kLayoutVersion,
                   ". Use the yardctl that came with the node's agent."));
}

}  // namespace switchyard::kernel
