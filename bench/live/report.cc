// SPDX-License-Identifier: Apache-2.0
#include "bench/live/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/format/json.h"
#include "control/format/value.h"

namespace switchyard::bench::live {
namespace {

using format::Value;

Value Str(const std::string& s) { return Value::String(s); }
Value Count(uint64_t n) { return Value::Int(static_cast<int64_t>(n)); }

Value RateSampleJson(const RateSample& s) {
  Value v = Value::Map();
  v.Set("injected", Count(s.injected));
  v.Set("delivered", Count(s.delivered));
  v.Set("seconds", Value::Fixed(s.seconds, 6));
  v.Set("pps", Value::Fixed(s.pps(), 0));
  v.Set("ns_per_frame", Value::Fixed(s.ns_per_frame(), 1));
  return v;
}

Value CrrSampleJson(const CrrSample& s) {
  Value v = Value::Map();
  v.Set("completed", Count(s.completed));
  v.Set("failed", Count(s.failed));
  v.Set("seconds", Value::Fixed(s.seconds, 3));
  v.Set("connections_per_s", Value::Fixed(s.per_second(), 0));
  return v;
}

Value CaseJson(const CaseRecord& c) {
  Value v = Value::Map();
  v.Set("mode", Str(c.mode));
  v.Set("entry", Str(c.entry));
  v.Set("shape", Str(c.shape));
  v.Set("site", Str(c.site));
  v.Set("node_conntrack", Value::Bool(c.node_conntrack));
  v.Set("services", Value::Int(c.services));
  v.Set("endpoints_per_service", Value::Int(c.endpoints));
  v.Set("setup", Str(c.setup));
  v.Set("program_seconds", Value::Fixed(c.program_seconds, 3));
  Value samples = Value::List();
  if (!c.rate_samples.empty()) {
    for (const RateSample& s : c.rate_samples)
      samples.Append(RateSampleJson(s));
    v.Set("traffic_source", Str(c.traffic_source));
    v.Set("pps", Value::Fixed(c.pps, 0));
    v.Set("ns_per_frame", Value::Fixed(c.ns_per_frame, 1));
    v.Set("repetitions", Count(c.rate_samples.size()));
  } else {
    for (const CrrSample& s : c.crr_samples) samples.Append(CrrSampleJson(s));
    v.Set("connections_per_s", Value::Fixed(c.connections_per_s, 0));
    v.Set("repetitions", Count(c.crr_samples.size()));
  }
  v.Set("samples", std::move(samples));
  return v;
}

}  // namespace

std::string ToJson(const RunInfo& info, const std::vector<CaseRecord>& cases) {
  Value doc = Value::Map();
  doc.Set("bench", Str("yard-bench-live"));
  doc.Set("kernel", Str(info.kernel));
  doc.Set("iptables", Str(info.iptables));
  doc.Set("cpus", Value::Int(info.cpus));
  doc.Set("backends", Value::Int(info.backends));
  doc.Set("batch", Value::Int(info.batch));
  doc.Set("traffic_source", Str(info.traffic_source));
  doc.Set("traffic_source_why", Str(info.traffic_source_why));
  doc.Set("quick", Value::Bool(info.quick));
  doc.Set("node_conntrack", Value::Bool(info.node_conntrack));
  Value list = Value::List();
  for (const CaseRecord& c : cases) list.Append(CaseJson(c));
  doc.Set("cases", std::move(list));
  return format::WriteJson(doc);
}

std::string ToTable(const RunInfo& info, const std::vector<CaseRecord>& cases) {
  std::string out =
      absl::StrFormat("%-30s %-12s %8s %14s %10s %9s\n", "mode", "shape",
                      "services", "rate", "unit", "delivered");
  for (const CaseRecord& c : cases) {
    // A node without conntrack: said beside the mode.
    const std::string mode =
        c.node_conntrack ? c.mode : absl::StrCat(c.mode, " (no ct)");
    if (!c.rate_samples.empty()) {
      uint64_t injected = 0, delivered = 0;
      for (const RateSample& s : c.rate_samples) {
        injected += s.injected;
        delivered += s.delivered;
      }
      absl::StrAppend(
          &out,
          absl::StrFormat(
              "%-30s %-12s %8d %14.0f %10s %8.1f%%  (%.0f ns/frame)\n", mode,
              c.shape, c.services, c.pps, "pkt/s",
              injected ? 100.0 * delivered / injected : 0.0, c.ns_per_frame));
    } else {
      uint64_t ok = 0, failed = 0;
      for (const CrrSample& s : c.crr_samples) {
        ok += s.completed;
        failed += s.failed;
      }
      absl::StrAppend(
          &out,
          absl::StrFormat("%-30s %-12s %8d %14.0f %10s %9s  (%d failed)\n",
                          mode, c.shape, c.services, c.connections_per_s,
                          "conn/s", "", failed));
    }
  }
  if (!info.traffic_source.empty()) {
    // The rates mean different things per source: say which one made them.
    absl::StrAppend(
        &out, "traffic source: ", info.traffic_source, " (",
        info.traffic_source_why, "); ",
        info.traffic_source == "af-packet"
            ? "rate = frames delivered / wall time of the sendmmsg loop"
            : "rate = frames delivered / time in BPF_PROG_TEST_RUN",
        "\n");
  }
  return out;
}

}  // namespace switchyard::bench::live
