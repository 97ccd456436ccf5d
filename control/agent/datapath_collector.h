// SPDX-License-Identifier: Apache-2.0
// yard-agent's metrics read from the datapath at scrape time: per-frontend
// traffic (yard_svc_stats), packets by reason (yard_reasons), and how full
// each map is. The datapath's per-CPU counters are summed when scraped, so
// the packet path never pays for metrics.
//
// Cost of one scrape: one walk of yard_svc4 and one counter lookup per
// frontend, one per reason. Measured at 20,000 frontends (2-core VM):
// 150-220 ms, a third of it map reads, and 8.4 MB of text. Counting
// yard_ct4 means reading all of it (0.5 s more at a million entries), so
// that count is refreshed at most once per `ct_sample_interval` and
// reused in between; a zero interval leaves it out. Reasons are named as
// yardctl names them (names/reason_names.h).
#ifndef SWITCHYARD_CONTROL_AGENT_DATAPATH_COLLECTOR_H_
#define SWITCHYARD_CONTROL_AGENT_DATAPATH_COLLECTOR_H_

#include <functional>
#include <map>
#include <string>

#include "absl/time/time.h"
#include "control/agent/agent_metrics.h"
#include "control/kernel/datapath_maps.h"
#include "control/metrics/registry.h"
#include "control/translate/desired_state.h"

namespace switchyard::agent {

// Fills `names` with the service ("ns/name:port/PROTO") of each frontend
// the agent programmed, or returns false (leaving it alone) when that
// would mean waiting for an update in progress: a scrape must not stall
// behind a large snapshot, so the collector reuses the names it had.
using ServiceNames =
    std::function<bool(std::map<translate::FrontendKey, std::string>& names)>;

struct DatapathCollectorConfig {
  const kernel::DatapathMaps* maps = nullptr;
  std::string pin_dir;  // where the maps are pinned, for counting yard_ct4
  ServiceNames service_names;
  // yard_slots and yard_be4 entries are the programmer's counts, which
  // the agent keeps in these gauges: no walk of those maps.
  const AgentMetrics* agent = nullptr;
  absl::Duration ct_sample_interval = absl::Seconds(10);
};

// Adds the collector to `registry`; everything named in `config` must
// outlive the registry's last Render().
void AddDatapathCollector(metrics::Registry& registry,
                          DatapathCollectorConfig config);

}  // namespace switchyard::agent

#endif  // SWITCHYARD_CONTROL_AGENT_DATAPATH_COLLECTOR_H_
