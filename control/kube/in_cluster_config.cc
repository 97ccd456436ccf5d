// SPDX-License-Identifier: Apache-2.0
// InClusterConfig(): the API server as a pod sees it.
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "control/kube/bearer_token.h"
#include "control/kube/kube_config.h"
#include "control/kube/read_file.h"

namespace switchyard::kube {
namespace {

constexpr absl::string_view kUseKubeconfig =
    "outside a cluster, give --kubeconfig";

absl::StatusOr<std::string> ServerFromEnvironment() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  std::vector<std::string> missing;
  if (host == nullptr || *host == '\0') {
    missing.push_back("KUBERNETES_SERVICE_HOST");
  }
  if (port == nullptr || *port == '\0') {
    missing.push_back("KUBERNETES_SERVICE_PORT");
  }
  if (!missing.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        absl::StrJoin(missing, " and "), missing.size() == 1 ? " is" : " are",
        " not set, so this is not a Kubernetes pod; ", kUseKubeconfig));
  }
  int port_number = 0;
  if (!absl::SimpleAtoi(port, &port_number) || port_number < 1 ||
      port_number > 65535) {
    return absl::FailedPreconditionError(absl::StrCat(
        "KUBERNETES_SERVICE_PORT=\"", port, "\" is not a port number"));
  }
  absl::string_view host_view = host;
  // An IPv6 address needs brackets in a URL; a name or IPv4 has no colon.
  bool bracket =
      absl::StrContains(host_view, ':') && !absl::StartsWith(host_view, "[");
  return absl::StrCat("https://", bracket ? "[" : "", host_view,
                      bracket ? "]" : "", ":", port_number);
}

}  // namespace

absl::StatusOr<ApiServerConfig> InClusterConfig(
    const std::string& account_dir) {
  absl::StatusOr<std::string> server = ServerFromEnvironment();
  if (!server.ok()) return server.status();
  ApiServerConfig config;
  config.server = *std::move(server);
  config.token_file = absl::StrCat(account_dir, "/token");
  config.certificate_authority.file = absl::StrCat(account_dir, "/ca.crt");
  for (const std::string& file :
       {config.token_file, config.certificate_authority.file}) {
    absl::Status readable = file == config.token_file
                                ? ReadTokenFile(file).status()
                                : ReadConfigFile(file).status();
    if (!readable.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("in-cluster configuration: ", readable.message(),
                       " (the pod's service account token is not mounted: is "
                       "automountServiceAccountToken false?); ",
                       kUseKubeconfig));
    }
  }
  config.source = absl::StrCat("in-cluster service account ", account_dir);
  return config;
}

}  // namespace switchyard::kube
