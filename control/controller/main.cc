// SPDX-License-Identifier: Apache-2.0
// yard-controller: holds the cluster state and streams it to every node's
// agent. The state comes from the Kubernetes API server (--source=
// kubernetes: listed and watched, the controller a fan-out cache in front
// of it) or from yardctl (--source=standalone: declared, allocated and
// kept on disk here). Flags are read here and nowhere else.
#include <signal.h>

#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "control/common/log.h"
#include "control/controller/server.h"
#include "control/kube/curl_transport.h"
#include "control/kube/kube_config.h"

ABSL_FLAG(std::string, source, "standalone",
          "Where the cluster state comes from: \"kubernetes\" (list and "
          "watch Services, EndpointSlices and Nodes from the API server; "
          "yardctl can only read) or \"standalone\" (yardctl apply writes; "
          "ClusterIPs and NodePorts are allocated here and the state is kept "
          "in --state_dir).");
ABSL_FLAG(std::string, kubeconfig, "",
          "--source=kubernetes: the kubeconfig to reach the API server with; "
          "empty: in-cluster (the pod's service account and "
          "KUBERNETES_SERVICE_HOST/PORT, which for a kube-proxy replacement "
          "must name the real API server, not the kubernetes Service).");
ABSL_FLAG(std::string, kube_context, "",
          "--source=kubernetes: the kubeconfig context; empty: its "
          "current-context.");
ABSL_FLAG(std::string, service_proxy_name, "",
          "--source=kubernetes: serve the Services labelled "
          "service.kubernetes.io/service-proxy-name=<this>; empty: serve "
          "those without the label, as kube-proxy does.");
ABSL_FLAG(std::string, listen, "127.0.0.1:7800",
          "TCP address to serve on; empty for none.");
ABSL_FLAG(std::string, socket, "/run/switchyard/controller.sock",
          "Unix socket to serve on (agents in other network namespaces of "
          "this machine reach it); empty for none.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9751",
          "Address (numeric host:port) serving Prometheus /metrics and "
          "/healthz; empty for none. gRPC health is on the gRPC ports.");
ABSL_FLAG(std::string, state_dir, "/var/lib/switchyard",
          "--source=standalone: where the declared state is kept durably. "
          "Unused with --source=kubernetes (the API server keeps it).");
ABSL_FLAG(bool, recover_readable_state, false,
          "Start even though the state files are damaged or missing: keep "
          "the snapshot and journal up to the first damage, log each byte "
          "range dropped, rewrite the files and serve. Without it such a "
          "state dir stops the controller with DATA_LOSS (file, offset, last "
          "good version). The writes dropped are lost for good.");
ABSL_FLAG(std::string, service_cidr, "10.96.0.0/12",
          "ClusterIPs are allocated from, and must lie in, this range.");
ABSL_FLAG(std::string, node_port_range, "30000-32767",
          "NodePorts are allocated from, and must lie in, this range.");

namespace {

// --source and, for kubernetes, the API server's address and credentials.
absl::Status ConfigureSource(switchyard::controller::ServerConfig& config) {
  namespace kube = switchyard::kube;
  const std::string source = absl::GetFlag(FLAGS_source);
  if (source == "standalone") return absl::OkStatus();
  if (source != "kubernetes") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--source: \"", source, "\" is not kubernetes or standalone"));
  }
  const std::string kubeconfig = absl::GetFlag(FLAGS_kubeconfig);
  absl::StatusOr<kube::ApiServerConfig> api =
      kubeconfig.empty()
          ? kube::InClusterConfig()
          : kube::LoadKubeconfig(kubeconfig, absl::GetFlag(FLAGS_kube_context));
  if (!api.ok()) return api.status();
  absl::StatusOr<std::unique_ptr<kube::CurlTransport>> transport =
      kube::CurlTransport::Create(*api);
  if (!transport.ok()) return transport.status();
  LOG(INFO) << "cluster state from the Kubernetes API server "
            << (*transport)->server() << " (" << api->source << ")";
  config.kube_api = std::move(*transport);
  config.kube.rules.service_proxy_name =
      absl::GetFlag(FLAGS_service_proxy_name);
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("yard-controller [--listen=ADDR] [flags]");
  absl::ParseCommandLine(argc, argv);

  switchyard::controller::ServerConfig config;
  if (absl::Status s = ConfigureSource(config); !s.ok()) {
    LOG(ERROR) << "yard-controller: " << s.message();
    return 2;
  }
  config.listen_tcp = absl::GetFlag(FLAGS_listen);
  config.listen_unix = absl::GetFlag(FLAGS_socket);
  config.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  config.store.state_dir = absl::GetFlag(FLAGS_state_dir);
  config.store.service_cidr = absl::GetFlag(FLAGS_service_cidr);
  config.store.recover_readable_state =
      absl::GetFlag(FLAGS_recover_readable_state);
  int low = 0, high = 0;
  std::string range = absl::GetFlag(FLAGS_node_port_range);
  if (sscanf(range.c_str(), "%d-%d", &low, &high) != 2 || low < 1 ||
      high > 65535 || low > high) {
    LOG(ERROR) << "--node_port_range: '" << range << "' is not LOW-HIGH";
    return 2;
  }
  config.store.node_port_min = low;
  config.store.node_port_max = high;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = switchyard::controller::ControllerServer::Start(config);
  if (!server.ok()) {
    LOG(ERROR) << "yard-controller: " << server.status();
    return 1;
  }
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    LOG(INFO) << "signal " << sig << ": shutting down";
    (*server)->Shutdown();
  });
  (*server)->Wait();
  waiter.join();
  return 0;
}
