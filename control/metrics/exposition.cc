// SPDX-License-Identifier: Apache-2.0
#include "control/metrics/exposition.h"

#include <charconv>
#include <cmath>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace switchyard::metrics {
namespace {

bool NameChar(char c, bool first, bool colon_ok) {
  if (absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_') {
    return true;
  }
  if (colon_ok && c == ':') return true;
  return !first && absl::ascii_isdigit(static_cast<unsigned char>(c));
}

bool ValidName(absl::string_view name, bool colon_ok) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!NameChar(name[i], i == 0, colon_ok)) return false;
  }
  return true;
}

absl::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

bool ValidMetricName(absl::string_view name) { return ValidName(name, true); }

bool ValidLabelName(absl::string_view name) {
  return ValidName(name, false) && !absl::StartsWith(name, "__");
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Counters and versions are whole numbers; below 2^53 a double holds
  // them exactly, and printing them as integers keeps them readable.
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  // Otherwise the shortest digits that read back exactly, laid out as Go's
  // strconv 'g' does (Prometheus' own clients): scientific below 1e-4 and
  // from 1e6, so a bucket bound reads le="0.0001", le="5e-05" everywhere.
  char buffer[64];
  std::to_chars_result r = std::to_chars(buffer, buffer + sizeof(buffer), value,
                                         std::chars_format::scientific);
  std::string scientific(buffer, r.ptr);
  int exponent = 0;
  size_t e = scientific.find('e');
  if (e == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(scientific).substr(e + 1),
                        &exponent) ||
      exponent < -4 || exponent >= 6) {
    return scientific;
  }
  r = std::to_chars(buffer, buffer + sizeof(buffer), value,
                    std::chars_format::fixed);
  return std::string(buffer, r.ptr);
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EscapeHelp(absl::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void AppendFamily(const MetricFamily& family, std::string& out) {
  if (family.samples.empty()) return;
  absl::StrAppend(&out, "# HELP ", family.name, " ", EscapeHelp(family.help),
                  "\n# TYPE ", family.name, " ", TypeName(family.type), "\n");
  for (const Sample& sample : family.samples) {
    absl::StrAppend(&out, family.name, sample.suffix);
    if (!sample.labels.empty()) {
      out += '{';
      for (size_t i = 0; i < sample.labels.size(); ++i) {
        if (i > 0) out += ',';
        absl::StrAppend(&out, sample.labels[i].first, "=\"",
                        EscapeLabelValue(sample.labels[i].second), "\"");
      }
      out += '}';
    }
    absl::StrAppend(&out, " ", FormatValue(sample.value), "\n");
  }
}

}  // namespace switchyard::metrics
