// SPDX-License-Identifier: Apache-2.0
// LoadKubeconfig(): the API server as kubectl's configuration file names it.
// (InClusterConfig() is in in_cluster_config.cc.)
#include "control/kube/kube_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "control/kube/bearer_token.h"
#include "control/kube/read_file.h"

namespace switchyard::kube {
namespace {

// ---- The server URL ---------------------------------------------------

// "https://host[:port][/prefix]" with the trailing slash removed. Only the
// scheme and a non-empty host are checked: libcurl parses the rest, and its
// error names the URL.
absl::StatusOr<std::string> CheckServer(absl::string_view server) {
  absl::string_view rest = server;
  if (!absl::ConsumePrefix(&rest, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", server,
        "\" is not an https:// URL; the API server is only spoken to over "
        "verified TLS"));
  }
  if (rest.empty() || rest.front() == '/' || rest.front() == ':') {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", server, "\" names no host"));
  }
  while (absl::ConsumeSuffix(&server, "/")) {
  }
  return std::string(server);
}

absl::Status CheckReadable(const std::string& path) {
  absl::StatusOr<std::string> text = ReadConfigFile(path);
  return text.status();
}

// ---- Kubeconfig ----------------------------------------------------------

// One kubeconfig being read: its name and directory, for messages and for
// relative file names.
class KubeconfigReader {
 public:
  explicit KubeconfigReader(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(path_, ec);
    dir_ = ec ? std::filesystem::path(path_).parent_path()
              : absolute.parent_path();
  }

  absl::StatusOr<ApiServerConfig> Read(const std::string& context);

 private:
  absl::Status Error(
      absl::string_view where, absl::string_view message,
      absl::StatusCode code = absl::StatusCode::kInvalidArgument) const {
    return absl::Status(code, absl::StrCat("kubeconfig ", path_, ": ", where,
                                           where.empty() ? "" : ": ", message));
  }
  // An error from reading a file the kubeconfig names, keeping its code
  // (NotFound, PermissionDenied) and adding where it was named.
  absl::Status FileError(absl::string_view where,
                         const absl::Status& status) const {
    return Error(where, status.message(), status.code());
  }

  absl::StatusOr<std::string> String(const YAML::Node& map,
                                     const std::string& where,
                                     const char* key) const;
  absl::StatusOr<bool> Bool(const YAML::Node& map, const std::string& where,
                            const char* key) const;
  // The `inner` map of the entry of `list` named `name`:
  // clusters[name].cluster.
  absl::StatusOr<YAML::Node> Named(const YAML::Node& root, const char* list,
                                   const std::string& name, const char* inner,
                                   absl::string_view named_by) const;
  // A file name from the kubeconfig, relative to its directory.
  std::string Resolve(const std::string& name) const;
  // `key` (a file) or `key`-data (base64 PEM) into `out`, at most one.
  absl::Status Pem(const YAML::Node& map, const std::string& where,
                   const char* file_key, const char* data_key,
                   PemSource* out) const;

  absl::Status ReadCluster(const YAML::Node& cluster, const std::string& where,
                           ApiServerConfig* config) const;
  absl::Status ReadUser(const YAML::Node& user, const std::string& where,
                        ApiServerConfig* config) const;

  std::string path_;
  std::filesystem::path dir_;
};

bool Absent(const YAML::Node& node) {
  return !node.IsDefined() || node.IsNull();
}

// "users[admin].user" + "token"; a top-level key stands alone.
std::string Field(absl::string_view where, absl::string_view key) {
  return where.empty() ? std::string(key) : absl::StrCat(where, ".", key);
}

absl::StatusOr<std::string> KubeconfigReader::String(const YAML::Node& map,
                                                     const std::string& where,
                                                     const char* key) const {
  YAML::Node node = map[key];
  if (Absent(node)) return std::string();
  if (!node.IsScalar()) {
    return Error(Field(where, key), "expected a string");
  }
  return node.Scalar();
}

absl::StatusOr<bool> KubeconfigReader::Bool(const YAML::Node& map,
                                            const std::string& where,
                                            const char* key) const {
  YAML::Node node = map[key];
  if (Absent(node)) return false;
  // Either spelling kubectl's YAML reader takes ("True" as well).
  if (node.IsScalar()) {
    if (absl::EqualsIgnoreCase(node.Scalar(), "true")) return true;
    if (absl::EqualsIgnoreCase(node.Scalar(), "false")) return false;
  }
  return Error(Field(where, key), "expected true or false");
}

absl::StatusOr<YAML::Node> KubeconfigReader::Named(
    const YAML::Node& root, const char* list, const std::string& name,
    const char* inner, absl::string_view named_by) const {
  YAML::Node entries = root[list];
  if (!Absent(entries) && !entries.IsSequence()) {
    return Error(list, "expected a list");
  }
  std::vector<std::string> names;
  if (!Absent(entries)) {
    for (size_t i = 0; i < entries.size(); ++i) {
      YAML::Node entry = entries[i];
      std::string where = absl::StrCat(list, "[", i, "]");
      if (!entry.IsMap()) return Error(where, "expected a map");
      absl::StatusOr<std::string> entry_name = String(entry, where, "name");
      if (!entry_name.ok()) return entry_name.status();
      if (*entry_name != name) {
        names.push_back(*entry_name);
        continue;
      }
      YAML::Node body = entry[inner];
      if (!body.IsMap()) {
        return Error(absl::StrCat(list, "[", name, "].", inner),
                     Absent(body) ? "missing" : "expected a map");
      }
      return body;
    }
  }
  return Error(
      named_by,
      absl::StrCat("no entry named \"", name, "\" in ", list, " (",
                   names.empty() ? "none at all"
                                 : absl::StrCat("there are: ",
                                                absl::StrJoin(names, ", ")),
                   ")"));
}

std::string KubeconfigReader::Resolve(const std::string& name) const {
  std::filesystem::path file(name);
  if (file.is_absolute()) return name;
  return (dir_ / file).lexically_normal().string();
}

absl::Status KubeconfigReader::Pem(const YAML::Node& map,
                                   const std::string& where,
                                   const char* file_key, const char* data_key,
                                   PemSource* out) const {
  absl::StatusOr<std::string> file = String(map, where, file_key);
  if (!file.ok()) return file.status();
  absl::StatusOr<std::string> data = String(map, where, data_key);
  if (!data.ok()) return data.status();
  if (!file->empty() && !data->empty()) {
    return Error(where, absl::StrCat("both ", file_key, " and ", data_key,
                                     " are given; give one"));
  }
  if (!data->empty()) {
    // Go's base64 (what kubectl writes) may wrap lines; absl's does not
    // skip line ends, so they are removed first.
    std::string compact;
    for (char c : *data) {
      if (c != '\n' && c != '\r' && c != ' ' && c != '\t') compact += c;
    }
    if (!absl::Base64Unescape(compact, &out->pem) || out->pem.empty()) {
      return Error(absl::StrCat(where, ".", data_key), "not valid base64");
    }
    return absl::OkStatus();
  }
  if (!file->empty()) {
    out->file = Resolve(*file);
    // Read once now, so a wrong path fails at start and here, naming the
    // kubeconfig line, not at the first request inside libcurl.
    if (absl::Status s = CheckReadable(out->file); !s.ok()) {
      return FileError(absl::StrCat(where, ".", file_key), s);
    }
  }
  return absl::OkStatus();
}

absl::Status KubeconfigReader::ReadCluster(const YAML::Node& cluster,
                                           const std::string& where,
                                           ApiServerConfig* config) const {
  absl::StatusOr<bool> insecure =
      Bool(cluster, where, "insecure-skip-tls-verify");
  if (!insecure.ok()) return insecure.status();
  if (*insecure) {
    return Error(absl::StrCat(where, ".insecure-skip-tls-verify"),
                 "refused: TLS is always verified; give the cluster's CA "
                 "(certificate-authority or certificate-authority-data)");
  }
  for (const char* unsupported : {"tls-server-name", "proxy-url"}) {
    if (!Absent(cluster[unsupported])) {
      return Error(absl::StrCat(where, ".", unsupported), "not supported");
    }
  }
  absl::StatusOr<std::string> server = String(cluster, where, "server");
  if (!server.ok()) return server.status();
  if (server->empty()) return Error(absl::StrCat(where, ".server"), "missing");
  absl::StatusOr<std::string> checked = CheckServer(*server);
  if (!checked.ok()) {
    return Error(absl::StrCat(where, ".server"), checked.status().message());
  }
  config->server = *std::move(checked);
  return Pem(cluster, where, "certificate-authority",
             "certificate-authority-data", &config->certificate_authority);
}

absl::Status KubeconfigReader::ReadUser(const YAML::Node& user,
                                        const std::string& where,
                                        ApiServerConfig* config) const {
  // Credential plugins run a program (a cloud CLI) to get a token; that is
  // a dependency this daemon will not take. Named, so the user knows which
  // kubeconfig entry to replace with a token or a certificate.
  if (YAML::Node exec = user["exec"]; !Absent(exec)) {
    std::string command = exec.IsMap() && exec["command"].IsScalar()
                              ? exec["command"].Scalar()
                              : "";
    return Error(absl::StrCat(where, ".exec"),
                 absl::StrCat("credential plugins are not supported",
                              command.empty() ? "" : " (command \"", command,
                              command.empty() ? "" : "\")",
                              "; give a token, tokenFile or client "
                              "certificate"));
  }
  if (YAML::Node provider = user["auth-provider"]; !Absent(provider)) {
    std::string name = provider.IsMap() && provider["name"].IsScalar()
                           ? provider["name"].Scalar()
                           : "";
    return Error(absl::StrCat(where, ".auth-provider"),
                 absl::StrCat("auth provider plugins are not supported",
                              name.empty() ? "" : " (\"", name,
                              name.empty() ? "" : "\")",
                              "; give a token, tokenFile or client "
                              "certificate"));
  }
  for (const char* basic : {"username", "password"}) {
    if (!Absent(user[basic])) {
      return Error(absl::StrCat(where, ".", basic),
                   "basic authentication is not supported (Kubernetes "
                   "removed it in 1.19); give a token, tokenFile or client "
                   "certificate");
    }
  }
  for (const char* impersonate :
       {"as", "as-uid", "as-groups", "as-user-extra"}) {
    if (!Absent(user[impersonate])) {
      return Error(absl::StrCat(where, ".", impersonate),
                   "impersonation is not supported");
    }
  }

  absl::StatusOr<std::string> token = String(user, where, "token");
  if (!token.ok()) return token.status();
  if (absl::Status s = CheckToken(*token); !s.ok()) {
    return Error(absl::StrCat(where, ".token"), s.message());
  }
  config->token = *std::move(token);
  absl::StatusOr<std::string> token_file = String(user, where, "tokenFile");
  if (!token_file.ok()) return token_file.status();
  if (!token_file->empty()) {
    config->token_file = Resolve(*token_file);
    if (absl::StatusOr<std::string> read = ReadTokenFile(config->token_file);
        !read.ok()) {
      return FileError(absl::StrCat(where, ".tokenFile"), read.status());
    }
  }

  if (absl::Status s =
          Pem(user, where, "client-certificate", "client-certificate-data",
              &config->client_certificate);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = Pem(user, where, "client-key", "client-key-data",
                           &config->client_key);
      !s.ok()) {
    return s;
  }
  if (config->client_certificate.empty() != config->client_key.empty()) {
    return Error(where, config->client_key.empty()
                            ? "a client certificate without a client key"
                            : "a client key without a client certificate");
  }
  return absl::OkStatus();
}

absl::StatusOr<ApiServerConfig> KubeconfigReader::Read(
    const std::string& context) {
  absl::StatusOr<std::string> text = ReadConfigFile(path_);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat("kubeconfig ", text.status().message()));
  }
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    return Error(
        absl::StrCat("line ", e.mark.line + 1, ", column ", e.mark.column + 1),
        e.msg);
  }
  if (Absent(root)) return Error("", "empty");
  if (!root.IsMap()) return Error("", "expected a map at the top");

  // yaml-cpp throws on a few shapes no check above foresaw (a map indexed
  // as a list); such a file is wrong, not this program.
  try {
    std::string context_name = context;
    std::string context_where = "--context";
    if (context_name.empty()) {
      absl::StatusOr<std::string> current = String(root, "", "current-context");
      if (!current.ok()) return current.status();
      if (current->empty()) {
        return Error("current-context",
                     "not set, and no context was named (--context)");
      }
      context_name = *std::move(current);
      context_where = "current-context";
    }
    absl::StatusOr<YAML::Node> context_node =
        Named(root, "contexts", context_name, "context", context_where);
    if (!context_node.ok()) return context_node.status();
    std::string where = absl::StrCat("contexts[", context_name, "].context");
    absl::StatusOr<std::string> cluster_name =
        String(*context_node, where, "cluster");
    if (!cluster_name.ok()) return cluster_name.status();
    if (cluster_name->empty()) {
      return Error(absl::StrCat(where, ".cluster"), "missing");
    }
    absl::StatusOr<std::string> user_name =
        String(*context_node, where, "user");
    if (!user_name.ok()) return user_name.status();

    ApiServerConfig config;
    absl::StatusOr<YAML::Node> cluster =
        Named(root, "clusters", *cluster_name, "cluster",
              absl::StrCat(where, ".cluster"));
    if (!cluster.ok()) return cluster.status();
    if (absl::Status s = ReadCluster(
            *cluster, absl::StrCat("clusters[", *cluster_name, "].cluster"),
            &config);
        !s.ok()) {
      return s;
    }
    // A context without a user is anonymous access: allowed, as kubectl
    // allows it; the API server decides.
    if (!user_name->empty()) {
      absl::StatusOr<YAML::Node> user = Named(root, "users", *user_name, "user",
                                              absl::StrCat(where, ".user"));
      if (!user.ok()) return user.status();
      if (absl::Status s = ReadUser(
              *user, absl::StrCat("users[", *user_name, "].user"), &config);
          !s.ok()) {
        return s;
      }
    }
    config.source =
        absl::StrCat("kubeconfig ", path_, ", context ", context_name);
    return config;
  } catch (const YAML::Exception& e) {
    return Error(absl::StrCat("line ", e.mark.line + 1), e.what());
  }
}

}  // namespace

absl::StatusOr<ApiServerConfig> LoadKubeconfig(const std::string& path,
                                               const std::string& context) {
  return KubeconfigReader(path).Read(context);
}

}  // namespace switchyard::kube
