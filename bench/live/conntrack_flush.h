// SPDX-License-Identifier: Apache-2.0
// Empties the conntrack table of the calling thread's network namespace
// (what `conntrack -F` does), so each "new flows" sample of the netfilter
// modes starts from an empty table, as Switchyard's does.
#ifndef SWITCHYARD_BENCH_LIVE_CONNTRACK_FLUSH_H_
#define SWITCHYARD_BENCH_LIVE_CONNTRACK_FLUSH_H_

#include "absl/status/status.h"

namespace switchyard::bench::live {

absl::Status FlushConntrack();

}  // namespace switchyard::bench::live

#endif  // SWITCHYARD_BENCH_LIVE_CONNTRACK_FLUSH_H_
