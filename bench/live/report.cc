// SPDX-License-Identifier: Apache-2.0
#include "bench/live/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace switchyard::bench::live {
namespace {

// Strings here are ours (names, tool versions): escaping quotes and
// backslashes and dropping control characters is enough.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) >= 0x20) out.push_back(c);
  }
  return out + "\"";
}

std::string RateSampleJson(const RateSample& s) {
  return absl::StrFormat(
      "{\"injected\": %d, \"delivered\": %d, \"seconds\": %.6f, \"pps\": "
      "%.0f, \"ns_per_frame\": %.1f}",
      s.injected, s.delivered, s.seconds, s.pps(), s.ns_per_frame());
}

std::string CrrSampleJson(const CrrSample& s) {
  return absl::StrFormat(
      "{\"completed\": %d, \"failed\": %d, \"seconds\": %.3f, "
      "\"connections_per_s\": %.0f}",
      s.completed, s.failed, s.seconds, s.per_second());
}

std::string CaseJson(const CaseRecord& c) {
  std::string out = absl::StrCat(
      "    {\"mode\": ", Quote(c.mode), ", \"entry\": ", Quote(c.entry),
      ", \"shape\": ", Quote(c.shape), ", \"services\": ", c.services,
      ", \"endpoints_per_service\": ", c.endpoints,
      ", \"setup\": ", Quote(c.setup),
      absl::StrFormat(", \"program_seconds\": %.3f", c.program_seconds));
  if (!c.rate_samples.empty()) {
    std::vector<std::string> samples;
    for (const RateSample& s : c.rate_samples) {
      samples.push_back(RateSampleJson(s));
    }
    absl::StrAppend(&out, ", \"traffic_source\": ", Quote(c.traffic_source),
                    absl::StrFormat(", \"pps\": %.0f, \"ns_per_frame\": %.1f",
                                    c.pps, c.ns_per_frame),
                    ", \"repetitions\": ", c.rate_samples.size(),
                    ",\n     \"samples\": [",
                    absl::StrJoin(samples, ",\n                 "), "]}");
  } else {
    std::vector<std::string> samples;
    for (const CrrSample& s : c.crr_samples)
      samples.push_back(CrrSampleJson(s));
    absl::StrAppend(
        &out,
        absl::StrFormat(", \"connections_per_s\": %.0f", c.connections_per_s),
        ", \"repetitions\": ", c.crr_samples.size(), ",\n     \"samples\": [",
        absl::StrJoin(samples, ",\n                 "), "]}");
  }
  return out;
}

}  // namespace

std::string ToJson(const RunInfo& info, const std::vector<CaseRecord>& cases) {
  std::vector<std::string> items;
  for (const CaseRecord& c : cases) items.push_back(CaseJson(c));
  return absl::StrCat(
      "{\n  \"bench\": \"yard-bench-live\",\n  \"kernel\": ",
      Quote(info.kernel), ",\n  \"iptables\": ", Quote(info.iptables),
      ",\n  \"cpus\": ", info.cpus, ",\n  \"backends\": ", info.backends,
      ",\n  \"batch\": ", info.batch,
      ",\n  \"traffic_source\": ", Quote(info.traffic_source),
      ",\n  \"traffic_source_why\": ", Quote(info.traffic_source_why),
      ",\n  \"quick\": ", info.quick ? "true" : "false", ",\n  \"cases\": [\n",
      absl::StrJoin(items, ",\n"), "\n  ]\n}\n");
}

std::string ToTable(const RunInfo& info, const std::vector<CaseRecord>& cases) {
  std::string out =
      absl::StrFormat("%-23s %-12s %8s %14s %10s %9s\n", "mode", "shape",
                      "services", "rate", "unit", "delivered");
  for (const CaseRecord& c : cases) {
    if (!c.rate_samples.empty()) {
      uint64_t injected = 0, delivered = 0;
      for (const RateSample& s : c.rate_samples) {
        injected += s.injected;
        delivered += s.delivered;
      }
      absl::StrAppend(
          &out,
          absl::StrFormat(
              "%-23s %-12s %8d %14.0f %10s %8.1f%%  (%.0f ns/frame)\n", c.mode,
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
          absl::StrFormat("%-23s %-12s %8d %14.0f %10s %9s  (%d failed)\n",
                          c.mode, c.shape, c.services, c.connections_per_s,
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
