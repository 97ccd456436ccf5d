// SPDX-License-Identifier: Apache-2.0
// What the CNI specification hands a plugin and expects back, for
// yard-cni: the CNI_* environment, the network configuration on stdin (its
// own settings and the previous plugin's result), and the JSON it prints
// (the result passed through, an error, the supported versions). Pure: no
// kernel, unit-tested.
#ifndef SWITCHYARD_CONTROL_CNI_CNI_CONFIG_H_
#define SWITCHYARD_CONTROL_CNI_CNI_CONFIG_H_

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::cni {

// Where the agent pins by default (its --bpffs_root).
inline constexpr absl::string_view kDefaultBpffsRoot = "/sys/fs/bpf/switchyard";

// The CNI versions whose configuration and result yard-cni understands.
// Its result is the previous plugin's, so any version whose results carry
// "interfaces" with "sandbox" would do; these are the ones tested.
inline constexpr absl::string_view kSupportedVersions[] = {"0.4.0", "1.0.0"};

// The specification's error codes that yard-cni reports.
enum class CniErrorCode {
  kIncompatibleVersion = 1,
  kInvalidEnvironment = 4,
  kIoFailure = 5,
  kDecodeFailure = 6,
  kInvalidConfig = 7,
  // "Try again later": the kubelet retries the pod's sandbox, which is
  // what a node whose agent has not started yet needs.
  kTryAgainLater = 11,
};

// A failure as the runtime is told it: the code, and a message a person
// can act on.
struct CniError {
  CniErrorCode code;
  std::string message;
};

// The CNI_* environment of one invocation.
struct CniRequest {
  std::string command;       // ADD, DEL, CHECK, VERSION
  std::string container_id;  // CNI_CONTAINERID
  std::string netns;         // CNI_NETNS: path of the pod's namespace
  std::string ifname;        // CNI_IFNAME: the pod's interface, e.g. eth0
};

// Reads the environment through `getenv` (the real one in main, a map in
// tests). VERSION needs nothing else; ADD and CHECK need the container id,
// namespace and interface name; DEL needs only the container id and
// interface name (the namespace may be gone already).
std::variant<CniRequest, CniError> ReadRequest(
    absl::FunctionRef<const char*(const char*)> getenv);

struct PluginConfig {
  std::string cni_version;
  std::string name;
  std::string bpffs_root;  // kDefaultBpffsRoot when not set
  std::string node_name;   // "" when not set
  // The previous plugin's result, as JSON (every field kept); nullopt
  // when the configuration has none (yard-cni was not chained).
  std::optional<std::string> prev_result;
  // prevResult's interfaces without a sandbox (the node side), and those
  // in the pod, in the order listed.
  std::vector<std::string> host_interfaces;
  std::vector<std::string> pod_interfaces;
};

// Decodes stdin's network configuration (unknown fields ignored) and
// checks its version.
std::variant<PluginConfig, CniError> ParsePluginConfig(absl::string_view json);

bool IsSupportedVersion(absl::string_view version);

// ADD's output: the previous result unchanged (it is already in the
// configuration's version, the runtime having converted it).
std::string ResultJson(const PluginConfig& config);

// The error object of the specification, in `cni_version` (or 1.0.0 when
// the configuration could not be read).
std::string ErrorJson(absl::string_view cni_version, const CniError& error);

// VERSION's output.
std::string VersionJson();

}  // namespace switchyard::cni

#endif  // SWITCHYARD_CONTROL_CNI_CNI_CONFIG_H_
