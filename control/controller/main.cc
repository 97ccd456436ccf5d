// SPDX-License-Identifier: Apache-2.0
// yard-controller: holds the declared cluster state and streams it to
// every node's agent. Flags are read here and nowhere else.
#include <signal.h>

#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "control/common/log.h"
#include "control/controller/server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7800",
          "TCP address to serve on; empty for none.");
ABSL_FLAG(std::string, socket, "/run/switchyard/controller.sock",
          "Unix socket to serve on (agents in other network namespaces of "
          "this machine reach it); empty for none.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9751",
          "Address (numeric host:port) serving Prometheus /metrics and "
          "/healthz; empty for none. gRPC health is on the gRPC ports.");
ABSL_FLAG(std::string, state_dir, "/var/lib/switchyard",
          "Where the declared state is kept durably.");
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

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("yard-controller [--listen=ADDR] [flags]");
  absl::ParseCommandLine(argc, argv);

  switchyard::controller::ServerConfig config;
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
