// SPDX-License-Identifier: Apache-2.0
#include "control/cni/cni_config.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "switchyard/cni/config.pb.h"

namespace switchyard::cni {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;
using google::protobuf::util::JsonParseOptions;
using google::protobuf::util::JsonStringToMessage;
using google::protobuf::util::MessageToJsonString;

// The version an error is written in when the configuration's is unknown.
constexpr absl::string_view kFallbackVersion = "1.0.0";

Value StringValue(absl::string_view text) {
  Value v;
  v.set_string_value(std::string(text));
  return v;
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string out;
  // Serializing a message built here cannot fail; an empty object is the
  // safe answer if it ever did.
  if (!MessageToJsonString(message, &out).ok()) return "{}";
  return out;
}

CniError Error(CniErrorCode code, std::string message) {
  return CniError{code, std::move(message)};
}

}  // namespace

bool IsSupportedVersion(absl::string_view version) {
  for (absl::string_view v : kSupportedVersions) {
    if (v == version) return true;
  }
  return false;
}

std::variant<CniRequest, CniError> ReadRequest(
    absl::FunctionRef<const char*(const char*)> getenv) {
  auto get = [&](const char* name) {
    const char* value = getenv(name);
    return std::string(value == nullptr ? "" : value);
  };
  CniRequest request{.command = get("CNI_COMMAND"),
                     .container_id = get("CNI_CONTAINERID"),
                     .netns = get("CNI_NETNS"),
                     .ifname = get("CNI_IFNAME")};
  if (request.command == "VERSION") return request;
  if (request.command != "ADD" && request.command != "DEL" &&
      request.command != "CHECK") {
    return Error(CniErrorCode::kInvalidEnvironment,
                 absl::StrCat("CNI_COMMAND is '", request.command,
                              "'; yard-cni knows ADD, DEL, CHECK and VERSION"));
  }
  std::vector<absl::string_view> missing;
  if (request.container_id.empty()) missing.push_back("CNI_CONTAINERID");
  if (request.ifname.empty()) missing.push_back("CNI_IFNAME");
  // DEL may come after the namespace is gone (the specification allows
  // an empty CNI_NETNS then); ADD and CHECK look inside it.
  if (request.command != "DEL" && request.netns.empty()) {
    missing.push_back("CNI_NETNS");
  }
  if (!missing.empty()) {
    return Error(
        CniErrorCode::kInvalidEnvironment,
        absl::StrCat(request.command, " needs ", absl::StrJoin(missing, ", ")));
  }
  return request;
}

std::variant<PluginConfig, CniError> ParsePluginConfig(absl::string_view json) {
  NetworkConfig decoded;
  JsonParseOptions options;
  // The configuration carries the main plugin's settings too (ipam,
  // bridge, mtu ...), and later CNI versions add fields.
  options.ignore_unknown_fields = true;
  if (auto s = JsonStringToMessage(std::string(json), &decoded, options);
      !s.ok()) {
    return Error(CniErrorCode::kDecodeFailure,
                 absl::StrCat("network configuration on stdin is not valid "
                              "JSON of the expected shape: ",
                              std::string(s.message())));
  }
  if (!IsSupportedVersion(decoded.cni_version())) {
    return Error(CniErrorCode::kIncompatibleVersion,
                 absl::StrCat("cniVersion '", decoded.cni_version(),
                              "' is not one yard-cni supports (",
                              absl::StrJoin(kSupportedVersions, ", "), ")"));
  }
  PluginConfig config;
  config.cni_version = decoded.cni_version();
  config.name = decoded.name();
  config.bpffs_root = decoded.bpffs_root().empty()
                          ? std::string(kDefaultBpffsRoot)
                          : decoded.bpffs_root();
  config.node_name = decoded.node_name();
  if (!decoded.has_prev_result()) return config;

  config.prev_result = ToJson(decoded.prev_result());
  // Read back through the typed message: the Struct holds prevResult
  // whole for the passthrough; Result is the part this plugin looks at.
  Result result;
  if (auto s = JsonStringToMessage(*config.prev_result, &result, options);
      !s.ok()) {
    return Error(CniErrorCode::kDecodeFailure,
                 absl::StrCat("prevResult is not a CNI result: ",
                              std::string(s.message())));
  }
  for (const Interface& interface : result.interfaces()) {
    (interface.sandbox().empty() ? config.host_interfaces
                                 : config.pod_interfaces)
        .push_back(interface.name());
  }
  return config;
}

std::string ResultJson(const PluginConfig& config) {
  Struct result;
  if (config.prev_result.has_value()) {
    // Parsed from our own serialization of a Struct: cannot fail.
    (void)JsonStringToMessage(*config.prev_result, &result);
  }
  // The result is in the configuration's version; a previous plugin that
  // left the field out gets it filled in.
  if (!result.fields().contains("cniVersion")) {
    (*result.mutable_fields())["cniVersion"] = StringValue(config.cni_version);
  }
  return ToJson(result);
}

std::string ErrorJson(absl::string_view cni_version, const CniError& error) {
  Struct out;
  auto& fields = *out.mutable_fields();
  fields["cniVersion"] = StringValue(
      IsSupportedVersion(cni_version) ? cni_version : kFallbackVersion);
  fields["code"].set_number_value(static_cast<int>(error.code));
  fields["msg"] = StringValue(error.message);
  return ToJson(out);
}

std::string VersionJson() {
  Struct out;
  auto& fields = *out.mutable_fields();
  fields["cniVersion"] = StringValue(kFallbackVersion);
  auto* versions = fields["supportedVersions"].mutable_list_value();
  for (absl::string_view v : kSupportedVersions) {
    *versions->add_values() = StringValue(v);
  }
  return ToJson(out);
}

}  // namespace switchyard::cni
