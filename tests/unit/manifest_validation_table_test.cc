// SPDX-License-Identifier: Apache-2.0
// Bad and tricky manifests, each taken the way `yardctl apply -f bad.yaml`
// takes it: decoded (with the decoder's limits and unknown-field check),
// the write's size checked as the controller's gRPC edge does, then
// stored. Each case names the refusal or warning it must produce; a case
// with neither must be stored without a word. The first cases are the
// ones issue 14 measured; the rest are Kubernetes' rules around them.
#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/common/apply_limits.h"
#include "control/controller/cluster_store.h"
#include "control/controller/validation.h"
#include "control/manifest/manifest.h"
#include "control/manifest/yaml_limits.h"
#include "gtest/gtest.h"
#include "tests/unit/controller_store_test_util.h"

namespace switchyard {
namespace {

using manifest::UnknownFields;

struct BadManifest {
  const char* description;
  std::string yaml;
  const char* error;    // a substring of the refusal; nullptr: accepted
  const char* warning;  // a substring of one warning; nullptr: none at all
  UnknownFields unknown_fields = UnknownFields::kWarn;
};

void PrintTo(const BadManifest& bad, std::ostream* os) {
  *os << bad.description;
}

// A Service with `spec` (indented under spec:) and optional metadata lines.
std::string Service(const std::string& name, const std::string& spec,
                    const std::string& metadata = "") {
  return absl::StrCat("apiVersion: v1\nkind: Service\nmetadata:\n  name: ",
                      name, "\n", metadata, "spec:\n", spec);
}

const std::string kPorts = "  ports:\n  - port: 80\n";

std::string Labels(const std::string& key, const std::string& value) {
  return absl::StrCat("  labels:\n    \"", key, "\": \"", value, "\"\n");
}

// Nine levels of ten aliases each: 237 bytes that expand to 10^9 nodes.
std::string BillionLaughs() {
  std::string text =
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
      "  annotations:\n    a0: &a0 \"lol\"\n";
  for (int level = 1; level <= 9; ++level) {
    absl::StrAppend(&text, "    a", level, ": &a", level, " [");
    for (int i = 0; i < 10; ++i) {
      absl::StrAppend(&text, i == 0 ? "" : ", ", "*a", level - 1);
    }
    absl::StrAppend(&text, "]\n");
  }
  return absl::StrCat(text, "spec:\n", kPorts);
}

std::string Nested(int depth) {
  return absl::StrCat(
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
      "  x: ",
      std::string(depth, '['), std::string(depth, ']'), "\n");
}

std::vector<BadManifest> Cases() {
  const std::string mb(1 << 20, 'x');
  const std::string kb60(60 << 10, 'y');
  return {
      // ---- What issue 14 found stored although Kubernetes refuses it.
      {"service name starting with a digit", Service("1web", kPorts),
       "Service default/1web: metadata.name: \"1web\" is not a valid name "
       "(DNS-1035 label",
       nullptr},
      {"healthCheckNodePort on a NodePort service",
       Service("web",
               "  type: NodePort\n  externalTrafficPolicy: Local\n"
               "  healthCheckNodePort: 32000\n" +
                   kPorts),
       "Service default/web: spec.healthCheckNodePort: may only be set when "
       "type is LoadBalancer and externalTrafficPolicy is Local",
       nullptr},
      {"affinity timeout 0 is refused, not defaulted",
       Service("web",
               "  sessionAffinity: ClientIP\n  sessionAffinityConfig:\n"
               "    clientIP:\n      timeoutSeconds: 0\n" +
                   kPorts),
       "Service default/web: spec.sessionAffinityConfig.clientIP."
       "timeoutSeconds: 0 is outside 1-86400",
       nullptr},
      {"1 MB annotation",
       Service("web", kPorts,
               absl::StrCat("  annotations:\n    big: ", mb, "\n")),
       "Service default/web: metadata.annotations: 1048579 bytes of keys and "
       "values exceed Kubernetes' limit of 262144 bytes",
       nullptr},
      {"237-byte alias bomb refused before it expands", BillionLaughs(),
       "bad.yaml: document 1: line 12, column", nullptr},
      {"misspelt protocol warns and names the path",
       Service("web", "  ports:\n  - port: 53\n    protocoll: UDP\n"), nullptr,
       "bad.yaml: document 1 (Service default/web): unknown field "
       "\"spec.ports[0].protocoll\" (line 8, column 5)"},
      {"misspelt sessionAffinity warns",
       Service("web", "  sessionAfinity: ClientIP\n" + kPorts), nullptr,
       "unknown field \"spec.sessionAfinity\" (line 6"},
      {"misspelt protocol refused with --validate=strict",
       Service("web", "  ports:\n  - port: 53\n    protocoll: UDP\n"),
       "bad.yaml: document 1 (Service default/web): unknown field "
       "\"spec.ports[0].protocoll\" (line 8, column 5); --validate=strict",
       nullptr, UnknownFields::kStrict},
      {"unknown field ignored with --validate=ignore",
       Service("web", "  ports:\n  - port: 53\n    protocoll: UDP\n"), nullptr,
       nullptr, UnknownFields::kIgnore},
      {"non-UTF-8 byte names file, line and column",
       Service("web", kPorts, "  labels:\n    app: caf\xe9\n"),
       "bad.yaml: line 6, column 13: not valid UTF-8", nullptr},
      {"nesting past the limit names it and the line", Nested(150),
       "bad.yaml: document 1: line 5, column 104: maps and lists nest deeper "
       "than 100 levels (the nesting limit)",
       nullptr},
      {"nesting past yaml-cpp's own guard reads the same", Nested(5000),
       "maps and lists nest deeper than 100 levels", nullptr},

      // ---- Service names and the rules next to those above.
      {"service name with capitals", Service("Web", kPorts),
       "metadata.name: \"Web\" is not a valid name (DNS-1035 label", nullptr},
      {"service name of 64 characters", Service(std::string(64, 'a'), kPorts),
       "is not a valid name (DNS-1035 label", nullptr},
      {"service name ending with '-'", Service("web-", kPorts),
       "\"web-\" is not a valid name", nullptr},
      {"healthCheckNodePort on a ClusterIP service",
       Service("web", "  healthCheckNodePort: 32000\n" + kPorts),
       "spec.healthCheckNodePort: may only be set when type is LoadBalancer",
       nullptr},
      {"healthCheckNodePort on a LoadBalancer with policy Cluster",
       Service("web",
               "  type: LoadBalancer\n  healthCheckNodePort: 32000\n" + kPorts),
       "spec.healthCheckNodePort: may only be set when type is LoadBalancer "
       "and externalTrafficPolicy is Local",
       nullptr},
      {"healthCheckNodePort on a LoadBalancer with policy Local is fine",
       Service("web",
               "  type: LoadBalancer\n  externalTrafficPolicy: Local\n"
               "  healthCheckNodePort: 32000\n" +
                   kPorts),
       nullptr, nullptr},
      {"affinity timeout above a day",
       Service("web",
               "  sessionAffinity: ClientIP\n  sessionAffinityConfig:\n"
               "    clientIP:\n      timeoutSeconds: 86401\n" +
                   kPorts),
       "timeoutSeconds: 86401 is outside 1-86400", nullptr},
      {"affinity timeout negative",
       Service("web",
               "  sessionAffinity: ClientIP\n  sessionAffinityConfig:\n"
               "    clientIP:\n      timeoutSeconds: -5\n" +
                   kPorts),
       "timeoutSeconds: -5 is outside 1-86400", nullptr},
      {"affinity timeout quoted",
       Service("web",
               "  sessionAffinity: ClientIP\n  sessionAffinityConfig:\n"
               "    clientIP:\n      timeoutSeconds: \"60\"\n" +
                   kPorts),
       "bad.yaml: document 1 (Service default/web): spec.sessionAffinityConfig."
       "clientIP.timeoutSeconds: \"60\" is a string, not an integer (remove "
       "the quotes) (line 9, column 23)",
       nullptr},
      {"affinity config without ClientIP affinity",
       Service("web",
               "  sessionAffinityConfig:\n    clientIP:\n"
               "      timeoutSeconds: 60\n" +
                   kPorts),
       "spec.sessionAffinityConfig: may only be set when sessionAffinity is "
       "ClientIP",
       nullptr},
      {"empty affinity config without ClientIP affinity",
       Service("web", "  sessionAffinity: None\n  sessionAffinityConfig: {}\n" +
                          kPorts),
       "spec.sessionAffinityConfig: may only be set when sessionAffinity is "
       "ClientIP",
       nullptr},
      {"ClientIP affinity without a timeout takes the default",
       Service("web", "  sessionAffinity: ClientIP\n" + kPorts), nullptr,
       nullptr},

      // ---- Labels, selectors and annotations.
      {"annotations over 256 KiB in total",
       Service("web", kPorts,
               absl::StrCat("  annotations:\n    a: ", kb60, "\n    b: ", kb60,
                            "\n    c: ", kb60, "\n    d: ", kb60,
                            "\n    e: ", kb60, "\n")),
       "metadata.annotations: 307205 bytes of keys and values exceed "
       "Kubernetes' limit of 262144",
       nullptr},
      {"annotation key with a space",
       Service("web", kPorts, "  annotations:\n    \"bad key\": x\n"),
       "metadata.annotations: key \"bad key\": the name part \"bad key\" must "
       "be letters, digits",
       nullptr},
      {"label value of 64 characters",
       Service("web", kPorts, Labels("app", std::string(64, 'v'))),
       "Service default/web: metadata.labels[app]: value \"vvvv", nullptr},
      {"label value with a space",
       Service("web", kPorts, Labels("app", "my app")),
       "metadata.labels[app]: value \"my app\" must be letters, digits",
       nullptr},
      {"label key with two slashes",
       Service("web", kPorts, Labels("a.io/b/c", "x")),
       "metadata.labels: key \"a.io/b/c\": more than one '/'", nullptr},
      {"label key with an uppercase prefix",
       Service("web", kPorts, Labels("Example.com/app", "x")),
       "the prefix \"Example.com\" is not a DNS subdomain", nullptr},
      {"label key with an empty prefix",
       Service("web", kPorts, Labels("/app", "x")),
       "metadata.labels: key \"/app\": the prefix before '/' is empty",
       nullptr},
      {"label key name of 64 characters",
       Service("web", kPorts, Labels(std::string(64, 'k'), "x")),
       "the name part is 64 characters long, more than Kubernetes' limit of "
       "63",
       nullptr},
      {"valid qualified label keys and an empty value",
       Service("web", kPorts,
               "  labels:\n    app.kubernetes.io/name: Web_App.v1\n"
               "    empty: \"\"\n"),
       nullptr, nullptr},
      {"selector value with a slash",
       Service("web", "  selector:\n    app: a/b\n" + kPorts),
       "Service default/web: spec.selector[app]: value \"a/b\" must be",
       nullptr},
      {"EndpointSlice label value too long",
       "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n"
       "  name: web-1\n  labels:\n    kubernetes.io/service-name: web\n"
       "    tier: " +
           std::string(70, 't') + "\naddressType: IPv4\n",
       "EndpointSlice default/web-1: metadata.labels[tier]: value", nullptr},

      // ---- Unknown fields elsewhere, and fields Kubernetes does know.
      {"unknown top-level field, and the spec it was meant to be",
       "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspecs:\n" +
           kPorts,
       "spec.ports: at least one port is required",
       "unknown field \"specs\" (line 5, column 1)"},
      {"unknown metadata field",
       Service("web", kPorts, "  lables:\n    app: web\n"), nullptr,
       "unknown field \"metadata.lables\""},
      {"unknown endpoint field in a slice",
       "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n"
       "  name: web-1\n  labels:\n    kubernetes.io/service-name: web\n"
       "addressType: IPv4\nendpoints:\n- adresses: [10.1.0.1]\n",
       "endpoints[0].addresses: at least one address is required",
       "(EndpointSlice default/web-1): unknown field "
       "\"endpoints[0].adresses\" (line 9, column 3)"},
      {"unknown field of a List", "apiVersion: v1\nkind: List\nitemz: []\n",
       nullptr, "bad.yaml: document 1: unknown field \"itemz\""},
      {"unknown field in a List's item",
       "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n"
       "  metadata: {name: web}\n  spec:\n    ports: [{port: 80}]\n"
       "    tipe: NodePort\n",
       nullptr,
       "bad.yaml: document 1: items[0] (Service default/web): unknown field "
       "\"spec.tipe\" (line 9, column 5)"},
      {"unknown field in a second document counts lines from the stream",
       Service("a", kPorts) + "---\n" +
           Service("b", "  ports:\n  - port: 80\n    nodeport: 30001\n"),
       nullptr,
       "(Service default/b): unknown field \"spec.ports[0].nodeport\" "
       "(line 16, column 5)"},
      {"kubectl get -o yaml output loads without a warning",
       "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
       "  namespace: default\n  uid: 1f6c\n  resourceVersion: \"42\"\n"
       "  creationTimestamp: \"2024-01-01T00:00:00Z\"\n"
       "  managedFields:\n  - manager: kubectl\n    fieldsV1: {f:spec: {}}\n"
       "spec:\n  clusterIPs: [10.96.0.10]\n  clusterIP: 10.96.0.10\n"
       "  internalTrafficPolicy: Cluster\n  trafficDistribution: PreferClose\n"
       "  ipFamilies: [IPv4]\n  ipFamilyPolicy: SingleStack\n"
       "  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n"
       "    targetPort: 8080\n  sessionAffinity: None\n  type: ClusterIP\n"
       "status:\n  loadBalancer: {}\n  conditions: []\n",
       nullptr, nullptr},

      // ---- Decoding errors name the line and column.
      {"YAML syntax error",
       "apiVersion: v1\nkind: Service\nmetadata: {name: web\nspec: {}\n",
       "bad.yaml: document 1: line 4, column 5: YAML syntax error", nullptr},
      {"string where a port number belongs",
       Service("web", "  ports:\n  - port: http\n"),
       "spec.ports[0].port: \"http\" is not an integer (line 7, column 11)",
       nullptr},
      {"stray bracket after the document", Service("web", kPorts) + "]\n",
       "bad.yaml: document 1: line 8, column 1: YAML syntax error", nullptr},
  };
}

class BadManifestTest : public ::testing::TestWithParam<BadManifest> {};

// Decode -> the gRPC edge's write limits -> the store. `warnings` gets
// what yardctl would print.
absl::Status ApplyAsYardctlWould(const BadManifest& bad,
                                 std::vector<std::string>* warnings) {
  absl::StatusOr<manifest::ManifestSet> set = manifest::ParseManifests(
      bad.yaml, "bad.yaml", {.unknown_fields = bad.unknown_fields});
  if (!set.ok()) return set.status();
  *warnings = set->warnings;
  if (absl::Status s = controller::CheckWriteLimits(set->objects); !s.ok()) {
    return s;
  }
  std::unique_ptr<controller::ClusterStore> store =
      controller::testing::OpenOrDie();
  if (store == nullptr) return absl::InternalError("no store");
  return store->Apply(set->objects).status();
}

TEST_P(BadManifestTest, RefusedOrWarnedInTheseWords) {
  const BadManifest& bad = GetParam();
  std::vector<std::string> warnings;
  const auto start = std::chrono::steady_clock::now();
  absl::Status status = ApplyAsYardctlWould(bad, &warnings);
  // Refusing a hostile file is cheap; expanding it was not.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  if (bad.error == nullptr) {
    EXPECT_TRUE(status.ok()) << status;
  } else {
    EXPECT_FALSE(status.ok());
    EXPECT_NE(status.message().find(bad.error), std::string::npos)
        << "got: " << status.message() << "\nwant: " << bad.error;
  }
  std::string all = absl::StrJoin(warnings, "\n");
  if (bad.warning == nullptr) {
    EXPECT_TRUE(warnings.empty()) << all;
  } else {
    EXPECT_NE(all.find(bad.warning), std::string::npos)
        << "got: " << all << "\nwant: " << bad.warning;
  }
}

INSTANTIATE_TEST_SUITE_P(Table, BadManifestTest, ::testing::ValuesIn(Cases()));

TEST(ManifestValidationTest, AffinityDefaultIsStoredAndAnExplicitOneKept) {
  std::unique_ptr<controller::ClusterStore> store =
      controller::testing::OpenOrDie();
  absl::StatusOr<manifest::ManifestSet> set = manifest::ParseManifests(
      Service("a", "  sessionAffinity: ClientIP\n" + kPorts) + "---\n" +
          Service("b",
                  "  sessionAffinity: ClientIP\n  sessionAffinityConfig:\n"
                  "    clientIP: {timeoutSeconds: 1}\n" +
                      kPorts),
      "ok.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  absl::StatusOr<controller::ApplyResult> result = store->Apply(set->objects);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->objects[0]
                .service()
                .spec()
                .session_affinity_config()
                .client_ip_timeout_seconds(),
            10800);
  EXPECT_EQ(result->objects[1]
                .service()
                .spec()
                .session_affinity_config()
                .client_ip_timeout_seconds(),
            1);
}

v1::Object NodeNamed(int i) {
  v1::Object object;
  object.mutable_node()->mutable_metadata()->set_name(absl::StrCat("n", i));
  return object;
}

TEST(ManifestValidationTest, ObjectsPerApplyLimit) {
  std::vector<v1::Object> objects;
  for (int i = 0; i < kMaxObjectsPerApply; ++i) objects.push_back(NodeNamed(i));
  EXPECT_TRUE(controller::CheckWriteLimits(objects).ok());
  objects.push_back(NodeNamed(kMaxObjectsPerApply));
  absl::Status status = controller::CheckWriteLimits(objects);
  EXPECT_NE(status.message().find("50001 objects in one apply exceed the "
                                  "limit of 50000 objects per apply"),
            std::string::npos)
      << status;
}

TEST(ManifestValidationTest, BytesPerApplyLimit) {
  // Each object is within its own limits (250 KB of annotations); together
  // they are not.
  std::vector<v1::Object> objects;
  const std::string value(250'000, 'a');
  for (int i = 0; i * 250'000 <= kMaxApplyBytes; ++i) {
    v1::Object object = NodeNamed(i);
    (*object.mutable_node()->mutable_metadata()->mutable_annotations())["a"] =
        value;
    objects.push_back(std::move(object));
  }
  absl::Status status = controller::CheckWriteLimits(objects);
  EXPECT_NE(status.message().find("exceed the limit of 33554432 bytes per "
                                  "apply (encoded) at Node n134"),
            std::string::npos)
      << status;
}

TEST(ManifestValidationTest, AliasesWithinTheLimitStillLoad) {
  // A List sharing one labels block among many items is what aliases are
  // for; it must keep working.
  std::string text =
      "apiVersion: v1\nkind: List\nitems:\n"
      "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: s0\n"
      "    labels: &common {team: shop, tier: web}\n"
      "  spec: {ports: [{port: 80}]}\n";
  for (int i = 1; i < 200; ++i) {
    absl::StrAppend(&text, "- apiVersion: v1\n  kind: Service\n  metadata:\n",
                    "    name: s", i, "\n    labels: *common\n",
                    "  spec: {ports: [{port: 80}]}\n");
  }
  absl::StatusOr<manifest::ManifestSet> set =
      manifest::ParseManifests(text, "list.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->objects.size(), 200u);
  EXPECT_TRUE(set->warnings.empty());
}

TEST(ManifestValidationTest, FileSizeLimit) {
  std::string text(manifest::kMaxManifestBytes + 1, '#');
  absl::StatusOr<manifest::ManifestSet> set =
      manifest::ParseManifests(text, "huge.yaml");
  EXPECT_NE(set.status().message().find(
                "huge.yaml: larger than 134217728 bytes (the limit for one "
                "manifest file)"),
            std::string::npos)
      << set.status();
}

TEST(ManifestValidationTest, TableIsLargeEnough) {
  EXPECT_GE(Cases().size(), 30u);
}

}  // namespace
}  // namespace switchyard
