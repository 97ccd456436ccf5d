// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/features.h"

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace switchyard::kernel {
namespace {

constexpr absl::string_view kNames[kFeatureCount] = {
    "xdp", "coarse_clock", "north_south", "stack_bypass", "maglev_mmap"};

// Lines of a verifier log that say nothing about why it refused.
bool IsVerifierChatter(absl::string_view line) {
  return line.empty() || absl::StartsWith(line, "processed ") ||
         absl::StartsWith(line, "verification time") ||
         absl::StartsWith(line, "stack depth") || absl::StartsWith(line, ";");
}

// NAME in "...prog 'NAME': ...".
std::string ProgramOf(absl::string_view line) {
  size_t at = line.find("prog '");
  if (at == absl::string_view::npos) return "";
  absl::string_view rest = line.substr(at + 6);
  size_t end = rest.find('\'');
  return end == absl::string_view::npos ? "" : std::string(rest.substr(0, end));
}

}  // namespace

absl::string_view FeatureName(Feature feature) {
  return kNames[static_cast<int>(feature)];
}

std::optional<Feature> FeatureByName(absl::string_view name) {
  for (int i = 0; i < kFeatureCount; ++i) {
    if (kNames[i] == name) return static_cast<Feature>(i);
  }
  return std::nullopt;
}

std::vector<Feature> AllFeatures() {
  std::vector<Feature> all;
  for (int i = 0; i < kFeatureCount; ++i)
    all.push_back(static_cast<Feature>(i));
  return all;
}

absl::StatusOr<std::vector<Feature>> ParseFeatureList(absl::string_view list) {
  std::vector<Feature> features;
  for (absl::string_view name :
       absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    name = absl::StripAsciiWhitespace(name);
    if (name == "all") {
      features.push_back(Feature::kXdp);
      features.push_back(Feature::kCoarseClock);
      features.push_back(Feature::kStackBypass);
      features.push_back(Feature::kMaglevMmap);
      continue;
    }
    std::optional<Feature> f = FeatureByName(name);
    if (!f.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown datapath feature '", name,
                       "' (known: ", absl::StrJoin(kNames, ", "), ", all)"));
    }
    features.push_back(*f);
  }
  return features;
}

absl::string_view FeatureStateName(yard_feature_state state) {
  switch (state) {
    case YARD_FEATURE_ON:
      return "on";
    case YARD_FEATURE_OFF_FORCED:
      return "off (forced)";
    case YARD_FEATURE_OFF_REFUSED:
      return "off (refused by the kernel)";
    case YARD_FEATURE_OFF_PARTLY:
      return "partly";
    case YARD_FEATURE_UNKNOWN:
      break;
  }
  return "unknown";
}

FeatureSet::FeatureSet() { states_.fill(YARD_FEATURE_ON); }

bool FeatureSet::on(Feature f) const {
  // Partly on is on: the program is loaded, some devices run without it.
  return states_[Index(f)] == YARD_FEATURE_ON ||
         states_[Index(f)] == YARD_FEATURE_OFF_PARTLY;
}

void FeatureSet::Set(Feature f, yard_feature_state state, std::string why) {
  states_[Index(f)] = state;
  whys_[Index(f)] = std::move(why);
}

std::string FeatureSet::Summary() const {
  std::vector<std::string> parts;
  for (Feature f : AllFeatures()) {
    std::string part = absl::StrCat(FeatureName(f), "=");
    switch (state(f)) {
      case YARD_FEATURE_ON:
        absl::StrAppend(&part, "on");
        break;
      case YARD_FEATURE_OFF_PARTLY:
        absl::StrAppend(&part, "partly");
        break;
      default:
        absl::StrAppend(&part, "off");
        break;
    }
    if (!why(f).empty()) absl::StrAppend(&part, " (", why(f), ")");
    parts.push_back(std::move(part));
  }
  return absl::StrJoin(parts, " ");
}

yard_feature_value FeatureSet::Value(Feature f) const {
  yard_feature_value v = {};
  v.state = state(f);
  const std::string& w = why(f);
  std::memcpy(v.why, w.data(), std::min(w.size(), sizeof(v.why) - 1));
  return v;
}

LoadFailure ExplainLoadFailure(absl::string_view libbpf_log) {
  LoadFailure failure;
  std::string last_failed_line;
  bool in_log = false;
  for (absl::string_view line : absl::StrSplit(libbpf_log, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    absl::string_view bare = line;
    absl::ConsumePrefix(&bare, "libbpf: ");
    if (absl::StrContains(bare, "-- BEGIN PROG LOAD LOG --")) {
      in_log = true;
      failure.program = ProgramOf(bare);
      continue;
    }
    if (absl::StrContains(bare, "-- END PROG LOAD LOG --")) {
      in_log = false;
      continue;
    }
    if (in_log) {
      if (!IsVerifierChatter(bare)) failure.reason = std::string(bare);
      continue;
    }
    if (absl::StrContains(bare, "error reusing pinned map") ||
        absl::StrContains(bare, "couldn't reuse pinned map")) {
      // "map 'NAME': error reusing pinned map"
      if (absl::StartsWith(bare, "map '")) {
        absl::string_view rest = bare.substr(5);
        failure.map = std::string(rest.substr(0, rest.find('\'')));
      } else if (failure.map.empty()) {
        failure.map = "?";
      }
      failure.reason = std::string(bare);
      continue;
    }
    if (failure.map.empty() && absl::StartsWith(bare, "map '") &&
        absl::StrContains(bare, "failed to create")) {
      // "map 'NAME': failed to create: REASON"
      absl::string_view rest = bare.substr(5);
      failure.map_not_created = std::string(rest.substr(0, rest.find('\'')));
      failure.reason = std::string(bare);
      continue;
    }
    if (absl::StrContains(bare, "BPF program load failed") ||
        absl::StrContains(bare, "failed to load")) {
      std::string prog = ProgramOf(bare);
      if (!prog.empty() && failure.program.empty()) failure.program = prog;
      if (!prog.empty()) last_failed_line = std::string(bare);
    }
  }
  if (failure.reason.empty()) failure.reason = last_failed_line;
  return failure;
}

std::optional<Feature> FeatureToTurnOff(const LoadFailure& failure,
                                        const FeatureSet& features) {
  if (!failure.map.empty()) return std::nullopt;
  // The probe made a table like the template (maglev_tables.h); a kernel
  // that still refuses the template gets the plain one.
  if (absl::StartsWith(failure.map_not_created, "yard_maglev") &&
      features.on(Feature::kMaglevMmap)) {
    return Feature::kMaglevMmap;
  }
  if (features.on(Feature::kCoarseClock) &&
      absl::StrContains(failure.reason, "ktime_get_coarse")) {
    return Feature::kCoarseClock;
  }
  if (failure.program == "yard_from_outside" && features.on(Feature::kXdp)) {
    return Feature::kXdp;
  }
  if ((failure.program == "yard_outside_ingress" ||
       failure.program == "yard_to_outside") &&
      features.on(Feature::kNorthSouth)) {
    return Feature::kNorthSouth;
  }
  // The pod programs need nothing optional but the bypass's helpers
  // (bpf_fib_lookup, bpf_redirect_peer, bpf_redirect_neigh): without it
  // they are what every supported kernel loads. A second refusal is the
  // load's error.
  if ((failure.program == "yard_from_pod" ||
       failure.program == "yard_to_pod") &&
      features.on(Feature::kStackBypass)) {
    return Feature::kStackBypass;
  }
  return std::nullopt;
}

}  // namespace switchyard::kernel
