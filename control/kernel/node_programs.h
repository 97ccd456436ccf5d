// SPDX-License-Identifier: Apache-2.0
// The BPF programs the kernel holds for one node, found through the maps
// they use: a program belongs to a node when it uses one of that node's
// pinned maps. Program ids are global, so this works from any network
// namespace, and finds programs whose loader (the agent) has exited as long
// as a tc filter keeps them.
#ifndef SWITCHYARD_CONTROL_KERNEL_NODE_PROGRAMS_H_
#define SWITCHYARD_CONTROL_KERNEL_NODE_PROGRAMS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/kernel/abi.h"

namespace switchyard::kernel {

inline constexpr absl::string_view kFromPodProgram = "yard_from_pod";
inline constexpr absl::string_view kToPodProgram = "yard_to_pod";
// The external device's programs, as the kernel names them (cut to 15).
inline constexpr absl::string_view kFromOutsideProgram = "yard_from_outsi";
inline constexpr absl::string_view kToOutsideProgram = "yard_to_outside";
inline constexpr absl::string_view kOutsideIngressProgram = "yard_outside_in";

struct ProgramInfo {
  uint32_t id = 0;
  std::string name;  // as the kernel keeps it (at most 15 characters)
  // The kernel's hash of the instructions with map references blanked:
  // equal tags mean the same build of the program, whichever maps it uses.
  std::string tag;  // 16 hex digits
  std::vector<uint32_t> map_ids;
};

// Name, tag and maps of the program with this id; NOT_FOUND once gone.
absl::StatusOr<ProgramInfo> ReadProgramInfo(uint32_t id);

// The kernel id of the map pinned at `path`.
absl::StatusOr<uint32_t> PinnedMapId(absl::string_view path);

// The kernel ids of the maps pinned in pin_dir, sorted.
absl::StatusOr<std::vector<uint32_t>> NodeMapIds(absl::string_view pin_dir);

// Whether `program` uses any of `node_map_ids` (as NodeMapIds gives them).
bool UsesNodeMaps(const ProgramInfo& program,
                  const std::vector<uint32_t>& node_map_ids);

// Every loaded datapath program (pod and external-device ones) that uses
// the maps pinned in
// pin_dir, newest (highest id) first.
absl::StatusOr<std::vector<ProgramInfo>> FindNodePrograms(
    absl::string_view pin_dir);

// The read-only data (.rodata: struct yard_config and nothing else today)
// a loaded program was given, byte for byte. nullopt when it has none.
absl::StatusOr<std::optional<std::vector<uint8_t>>> ReadProgramRodata(
    const ProgramInfo& program);

// The config in `rodata` when it has the size this build expects.
std::optional<yard_config> ConfigFromRodata(const std::vector<uint8_t>& rodata);

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_NODE_PROGRAMS_H_
