// SPDX-License-Identifier: Apache-2.0
// yardctl's command line -> config structs. Hand-parsed rather than with
// absl flags because yardctl takes kubectl's shapes: flags after the
// subcommand, repeated -f, short flags with attached values (-oyaml), -A.
// Pure: main passes argv in, nothing reads flags anywhere else.
#ifndef SWITCHYARD_CONTROL_CTL_CLI_H_
#define SWITCHYARD_CONTROL_CTL_CLI_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/ctl/client.h"
#include "control/manifest/manifest.h"
#include "control/tls/tls_files.h"

namespace switchyard::ctl {

// Which command flags a command line set, so each command can refuse the
// ones it does not take instead of silently ignoring them.
enum CommandFlag : uint32_t {
  kFlagFilename = 1 << 0,        // -f, --filename
  kFlagNamespace = 1 << 1,       // -n, --namespace
  kFlagAllNamespaces = 1 << 2,   // -A, --all-namespaces
  kFlagOutput = 1 << 3,          // -o, --output
  kFlagIgnoreNotFound = 1 << 4,  // --ignore-not-found
  kFlagNode = 1 << 5,            // --node
  kFlagBpffsRoot = 1 << 6,       // --bpffs-root
  kFlagNetns = 1 << 7,           // --netns
  kFlagCluster = 1 << 8,         // --cluster
  kFlagFromPod = 1 << 9,         // --from-pod
  kFlagToPod = 1 << 10,          // --to-pod
  kFlagChunkSize = 1 << 11,      // --chunk-size
  kFlagValidate = 1 << 12,       // --validate[=strict|warn|ignore|true|false]
  kFlagWait = 1 << 13,           // --wait
};

// kubectl's default --chunk-size: objects per List request.
inline constexpr int64_t kDefaultChunkSize = 500;

struct GlobalConfig {
  std::string controller = std::string(kDefaultController);
  absl::Duration timeout = absl::Seconds(10);  // zero: no deadline
  // --tls-cert/--tls-key/--tls-ca: a writer's certificate for a TCP
  // controller served with mutual TLS.
  tls::TlsFiles tls;
};

struct CommandOptions {
  std::vector<std::string> filenames;  // files, directories, "-" for stdin
  std::string namespace_;              // "" when not given
  bool all_namespaces = false;
  std::string output;  // as given; the command parses it
  bool ignore_not_found = false;
  // apply: what an unknown field does, as kubectl's --validate says.
  manifest::UnknownFields unknown_fields = manifest::UnknownFields::kWarn;
  // get: objects per List request; 0 asks for all in one.
  int64_t chunk_size = kDefaultChunkSize;
  std::vector<std::string> args;  // positionals after the command name
  uint32_t flags_set = 0;         // CommandFlag bits
  // Node commands (bpf, status, trace): which node's pinned maps, and the
  // network namespace its interfaces are in.
  std::string node;        // "" when not given
  std::string bpffs_root;  // "" when not given: kDefaultBpffsRoot
  std::string netns;       // "" when not given
  bool cluster = false;    // status: every node, from the controller
  bool to_pod = false;     // trace: yard_to_pod rather than yard_from_pod
  // apply: then wait (up to --timeout) until every connected node's agent
  // has programmed the write.
  bool wait = false;
};

struct CommandLine {
  GlobalConfig global;
  std::string command;  // "" when none was given
  CommandOptions options;
  bool help = false;  // -h or --help anywhere
};

// `args` is argv without the program name. Flags may come before or after
// the command; "--" ends them.
absl::StatusOr<CommandLine> ParseCommandLine(
    const std::vector<std::string>& args);

// "10s", "1m30s", "500ms"; a bare number is seconds, as for kubectl's
// --request-timeout; "0" disables the deadline.
absl::StatusOr<absl::Duration> ParseTimeout(absl::string_view text);

}  // namespace switchyard::ctl

#endif  // SWITCHYARD_CONTROL_CTL_CLI_H_
