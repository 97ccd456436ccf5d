// SPDX-License-Identifier: Apache-2.0
// `yardctl bpf services|backends|revnat|ct|nat|stats`: a node's maps as tables
// or JSON. Everything here works on plain copies of map entries, so the
// output is tested without a kernel; bpf_command.cc reads the maps.
//
// The JSON schema is documented in README.md ("yardctl bpf"): keys are
// snake_case, numbers are numbers, addresses are dotted-quad strings,
// ports and ids are host-order numbers.
#ifndef SWITCHYARD_CONTROL_CTL_BPF_FORMAT_H_
#define SWITCHYARD_CONTROL_CTL_BPF_FORMAT_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "control/ctl/inspect_text.h"
#include "control/kernel/abi.h"
#include "control/kernel/ct_lifetime.h"

namespace switchyard::ctl {

using FrontendEntries = std::vector<std::pair<yard_svc4_key, yard_svc_value>>;
using SlotEntries = std::vector<std::pair<yard_slot_key, yard_slot_value>>;
using BackendEntries = std::vector<std::pair<uint32_t, yard_backend4>>;
using RevNatEntries = std::vector<std::pair<uint32_t, yard_rnat4>>;
using CtEntries = std::vector<std::pair<yard_ct4_key, yard_ct4_value>>;

// yard_svc4 joined with yard_slots and yard_be4: one row per backend of
// each frontend, as `cilium bpf lb list` shows them.
struct ServicesView {
  std::string node;
  FrontendEntries frontends;
  SlotEntries slots;
  BackendEntries backends;
  // Active flows by backend id, as least-connection frontends see them
  // (yard_lc4's counts; absent: 0). Shown for those frontends only.
  std::map<uint32_t, int32_t> active_flows;
};
std::string FormatServices(const ServicesView& view, InspectOutput output);

std::string FormatBackends(const std::string& node,
                           const BackendEntries& backends,
                           InspectOutput output);

std::string FormatRevNat(const std::string& node, const RevNatEntries& revnat,
                         InspectOutput output);

struct CtView {
  std::string node;
  CtEntries entries;
  // CLOCK_MONOTONIC now, the clock of the entries' timestamps
  // (bpf_ktime_get_coarse_ns, a tick behind at most), so ages need no
  // conversion.
  uint64_t now_ns = 0;
  // The flow lifetimes the loaded programs apply (their yard_config).
  kernel::CtTimeouts timeouts;
};
std::string FormatCt(const CtView& view, InspectOutput output);

// The address translations in force, from the connection-tracking entries:
// each flow as it enters the datapath and as it leaves it.
struct NatView {
  std::string node;
  CtEntries entries;
  RevNatEntries rev_nat;         // the frontend each reply is restored to
  uint32_t hairpin_addr_be = 0;  // source of flows a pod sends to itself
};
std::string FormatNat(const NatView& view, InspectOutput output);

struct StatsView {
  std::string node;
  FrontendEntries frontends;  // to name each rev-NAT id by its frontend
  std::map<uint32_t, yard_svc_stats> per_frontend;  // by rev_nat_id, summed
  std::array<yard_counter, YARD_REASON_MAX> reasons = {};  // summed
};
std::string FormatStats(const StatsView& view, InspectOutput output);

}  // namespace switchyard::ctl

#endif  // SWITCHYARD_CONTROL_CTL_BPF_FORMAT_H_
