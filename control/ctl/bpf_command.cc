// SPDX-License-Identifier: Apache-2.0
// `yardctl bpf ...`: reads the pinned maps, hands plain copies to
// bpf_format.
#include <arpa/inet.h>
#include <time.h>

#include <algorithm>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "control/ctl/bpf_format.h"
#include "control/ctl/node_commands.h"
#include "control/ctl/node_pins.h"
#include "control/kernel/datapath_maps.h"
#include "control/kernel/node_programs.h"

namespace switchyard::ctl {
namespace {

using kernel::DatapathMaps;

constexpr absl::string_view kBpfTables =
    "services, backends, revnat, ct, nat or stats";

uint64_t MonotonicNowNs() {
  timespec ts = {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull +
         static_cast<uint64_t>(ts.tv_nsec);
}

// The config the node's programs were loaded with, if any is loaded.
std::optional<yard_config> LoadedConfig(const std::string& pin_dir) {
  absl::StatusOr<std::vector<kernel::ProgramInfo>> programs =
      kernel::FindNodePrograms(pin_dir);
  if (!programs.ok() || programs->empty()) return std::nullopt;
  absl::StatusOr<std::optional<std::vector<uint8_t>>> rodata =
      kernel::ReadProgramRodata(programs->front());
  if (!rodata.ok() || !rodata->has_value()) return std::nullopt;
  return kernel::ConfigFromRodata(**rodata);
}

// The flow lifetimes the node's programs were loaded with; the build's
// defaults when none is loaded (nothing expires then anyway).
kernel::CtTimeouts Timeouts(const std::string& pin_dir) {
  std::optional<yard_config> config = LoadedConfig(pin_dir);
  return config ? kernel::CtTimeouts::Of(*config) : kernel::CtTimeouts();
}

absl::StatusOr<std::string> Render(absl::string_view table,
                                   const NodePins& pins,
                                   const DatapathMaps& maps,
                                   InspectOutput output) {
  if (table == "services" || table == "svc") {
    ServicesView view{.node = pins.node};
    auto frontends = maps.DumpFrontends();
    if (!frontends.ok()) return frontends.status();
    auto slots = maps.DumpSlots();
    if (!slots.ok()) return slots.status();
    auto backends = maps.DumpBackends();
    if (!backends.ok()) return backends.status();
    view.frontends = *std::move(frontends);
    view.slots = *std::move(slots);
    view.backends = *std::move(backends);
    auto counts = maps.DumpLeastConnCounts();
    if (!counts.ok()) return counts.status();
    for (const auto& [id, count] : *counts) {
      // The count as the datapath reads it: the low half, never below 0.
      view.active_flows[id] =
          std::max(0, static_cast<int32_t>(static_cast<uint32_t>(count.word)));
    }
    return FormatServices(view, output);
  }
  if (table == "backends") {
    auto backends = maps.DumpBackends();
    if (!backends.ok()) return backends.status();
    return FormatBackends(pins.node, *backends, output);
  }
  if (table == "revnat") {
    auto revnat = maps.DumpRevNat();
    if (!revnat.ok()) return revnat.status();
    return FormatRevNat(pins.node, *revnat, output);
  }
  if (table == "ct") {
    CtView view{.node = pins.node};
    auto entries = maps.DumpCt();
    if (!entries.ok()) return entries.status();
    view.entries = *std::move(entries);
    // Read after the dump, so no entry is newer than "now".
    view.now_ns = MonotonicNowNs();
    view.timeouts = Timeouts(pins.pin_dir);
    return FormatCt(view, output);
  }
  if (table == "nat") {
    NatView view{.node = pins.node};
    auto entries = maps.DumpCt();
    if (!entries.ok()) return entries.status();
    auto revnat = maps.DumpRevNat();
    if (!revnat.ok()) return revnat.status();
    view.entries = *std::move(entries);
    view.rev_nat = *std::move(revnat);
    std::optional<yard_config> config = LoadedConfig(pins.pin_dir);
    view.hairpin_addr_be =
        config ? config->hairpin_addr : htonl(YARD_DEFAULT_HAIRPIN_ADDR_HOST);
    return FormatNat(view, output);
  }
  if (table == "stats") {
    StatsView view{.node = pins.node};
    auto frontends = maps.DumpFrontends();
    if (!frontends.ok()) return frontends.status();
    view.frontends = *std::move(frontends);
    for (const auto& [key, value] : view.frontends) {
      if (value.flags & YARD_SVC_F_WILDCARD) continue;
      absl::StatusOr<yard_svc_stats> stats =
          maps.ServiceStats(value.rev_nat_id);
      if (!stats.ok()) return stats.status();
      view.per_frontend[value.rev_nat_id] = *stats;
    }
    for (uint32_t r = 0; r < YARD_REASON_MAX; ++r) {
      absl::StatusOr<yard_counter> c =
          maps.ReasonCounter(static_cast<yard_reason>(r));
      if (!c.ok()) return c.status();
      view.reasons[r] = *c;
    }
    return FormatStats(view, output);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown map view \"", table, "\": yardctl bpf shows ", kBpfTables));
}

}  // namespace

absl::Status RunBpf(const CommandOptions& options, Context& context) {
  if (options.args.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("yardctl bpf takes one of ", kBpfTables));
  }
  absl::StatusOr<InspectOutput> output = ParseInspectOutput(options.output);
  if (!output.ok()) return output.status();
  absl::StatusOr<NodePins> pins = ResolveNodePins(
      options.bpffs_root.empty() ? kDefaultBpffsRoot : options.bpffs_root,
      options.node);
  if (!pins.ok()) return pins.status();
  absl::StatusOr<DatapathMaps> maps = DatapathMaps::OpenPinned(pins->pin_dir);
  if (!maps.ok()) return maps.status();
  absl::StatusOr<std::string> text =
      Render(options.args[0], *pins, *maps, *output);
  if (!text.ok()) return text.status();
  if (text->empty()) {
    *context.err << "No entries in " << options.args[0] << " of node "
                 << pins->node << ".\n";
    return absl::OkStatus();
  }
  *context.out << *text;
  return absl::OkStatus();
}

}  // namespace switchyard::ctl
