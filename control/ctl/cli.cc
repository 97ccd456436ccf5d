// SPDX-License-Identifier: Apache-2.0
#include "control/ctl/cli.h"

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace switchyard::ctl {
namespace {

enum class FlagId {
  kController,
  kTimeout,
  kFilename,
  kNamespace,
  kAllNamespaces,
  kOutput,
  kIgnoreNotFound,
  kChunkSize,
  kNode,
  kBpffsRoot,
  kNetns,
  kCluster,
  kFromPod,
  kToPod,
  kValidate,
  kWait,
  kTlsCert,
  kTlsKey,
  kTlsCa,
  kHelp,
};

struct FlagSpec {
  absl::string_view long_name;
  char short_name;  // 0: none
  bool takes_value;
  FlagId id;
};

constexpr FlagSpec kFlags[] = {
    {"controller", 0, true, FlagId::kController},
    {"timeout", 0, true, FlagId::kTimeout},
    {"tls-cert", 0, true, FlagId::kTlsCert},
    {"tls-key", 0, true, FlagId::kTlsKey},
    {"tls-ca", 0, true, FlagId::kTlsCa},
    {"filename", 'f', true, FlagId::kFilename},
    {"namespace", 'n', true, FlagId::kNamespace},
    {"all-namespaces", 'A', false, FlagId::kAllNamespaces},
    {"output", 'o', true, FlagId::kOutput},
    {"ignore-not-found", 0, false, FlagId::kIgnoreNotFound},
    {"chunk-size", 0, true, FlagId::kChunkSize},
    {"node", 0, true, FlagId::kNode},
    {"bpffs-root", 0, true, FlagId::kBpffsRoot},
    {"netns", 0, true, FlagId::kNetns},
    {"cluster", 0, false, FlagId::kCluster},
    {"from-pod", 0, false, FlagId::kFromPod},
    {"to-pod", 0, false, FlagId::kToPod},
    // No value needed: a bare --validate means strict, as for kubectl.
    {"validate", 0, false, FlagId::kValidate},
    {"wait", 0, false, FlagId::kWait},
    {"help", 'h', false, FlagId::kHelp},
};

const FlagSpec* FindLong(absl::string_view name) {
  for (const FlagSpec& flag : kFlags) {
    if (flag.long_name == name) return &flag;
  }
  return nullptr;
}

const FlagSpec* FindShort(char name) {
  for (const FlagSpec& flag : kFlags) {
    if (flag.short_name == name) return &flag;
  }
  return nullptr;
}

absl::StatusOr<bool> ParseBool(absl::string_view flag, absl::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid value \"", text, "\" for ", flag, ": expected true or false"));
}

// kubectl's --validate values: true is strict, false is ignore.
absl::StatusOr<manifest::UnknownFields> ParseValidate(
    const std::optional<std::string>& value) {
  if (!value.has_value() || *value == "strict" || *value == "true") {
    return manifest::UnknownFields::kStrict;
  }
  if (*value == "warn") return manifest::UnknownFields::kWarn;
  if (*value == "ignore" || *value == "false") {
    return manifest::UnknownFields::kIgnore;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value \"", *value,
                   "\" for --validate: expected strict, warn, ignore, true or "
                   "false"));
}

absl::Status Apply(const FlagSpec& flag, absl::string_view shown,
                   std::optional<std::string> value, CommandLine* line) {
  CommandOptions& o = line->options;
  bool on = true;
  if (flag.id == FlagId::kValidate) {
    absl::StatusOr<manifest::UnknownFields> mode = ParseValidate(value);
    if (!mode.ok()) return mode.status();
    o.unknown_fields = *mode;
    o.flags_set |= kFlagValidate;
    return absl::OkStatus();
  }
  if (!flag.takes_value && value.has_value()) {
    absl::StatusOr<bool> parsed = ParseBool(shown, *value);
    if (!parsed.ok()) return parsed.status();
    on = *parsed;
  }
  switch (flag.id) {
    case FlagId::kController:
      if (value->empty()) {
        return absl::InvalidArgumentError("--controller needs an address");
      }
      line->global.controller = *value;
      break;
    case FlagId::kTlsCert:
      line->global.tls.cert = *value;
      break;
    case FlagId::kTlsKey:
      line->global.tls.key = *value;
      break;
    case FlagId::kTlsCa:
      line->global.tls.ca = *value;
      break;
    case FlagId::kTimeout: {
      absl::StatusOr<absl::Duration> timeout = ParseTimeout(*value);
      if (!timeout.ok()) return timeout.status();
      line->global.timeout = *timeout;
      break;
    }
    case FlagId::kFilename:
      if (value->empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(shown, " needs a file or directory name"));
      }
      o.filenames.push_back(*value);
      o.flags_set |= kFlagFilename;
      break;
    case FlagId::kNamespace:
      if (value->empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(shown, " needs a namespace name"));
      }
      o.namespace_ = *value;
      o.flags_set |= kFlagNamespace;
      break;
    case FlagId::kAllNamespaces:
      o.all_namespaces = on;
      o.flags_set |= kFlagAllNamespaces;
      break;
    case FlagId::kOutput:
      o.output = *value;
      o.flags_set |= kFlagOutput;
      break;
    case FlagId::kIgnoreNotFound:
      o.ignore_not_found = on;
      o.flags_set |= kFlagIgnoreNotFound;
      break;
    case FlagId::kChunkSize:
      if (!absl::SimpleAtoi(*value, &o.chunk_size) || o.chunk_size < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid value \"", *value, "\" for ", shown,
                         ": expected a count of objects, 0 for no limit"));
      }
      o.flags_set |= kFlagChunkSize;
      break;
    case FlagId::kNode:
      if (value->empty()) {
        return absl::InvalidArgumentError("--node needs a node name");
      }
      o.node = *value;
      o.flags_set |= kFlagNode;
      break;
    case FlagId::kBpffsRoot:
      if (value->empty()) {
        return absl::InvalidArgumentError("--bpffs-root needs a folder");
      }
      o.bpffs_root = *value;
      o.flags_set |= kFlagBpffsRoot;
      break;
    case FlagId::kNetns:
      if (value->empty()) {
        return absl::InvalidArgumentError(
            "--netns needs a network namespace name");
      }
      o.netns = *value;
      o.flags_set |= kFlagNetns;
      break;
    case FlagId::kCluster:
      o.cluster = on;
      o.flags_set |= kFlagCluster;
      break;
    case FlagId::kFromPod:
      o.to_pod = !on;
      o.flags_set |= kFlagFromPod;
      break;
    case FlagId::kToPod:
      o.to_pod = on;
      o.flags_set |= kFlagToPod;
      break;
    case FlagId::kWait:
      o.wait = on;
      o.flags_set |= kFlagWait;
      break;
    case FlagId::kHelp:
      line->help = on;
      break;
    case FlagId::kValidate:
      break;  // handled above: it takes words, not only true or false
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<absl::Duration> ParseTimeout(absl::string_view text) {
  absl::Duration duration;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(text, &seconds)) {
    duration = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &duration)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid --timeout \"", text, "\": expected a duration such as 10s"));
  }
  if (duration < absl::ZeroDuration() || duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid --timeout \"", text, "\": must be zero (none) or positive"));
  }
  return duration;
}

absl::StatusOr<CommandLine> ParseCommandLine(
    const std::vector<std::string>& args) {
  CommandLine line;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg == "-" || !absl::StartsWith(arg, "-")) {
      if (line.command.empty()) {
        line.command = arg;
      } else {
        line.options.args.push_back(arg);
      }
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    const FlagSpec* flag = nullptr;
    std::optional<std::string> value;
    std::string shown;
    if (absl::StartsWith(arg, "--")) {
      absl::string_view body = absl::string_view(arg).substr(2);
      size_t eq = body.find('=');
      if (eq != absl::string_view::npos) {
        value = std::string(body.substr(eq + 1));
        body = body.substr(0, eq);
      }
      flag = FindLong(body);
      shown = absl::StrCat("--", body);
    } else {
      flag = FindShort(arg[1]);
      shown = arg.substr(0, 2);
      // -oyaml and -f=x, as kubectl (pflag) takes them.
      if (arg.size() > 2) {
        if (flag == nullptr || !flag->takes_value) {
          return absl::InvalidArgumentError(
              absl::StrCat("unknown shorthand flag in \"", arg, "\""));
        }
        value = arg.substr(arg[2] == '=' ? 3 : 2);
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag: ", shown));
    }
    if (flag->takes_value && !value.has_value()) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag needs an argument: ", shown));
      }
      value = args[++i];
    }
    if (absl::Status s = Apply(*flag, shown, std::move(value), &line);
        !s.ok()) {
      return s;
    }
  }
  return line;
}

}  // namespace switchyard::ctl
