// SPDX-License-Identifier: Apache-2.0
// Finding the API server: kubeconfig files of every shape the client
// accepts or refuses, the in-cluster service account, and the bearer token
// following its file as it rotates. Files only, no network.
#include "control/kube/kube_config.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "control/kube/bearer_token.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace switchyard::kube {
namespace {

using ::testing::HasSubstr;

// Debian's Abseil has its own string_view, which gtest prints char by char.
std::string Message(const absl::Status& status) {
  return std::string(status.message());
}

class KubeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = getenv("TMPDIR");
    std::string pattern = absl::StrCat(base != nullptr ? base : "/tmp",
                                       "/yard-kubeconfig-XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string File(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    std::filesystem::create_directories(
        std::filesystem::path(File(name)).parent_path());
    std::ofstream(File(name)) << text;
    return File(name);
  }
  // A kubeconfig whose one context "lab" joins cluster "lab" (`cluster`
  // is its body) and user "admin" (`user`, or no user when empty).
  std::string Kubeconfig(const std::string& cluster, const std::string& user,
                         const std::string& name = "config") {
    std::string text = absl::StrCat(
        "apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
        "clusters:\n- name: lab\n  cluster:\n",
        Indent(cluster),
        "contexts:\n- name: lab\n  context:\n    cluster: lab\n",
        user.empty() ? "" : "    user: admin\n", "    namespace: default\n");
    if (!user.empty()) {
      absl::StrAppend(&text, "users:\n- name: admin\n  user:\n", Indent(user));
    }
    return Write(name, text);
  }
  static std::string Indent(const std::string& body) {
    return absl::StrCat("    ", absl::StrReplaceAll(body, {{"\n", "\n    "}}),
                        "\n");
  }

  std::string dir_;
};

constexpr char kServer[] = "server: https://10.0.0.1:6443";

TEST_F(KubeConfigTest, TokenAndInlineCa) {
  std::string path =
      Kubeconfig(absl::StrCat(kServer, "\ncertificate-authority-data: ",
                              absl::Base64Escape("CA PEM")),
                 "token: abc.def");
  absl::StatusOr<ApiServerConfig> config = LoadKubeconfig(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://10.0.0.1:6443");
  EXPECT_EQ(config->certificate_authority.pem, "CA PEM");
  EXPECT_EQ(config->certificate_authority.file, "");
  EXPECT_EQ(config->token, "abc.def");
  EXPECT_EQ(config->token_file, "");
  EXPECT_TRUE(config->client_certificate.empty());
  EXPECT_EQ(config->source, absl::StrCat("kubeconfig ", path, ", context lab"));
}

TEST_F(KubeConfigTest, FilesAreRelativeToTheKubeconfig) {
  Write("kube/pki/ca.crt", "CA PEM");
  Write("kube/pki/client.crt", "CERT PEM");
  Write("kube/pki/client.key", "KEY PEM");
  Write("kube/token", "from-file\n");
  std::string path = Kubeconfig(
      absl::StrCat(kServer, "\ncertificate-authority: pki/ca.crt"),
      "client-certificate: pki/client.crt\nclient-key: ./pki/client.key\n"
      "tokenFile: token",
      "kube/config");
  absl::StatusOr<ApiServerConfig> config = LoadKubeconfig(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->certificate_authority.file, File("kube/pki/ca.crt"));
  EXPECT_EQ(config->client_certificate.file, File("kube/pki/client.crt"));
  EXPECT_EQ(config->client_key.file, File("kube/pki/client.key"));
  EXPECT_EQ(config->token_file, File("kube/token"));
}

TEST_F(KubeConfigTest, ClientCertificateInline) {
  // Go wraps long base64 in some tools' output; the line ends are skipped.
  std::string cert = absl::Base64Escape(std::string(100, 'c'));
  cert.insert(40, "\n");
  std::string path = Kubeconfig(
      kServer,
      absl::StrCat("client-certificate-data: |\n  ",
                   absl::StrReplaceAll(cert, {{"\n", "\n  "}}),
                   "\nclient-key-data: ", absl::Base64Escape("KEY PEM")));
  absl::StatusOr<ApiServerConfig> config = LoadKubeconfig(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->client_certificate.pem, std::string(100, 'c'));
  EXPECT_EQ(config->client_key.pem, "KEY PEM");
  EXPECT_TRUE(config->certificate_authority.empty());  // system trust store
}

TEST_F(KubeConfigTest, ServerKeepsAPathPrefixButNoTrailingSlash) {
  std::string path =
      Kubeconfig("server: https://rancher.example/k8s/clusters/c-1/", "");
  absl::StatusOr<ApiServerConfig> config = LoadKubeconfig(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://rancher.example/k8s/clusters/c-1");
  EXPECT_EQ(config->token, "");
}

TEST_F(KubeConfigTest, ContextChosenByNameOrCurrentContext) {
  std::string path = Write("config", R"(
current-context: one
clusters:
- name: c1
  cluster: {server: "https://one:6443"}
- name: c2
  cluster: {server: "https://two:6443"}
contexts:
- name: one
  context: {cluster: c1, user: u1}
- name: two
  context: {cluster: c2, user: u2}
users:
- name: u1
  user: {token: t1}
- name: u2
  user: {token: t2}
)");
  absl::StatusOr<ApiServerConfig> current = LoadKubeconfig(path);
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_EQ(current->server, "https://one:6443");
  EXPECT_EQ(current->token, "t1");
  absl::StatusOr<ApiServerConfig> named = LoadKubeconfig(path, "two");
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->server, "https://two:6443");
  EXPECT_EQ(named->token, "t2");
  EXPECT_THAT(named->source, HasSubstr("context two"));

  absl::Status missing = LoadKubeconfig(path, "three").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(missing),
            absl::StrCat("kubeconfig ", path,
                         ": --context: no entry named \"three\" in contexts "
                         "(there are: one, two)"));
}

TEST_F(KubeConfigTest, NoCurrentContextAndNoneNamed) {
  std::string path = Write("config", R"(
clusters:
- name: c1
  cluster: {server: "https://one:6443"}
contexts:
- name: one
  context: {cluster: c1}
)");
  absl::Status status = LoadKubeconfig(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status),
            absl::StrCat("kubeconfig ", path,
                         ": current-context: not set, and no context was "
                         "named (--context)"));
  EXPECT_TRUE(LoadKubeconfig(path, "one").ok());
}

TEST_F(KubeConfigTest, AContextNamingAMissingCluster) {
  std::string path = Write("config", R"(
current-context: one
contexts:
- name: one
  context: {cluster: gone}
)");
  absl::Status status = LoadKubeconfig(path).status();
  EXPECT_EQ(Message(status),
            absl::StrCat("kubeconfig ", path,
                         ": contexts[one].context.cluster: no entry named "
                         "\"gone\" in clusters (none at all)"));
}

// Each refused shape, and the words the refusal must contain.
struct Refusal {
  const char* name;
  std::string cluster;
  std::string user;
  std::string message;  // after "kubeconfig <path>: "
};

TEST_F(KubeConfigTest, RefusesWhatItCannotHonour) {
  const std::string base64_key = absl::Base64Escape("KEY");
  const Refusal refusals[] = {
      {"exec plugin", kServer,
       "exec:\n  apiVersion: client.authentication.k8s.io/v1beta1\n"
       "  command: gke-gcloud-auth-plugin",
       "users[admin].user.exec: credential plugins are not supported "
       "(command \"gke-gcloud-auth-plugin\"); give a token, tokenFile or "
       "client certificate"},
      {"auth provider", kServer, "auth-provider:\n  name: oidc",
       "users[admin].user.auth-provider: auth provider plugins are not "
       "supported (\"oidc\"); give a token, tokenFile or client certificate"},
      {"insecure", absl::StrCat(kServer, "\ninsecure-skip-tls-verify: true"),
       "token: t",
       "clusters[lab].cluster.insecure-skip-tls-verify: refused: TLS is "
       "always verified; give the cluster's CA (certificate-authority or "
       "certificate-authority-data)"},
      {"plain http", "server: http://10.0.0.1:8080", "token: t",
       "clusters[lab].cluster.server: \"http://10.0.0.1:8080\" is not an "
       "https:// URL; the API server is only spoken to over verified TLS"},
      {"no scheme", "server: 10.0.0.1:6443", "token: t",
       "clusters[lab].cluster.server: \"10.0.0.1:6443\" is not an https:// "
       "URL; the API server is only spoken to over verified TLS"},
      {"no host", "server: https://:6443", "token: t",
       "clusters[lab].cluster.server: \"https://:6443\" names no host"},
      {"no server", "certificate-authority-data: Q0E=", "token: t",
       "clusters[lab].cluster.server: missing"},
      {"bad base64", kServer,
       "client-certificate-data: Q0VSVA==\nclient-key-data: not*base64",
       "users[admin].user.client-key-data: not valid base64"},
      {"basic auth", kServer, "username: admin\npassword: secret",
       "users[admin].user.username: basic authentication is not supported "
       "(Kubernetes removed it in 1.19); give a token, tokenFile or client "
       "certificate"},
      {"key without certificate", kServer,
       absl::StrCat("client-key-data: ", base64_key),
       "users[admin].user: a client key without a client certificate"},
      {"both file and data", kServer,
       absl::StrCat("client-key-data: ", base64_key,
                    "\nclient-key: key.pem\nclient-certificate-data: Q0E="),
       "users[admin].user: both client-key and client-key-data are given; "
       "give one"},
      {"server a list", "server: [a, b]", "token: t",
       "clusters[lab].cluster.server: expected a string"},
      {"impersonation", kServer, "token: t\nas: someone",
       "users[admin].user.as: impersonation is not supported"},
      {"token of two lines", kServer, "token: \"abc\\ndef\"",
       "users[admin].user.token: the token holds a line break or another "
       "control character"},
  };
  for (const Refusal& refusal : refusals) {
    SCOPED_TRACE(refusal.name);
    std::string path = Kubeconfig(refusal.cluster, refusal.user);
    absl::Status status = LoadKubeconfig(path).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_EQ(Message(status),
              absl::StrCat("kubeconfig ", path, ": ", refusal.message));
  }
}

TEST_F(KubeConfigTest, MissingFilesAreNotFoundAndNamed) {
  absl::Status status = LoadKubeconfig(File("nope")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(status), absl::StrCat("kubeconfig ", File("nope"),
                                          ": No such file or directory"));

  std::string path = Kubeconfig(
      absl::StrCat(kServer, "\ncertificate-authority: ca.crt"), "token: t");
  status = LoadKubeconfig(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(status),
            absl::StrCat("kubeconfig ", path,
                         ": clusters[lab].cluster.certificate-authority: ",
                         File("ca.crt"), ": No such file or directory"));

  path = Kubeconfig(kServer, "tokenFile: /nonexistent/token");
  status = LoadKubeconfig(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(status),
              HasSubstr("users[admin].user.tokenFile: /nonexistent/token"));
}

TEST_F(KubeConfigTest, YamlErrorsNameTheLine) {
  std::string path = Write("config", "clusters:\n- name: [unclosed\n");
  absl::Status status = LoadKubeconfig(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(status),
              HasSubstr(absl::StrCat("kubeconfig ", path, ": line ")));

  path = Write("empty", "");
  EXPECT_EQ(Message(LoadKubeconfig(path).status()),
            absl::StrCat("kubeconfig ", path, ": empty"));
  path = Write("list", "- a\n- b\n");
  EXPECT_EQ(Message(LoadKubeconfig(path).status()),
            absl::StrCat("kubeconfig ", path, ": expected a map at the top"));
}

// ---- In-cluster --------------------------------------------------------

class InClusterTest : public KubeConfigTest {
 protected:
  void SetUp() override {
    KubeConfigTest::SetUp();
    Write("sa/token", "service-account-token\n");
    Write("sa/ca.crt", "CA PEM");
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  }
  void TearDown() override {
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    KubeConfigTest::TearDown();
  }
};

TEST_F(InClusterTest, FromTheEnvironmentAndTheServiceAccount) {
  absl::StatusOr<ApiServerConfig> config = InClusterConfig(File("sa"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->token_file, File("sa/token"));
  EXPECT_EQ(config->token, "");
  EXPECT_EQ(config->certificate_authority.file, File("sa/ca.crt"));
  EXPECT_EQ(config->source,
            absl::StrCat("in-cluster service account ", File("sa")));
}

TEST_F(InClusterTest, AnIpv6HostIsBracketed) {
  setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
  absl::StatusOr<ApiServerConfig> config = InClusterConfig(File("sa"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://[fd00::1]:6443");
}

TEST_F(InClusterTest, OutsideAPodSaysToUseKubeconfig) {
  unsetenv("KUBERNETES_SERVICE_HOST");
  absl::Status status = InClusterConfig(File("sa")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Message(status),
            "KUBERNETES_SERVICE_HOST is not set, so this is not a Kubernetes "
            "pod; outside a cluster, give --kubeconfig");
  unsetenv("KUBERNETES_SERVICE_PORT");
  EXPECT_THAT(Message(InClusterConfig(File("sa")).status()),
              HasSubstr("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                        "are not set"));
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "https", 1);
  EXPECT_EQ(Message(InClusterConfig(File("sa")).status()),
            "KUBERNETES_SERVICE_PORT=\"https\" is not a port number");
}

TEST_F(InClusterTest, MissingServiceAccountFilesAreNamed) {
  std::filesystem::remove(File("sa/ca.crt"));
  absl::Status status = InClusterConfig(File("sa")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(status), HasSubstr(File("sa/ca.crt")));
  EXPECT_THAT(Message(status), HasSubstr("--kubeconfig"));

  status = InClusterConfig(File("elsewhere")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(status), HasSubstr(File("elsewhere/token")));
}

// ---- The token following its file -------------------------------------

class BearerTokenTest : public KubeConfigTest {
 protected:
  // Replaces the file in one step, as the kubelet's symlink swap does.
  void Rotate(const std::string& token) {
    Write("token.new", token);
    std::filesystem::rename(File("token.new"), File("token"));
  }
  absl::Time now_ = absl::FromUnixSeconds(1000);
};

TEST_F(BearerTokenTest, ARotatedTokenIsPickedUpAtTheNextCheck) {
  Rotate("first\n");
  BearerToken::Options options;
  options.now = [this] { return now_; };
  absl::StatusOr<std::unique_ptr<BearerToken>> token =
      BearerToken::FromFile(File("token"), options);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ((*token)->Current(), "first");

  Rotate("second\n");
  now_ += absl::Milliseconds(500);  // within the check interval: not looked at
  EXPECT_EQ((*token)->Current(), "first");
  now_ += absl::Milliseconds(500);
  EXPECT_EQ((*token)->Current(), "second");

  // Rewritten in place, same size: the mtime tells.
  now_ += absl::Seconds(1);
  std::ofstream(File("token")) << "third!\n";
  std::filesystem::last_write_time(
      File("token"), std::filesystem::last_write_time(File("token")) +
                         std::chrono::seconds(1));
  EXPECT_EQ((*token)->Current(), "third!");
}

TEST_F(BearerTokenTest, AnUnreadableRotationKeepsTheLastGoodToken) {
  Rotate("good\n");
  BearerToken::Options options;
  options.now = [this] { return now_; };
  absl::StatusOr<std::unique_ptr<BearerToken>> token =
      BearerToken::FromFile(File("token"), options);
  ASSERT_TRUE(token.ok()) << token.status();

  std::filesystem::remove(File("token"));
  now_ += absl::Seconds(1);
  EXPECT_EQ((*token)->Current(), "good");
  Rotate("  \n");  // empty: a write caught half-way
  now_ += absl::Seconds(1);
  EXPECT_EQ((*token)->Current(), "good");
  Rotate("better\n");
  now_ += absl::Seconds(1);
  EXPECT_EQ((*token)->Current(), "better");
}

TEST_F(BearerTokenTest, AFileThatCannotBeReadAtStartIsAnError) {
  EXPECT_EQ(BearerToken::FromFile(File("token"), {}).status().code(),
            absl::StatusCode::kNotFound);
  Write("token", "\n");
  absl::Status status = BearerToken::FromFile(File("token"), {}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status),
            absl::StrCat(File("token"), ": empty; expected a bearer token"));
  Write("token", "one\ntwo\n");
  status = BearerToken::FromFile(File("token"), {}).status();
  EXPECT_EQ(Message(status),
            absl::StrCat(File("token"),
                         ": the token holds a line break or another control "
                         "character"));
}

}  // namespace
}  // namespace switchyard::kube
