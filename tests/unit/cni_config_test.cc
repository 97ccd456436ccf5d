// SPDX-License-Identifier: Apache-2.0
// yard-cni's side of the CNI specification without a kernel: the
// environment, the configuration (the plugin's own fields, prevResult's
// interfaces, unknown fields ignored), the result passed through unchanged,
// and the error and version objects.
#include "control/cni/cni_config.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "control/cni/plugin.h"
#include "gtest/gtest.h"

namespace switchyard::cni {
namespace {

using google::protobuf::Struct;

// What a bridge plugin's result looks like, with fields yard-cni does not
// know (dns, routes, mtu in the interface) that must survive.
constexpr char kBridgeConfig[] = R"({
  "cniVersion": "1.0.0",
  "name": "pods",
  "type": "yard-cni",
  "nodeName": "node-a",
  "somethingNew": {"x": [1, 2]},
  "prevResult": {
    "cniVersion": "1.0.0",
    "interfaces": [
      {"name": "cni0", "mac": "0a:00:00:00:00:01"},
      {"name": "veth1234", "mac": "0a:00:00:00:00:02", "mtu": 1500},
      {"name": "eth0", "mac": "0a:00:00:00:00:03",
       "sandbox": "/var/run/netns/cni-1"}
    ],
    "ips": [{"address": "10.244.0.5/24", "gateway": "10.244.0.1",
             "interface": 2}],
    "routes": [{"dst": "0.0.0.0/0"}],
    "dns": {"nameservers": ["10.96.0.10"]}
  }
})";

Struct ToStruct(const std::string& json) {
  Struct out;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &out).ok())
      << json;
  return out;
}

PluginConfig MustParse(absl::string_view json) {
  std::variant<PluginConfig, CniError> parsed = ParsePluginConfig(json);
  if (auto* error = std::get_if<CniError>(&parsed)) {
    ADD_FAILURE() << error->message;
    return {};
  }
  return std::get<PluginConfig>(parsed);
}

CniError MustFail(absl::string_view json) {
  std::variant<PluginConfig, CniError> parsed = ParsePluginConfig(json);
  EXPECT_TRUE(std::holds_alternative<CniError>(parsed)) << json;
  if (auto* error = std::get_if<CniError>(&parsed)) return *error;
  return {};
}

TEST(CniConfig, ReadsItsFieldsAndPrevResultsInterfaces) {
  PluginConfig config = MustParse(kBridgeConfig);
  EXPECT_EQ(config.cni_version, "1.0.0");
  EXPECT_EQ(config.name, "pods");
  EXPECT_EQ(config.node_name, "node-a");
  EXPECT_EQ(config.bpffs_root, kDefaultBpffsRoot);
  EXPECT_EQ(config.host_interfaces,
            (std::vector<std::string>{"cni0", "veth1234"}));
  EXPECT_EQ(config.pod_interfaces, std::vector<std::string>{"eth0"});
  ASSERT_TRUE(config.prev_result.has_value());
}

TEST(CniConfig, BpffsRootFromTheConfiguration) {
  PluginConfig config = MustParse(
      R"({"cniVersion": "0.4.0", "name": "n", "bpffsRoot": "/sys/fs/bpf/x"})");
  EXPECT_EQ(config.bpffs_root, "/sys/fs/bpf/x");
  EXPECT_EQ(config.node_name, "");
  EXPECT_FALSE(config.prev_result.has_value());
}

TEST(CniConfig, ResultIsPrevResultUnchanged) {
  PluginConfig config = MustParse(kBridgeConfig);
  Struct whole = ToStruct(kBridgeConfig);
  Struct want = whole.fields().at("prevResult").struct_value();
  Struct got = ToStruct(ResultJson(config));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(want, got))
      << ResultJson(config);
}

TEST(CniConfig, ResultGetsTheConfigurationsVersionWhenItHasNone) {
  PluginConfig config = MustParse(R"({"cniVersion": "0.4.0", "prevResult":
      {"interfaces": [{"name": "veth9"}], "ips": []}})");
  Struct got = ToStruct(ResultJson(config));
  EXPECT_EQ(got.fields().at("cniVersion").string_value(), "0.4.0");
  EXPECT_EQ(got.fields().at("interfaces").list_value().values_size(), 1);
  EXPECT_EQ(config.host_interfaces, std::vector<std::string>{"veth9"});
}

TEST(CniConfig, RefusesOtherVersionsAndBadJson) {
  EXPECT_EQ(MustFail(R"({"cniVersion": "0.3.1"})").code,
            CniErrorCode::kIncompatibleVersion);
  EXPECT_EQ(MustFail(R"({"name": "x"})").code,
            CniErrorCode::kIncompatibleVersion);
  EXPECT_EQ(MustFail("{not json").code, CniErrorCode::kDecodeFailure);
  EXPECT_EQ(MustFail(R"({"cniVersion": "1.0.0", "prevResult": 3})").code,
            CniErrorCode::kDecodeFailure);
}

TEST(CniConfig, ErrorAndVersionObjects) {
  Struct error = ToStruct(
      ErrorJson("0.4.0", {CniErrorCode::kTryAgainLater, "node \"starting\""}));
  EXPECT_EQ(error.fields().at("cniVersion").string_value(), "0.4.0");
  EXPECT_EQ(error.fields().at("code").number_value(), 11);
  EXPECT_EQ(error.fields().at("msg").string_value(), "node \"starting\"");
  // An unreadable configuration's error is still a valid object.
  EXPECT_EQ(ToStruct(ErrorJson("", {CniErrorCode::kDecodeFailure, "x"}))
                .fields()
                .at("cniVersion")
                .string_value(),
            "1.0.0");
  Struct version = ToStruct(VersionJson());
  const auto& list = version.fields().at("supportedVersions").list_value();
  ASSERT_EQ(list.values_size(), 2);
  EXPECT_EQ(list.values(0).string_value(), "0.4.0");
  EXPECT_EQ(list.values(1).string_value(), "1.0.0");
}

TEST(CniRequest, ReadsTheEnvironment) {
  std::map<std::string, std::string> env = {{"CNI_COMMAND", "ADD"},
                                            {"CNI_CONTAINERID", "c1"},
                                            {"CNI_NETNS", "/run/netns/p"},
                                            {"CNI_IFNAME", "eth0"},
                                            {"CNI_PATH", "/opt/cni/bin"}};
  auto getenv = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto request = ReadRequest(getenv);
  ASSERT_TRUE(std::holds_alternative<CniRequest>(request));
  EXPECT_EQ(std::get<CniRequest>(request).netns, "/run/netns/p");
  EXPECT_EQ(std::get<CniRequest>(request).ifname, "eth0");

  env.erase("CNI_NETNS");
  ASSERT_TRUE(std::holds_alternative<CniError>(ReadRequest(getenv)));
  EXPECT_EQ(std::get<CniError>(ReadRequest(getenv)).code,
            CniErrorCode::kInvalidEnvironment);
  env["CNI_COMMAND"] = "DEL";  // the namespace may be gone by then
  EXPECT_TRUE(std::holds_alternative<CniRequest>(ReadRequest(getenv)));
  env["CNI_COMMAND"] = "GC";
  EXPECT_TRUE(std::holds_alternative<CniError>(ReadRequest(getenv)));
  env = {{"CNI_COMMAND", "VERSION"}};
  EXPECT_TRUE(std::holds_alternative<CniRequest>(ReadRequest(getenv)));
}

// The commands that never reach the kernel.
TEST(CniPlugin, VersionDelAndUnchainedAdd) {
  CniRequest request{.command = "VERSION"};
  PluginOutput out = RunPlugin(request, "");
  EXPECT_EQ(out.exit_code, 0);
  // A Struct's fields come out in no fixed order: compare as objects.
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      ToStruct(out.stdout_text), ToStruct(VersionJson())));

  request = {.command = "DEL", .container_id = "c", .ifname = "eth0"};
  out = RunPlugin(request, R"({"cniVersion": "1.0.0"})");
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.stdout_text, "");

  request.command = "ADD";
  request.netns = "/run/netns/p";
  out = RunPlugin(request, R"({"cniVersion": "1.0.0"})");
  EXPECT_NE(out.exit_code, 0);
  EXPECT_EQ(ToStruct(out.stdout_text).fields().at("code").number_value(), 7);
}

TEST(CniPlugin, PinDirIsTheNamedNodeOrTheOnlyOneWithPins) {
  namespace fs = std::filesystem;
  fs::path root = fs::path(testing::TempDir()) / "yard-cni-pins";
  fs::remove_all(root);
  fs::create_directories(root / "node-a");
  fs::create_directories(root / "empty");
  PluginConfig config;
  config.bpffs_root = root.string();
  config.node_name = "node-b";
  EXPECT_EQ(std::get<std::string>(ResolvePinDir(config)),
            (root / "node-b").string());

  config.node_name = "";
  // Nothing pinned yet: the node is starting, the runtime should retry.
  EXPECT_EQ(std::get<CniError>(ResolvePinDir(config)).code,
            CniErrorCode::kTryAgainLater);
  std::ofstream(root / "node-a" / "yard_from_pod") << "";
  EXPECT_EQ(std::get<std::string>(ResolvePinDir(config)),
            (root / "node-a").string());
  fs::create_directories(root / "node-c");
  std::ofstream(root / "node-c" / "yard_from_pod") << "";
  EXPECT_EQ(std::get<CniError>(ResolvePinDir(config)).code,
            CniErrorCode::kInvalidConfig);
  fs::remove_all(root);
}

}  // namespace
}  // namespace switchyard::cni
