// SPDX-License-Identifier: Apache-2.0
// Prometheus' text exposition format, version 0.0.4: what a scrape of
// /metrics returns. Pure formatting, so the exact text is unit-tested.
//
//   # HELP switchyard_agent_applied_version Version of the last update ...
//   # TYPE switchyard_agent_applied_version gauge
//   switchyard_agent_applied_version 42
//   switchyard_agent_sync_latency_seconds_bucket{update="delta",le="0.001"} 3
//
// A family's samples are written together, once per family, HELP and TYPE
// first, which the format requires; label values are escaped (\\, \", \n).
#ifndef SWITCHYARD_CONTROL_METRICS_EXPOSITION_H_
#define SWITCHYARD_CONTROL_METRICS_EXPOSITION_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace switchyard::metrics {

// The Content-Type of a text exposition, as Prometheus negotiates it.
inline constexpr char kExpositionContentType[] = "text/plain; version=0.0.4";

enum class MetricType { kCounter, kGauge, kHistogram };

// Label names and values, in the order written.
using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  std::string suffix;  // "" or, for histograms, "_bucket", "_sum", "_count"
  Labels labels;
  double value = 0;
};

// One family as it stands at one scrape.
struct MetricFamily {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<Sample> samples;

  // Appends a sample without suffix (counters, gauges).
  void Add(Labels labels, double value) {
    samples.push_back({"", std::move(labels), value});
  }
};

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool ValidMetricName(absl::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, and not "__"-prefixed (reserved by Prometheus).
bool ValidLabelName(absl::string_view name);

// Integers as integers ("42", not "4.2e+01"), other values in the shortest
// form that reads back exactly, and "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);
// Label values: backslash, double quote and newline escaped.
std::string EscapeLabelValue(absl::string_view value);
// HELP text: backslash and newline escaped (quotes are not, per format).
std::string EscapeHelp(absl::string_view help);

// One family: HELP and TYPE lines, then every sample. Nothing for a family
// without samples (a labelled family nobody has used yet).
void AppendFamily(const MetricFamily& family, std::string& out);

}  // namespace switchyard::metrics

#endif  // SWITCHYARD_CONTROL_METRICS_EXPOSITION_H_
