// SPDX-License-Identifier: Apache-2.0
// yard-agent: programs this node's service datapath from the controller's
// cluster state. Flags are read here and nowhere else.
#include <malloc.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "control/agent/agent.h"
#include "control/agent/controller_list.h"
#include "control/common/ipv4.h"
#include "control/common/log.h"
#include "control/translate/lb_policy.h"

ABSL_FLAG(std::string, node_name, "", "This node's name, as in its v1 Node.");
ABSL_FLAG(std::string, controller, "unix:///run/switchyard/controller.sock",
          "yard-controller address: unix:///path or host:port. Several, "
          "comma-separated, for failover: the agent watches one and moves "
          "to the next when it fails, resyncing without flushing its maps.");
ABSL_FLAG(std::string, tls_cert, "",
          "Mutual TLS to TCP controllers: this agent's certificate (PEM), "
          "CN=yard-node:<--node_name>. Read again every minute (rotate by "
          "replacing the files). Unset: TCP controllers are plaintext.");
ABSL_FLAG(std::string, tls_key, "", "Its private key (PEM).");
ABSL_FLAG(std::string, tls_ca, "",
          "The CA that signs the controllers' certificates.");
ABSL_FLAG(std::string, pod_interfaces, "veth*",
          "Comma-separated shell patterns of pod-facing interfaces; the "
          "datapath is attached to every match, including later ones "
          "(as the kernel announces them).");
ABSL_FLAG(absl::Duration, interface_rescan, absl::Seconds(30),
          "How often every interface is looked at again, in case a link "
          "notification was missed; new interfaces are attached as the "
          "kernel announces them, not at this pace.");
ABSL_FLAG(std::string, external_devices, "",
          "Comma-separated shell patterns of external devices, where outside "
          "clients' NodePort, load-balancer and external-IP traffic arrives: "
          "XDP is attached there.");
ABSL_FLAG(std::string, node_port_addresses, "",
          "Comma-separated IPv4 addresses NodePorts are served on (and "
          "health-check node ports); default: every IPv4 address of the "
          "external devices. The first is the source of flows sent on to "
          "another node's endpoint.");
ABSL_FLAG(std::string, snat_ports, "61000-65535",
          "Source ports for flows sent on to another node's endpoint: keep "
          "it clear of the NodePort range and net.ipv4.ip_local_port_range.");
ABSL_FLAG(std::string, local_delivery, "stack",
          "How XDP hands outside clients' flows to local endpoints: 'stack' "
          "(XDP_PASS; the kernel routes them) or 'redirect' (straight into "
          "the endpoint's interface; needs XDP or GRO on the pod's veth "
          "peer).");
ABSL_FLAG(std::string, bpffs_root, "/sys/fs/bpf/switchyard",
          "Maps are pinned in <root>/<node-name>, surviving restarts.");
ABSL_FLAG(uint32_t, max_frontends, YARD_DEFAULT_FRONTENDS,
          "Service map size: service ports plus one per service address.");
ABSL_FLAG(uint32_t, max_slots, YARD_DEFAULT_SLOTS, "Endpoint slots.");
ABSL_FLAG(uint32_t, max_backends, YARD_DEFAULT_BACKENDS, "Distinct endpoints.");
ABSL_FLAG(uint32_t, max_flows, YARD_DEFAULT_CT_ENTRIES / 2,
          "Tracked connections (two map entries each).");
ABSL_FLAG(uint32_t, max_maglev_tables, YARD_DEFAULT_MAGLEV_TABLES,
          "Maglev lookup tables (one per backend set of a Maglev service; "
          "table_size * 4 bytes of kernel memory each, allocated in use).");
ABSL_FLAG(std::string, default_lb_policy, "random",
          "How new flows choose an endpoint when a Service has no "
          "switchyard.io/lb-policy annotation: random, least-conn, maglev.");
ABSL_FLAG(uint32_t, maglev_table_size, YARD_DEFAULT_MAGLEV_TABLE_SIZE,
          "Maglev lookup table entries (a prime, well above the endpoints "
          "of any service: 100 per endpoint keeps shares within ~1%), when "
          "a Service has no switchyard.io/maglev-table-size annotation.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9750",
          "Address (numeric host:port) serving Prometheus /metrics and "
          "/healthz, the agent's health endpoint; empty for none.");
ABSL_FLAG(absl::Duration, metrics_ct_interval, absl::Seconds(10),
          "At most how often a scrape counts yard_ct4's entries (a walk of "
          "the whole map); 0 never does.");

ABSL_FLAG(absl::Duration, tcp_idle_timeout, absl::Hours(24),
          "An open TCP flow idle this long no longer holds its tuple (a new "
          "SYN on it chooses anew; its replies are no longer translated).");
ABSL_FLAG(absl::Duration, tcp_close_timeout, absl::Seconds(10),
          "The same for a TCP flow that ended (RST, or FIN both ways): long "
          "enough for late retransmissions, short enough that the tuple is "
          "soon free for a new connection.");
ABSL_FLAG(absl::Duration, udp_timeout, absl::Seconds(120),
          "A UDP flow idle this long chooses its backend again.");
ABSL_FLAG(absl::Duration, ct_sweep_interval, absl::Seconds(10),
          "How often expired flow entries are deleted from yard_ct4 (the "
          "datapath ignores them at once; this reclaims their memory); 0 "
          "never.");
ABSL_FLAG(std::string, datapath_features_off, "",
          "Optional kernel features the datapath must not use, whatever the "
          "kernel allows: xdp, coarse_clock, north_south, stack_bypass, "
          "maglev_mmap, or all (the accelerations: xdp, coarse_clock, "
          "stack_bypass and maglev_mmap). "
          "Unset, the environment "
          "variable YARD_DATAPATH_FEATURES_OFF is read instead, so a test "
          "suite can run every agent it starts on the fallbacks.");

namespace {

using switchyard::agent::AgentConfig;

absl::StatusOr<std::vector<uint32_t>> NodePortAddresses(
    absl::string_view list) {
  std::vector<uint32_t> out;
  for (absl::string_view text : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    absl::StatusOr<uint32_t> addr = switchyard::ParseIpv4(text);
    if (!addr.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--node_port_addresses: ", addr.status().message()));
    }
    out.push_back(*addr);
  }
  return out;
}

absl::Status SnatPorts(const std::string& text,
                       switchyard::kernel::DatapathConfig& datapath) {
  std::vector<std::string> range = absl::StrSplit(text, '-');
  uint32_t lo = 0, hi = 0;
  if (range.size() != 2 || !absl::SimpleAtoi(range[0], &lo) ||
      !absl::SimpleAtoi(range[1], &hi) || lo < 1 || hi > 65535 || lo > hi) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--snat_ports: want LOW-HIGH within 1-65535, got '", text, "'"));
  }
  datapath.snat_port_min = static_cast<uint16_t>(lo);
  datapath.snat_port_max = static_cast<uint16_t>(hi);
  return absl::OkStatus();
}

absl::StatusOr<bool> LocalRedirect(const std::string& delivery) {
  if (delivery != "stack" && delivery != "redirect") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--local_delivery: 'stack' or 'redirect', got '", delivery, "'"));
  }
  return delivery == "redirect";
}

absl::StatusOr<std::vector<switchyard::kernel::Feature>> FeaturesOff() {
  std::string off = absl::GetFlag(FLAGS_datapath_features_off);
  if (off.empty()) {
    const char* env = getenv("YARD_DATAPATH_FEATURES_OFF");
    off = env != nullptr ? env : "";
  }
  absl::StatusOr<std::vector<switchyard::kernel::Feature>> features =
      switchyard::kernel::ParseFeatureList(off);
  if (!features.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--datapath_features_off: ", features.status().message()));
  }
  return features;
}

absl::Status FlowTimeouts(switchyard::kernel::DatapathConfig& datapath) {
  for (auto [flag, field] :
       {std::pair{absl::GetFlag(FLAGS_tcp_idle_timeout),
                  &datapath.tcp_idle_timeout_s},
        std::pair{absl::GetFlag(FLAGS_tcp_close_timeout),
                  &datapath.tcp_close_timeout_s},
        std::pair{absl::GetFlag(FLAGS_udp_timeout), &datapath.udp_timeout_s}}) {
    if (flag < absl::ZeroDuration() || flag > absl::Hours(24 * 365)) {
      return absl::InvalidArgumentError(
          absl::StrCat("flow timeouts must be between 0 and a year, got ",
                       absl::FormatDuration(flag)));
    }
    *field = static_cast<uint32_t>(absl::ToInt64Seconds(flag));
  }
  return absl::OkStatus();
}

// --default_lb_policy and --maglev_table_size, checked as the annotations
// they stand in for are.
absl::Status LbDefaults(AgentConfig& config) {
  std::string policy = absl::GetFlag(FLAGS_default_lb_policy);
  std::optional<uint8_t> parsed = switchyard::translate::ParseLbPolicy(policy);
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat("--default_lb_policy: unknown policy \"", policy,
                     "\"; one of random, least-conn, maglev"));
  }
  config.default_lb_policy = *parsed;
  uint32_t size = absl::GetFlag(FLAGS_maglev_table_size);
  if (!switchyard::translate::IsPrime(size) ||
      size < switchyard::translate::kMinMaglevTableSize ||
      size > switchyard::translate::kMaxMaglevTableSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--maglev_table_size: ", size, " is not a prime from ",
        switchyard::translate::kMinMaglevTableSize, " to ",
        switchyard::translate::kMaxMaglevTableSize, " (e.g. 16381)"));
  }
  config.maglev_table_size = size;
  return absl::OkStatus();
}

// The agent's configuration from its flags, or what is wrong with them.
absl::StatusOr<AgentConfig> ConfigFromFlags() {
  AgentConfig config;
  config.node_name = absl::GetFlag(FLAGS_node_name);
  absl::StatusOr<std::vector<std::string>> controllers =
      switchyard::agent::ParseControllerList(absl::GetFlag(FLAGS_controller));
  if (!controllers.ok()) return controllers.status();
  config.controllers = *std::move(controllers);
  config.controller_tls = {.cert = absl::GetFlag(FLAGS_tls_cert),
                           .key = absl::GetFlag(FLAGS_tls_key),
                           .ca = absl::GetFlag(FLAGS_tls_ca)};
  if (!config.controller_tls.empty()) {
    if (absl::Status s = switchyard::tls::CheckTlsFiles(
            config.controller_tls, "--tls_cert, --tls_key and --tls_ca");
        !s.ok()) {
      return s;
    }
  }
  config.pin_root = absl::GetFlag(FLAGS_bpffs_root);
  config.pod_interfaces = absl::StrSplit(absl::GetFlag(FLAGS_pod_interfaces),
                                         ',', absl::SkipEmpty());
  config.external_devices = absl::StrSplit(
      absl::GetFlag(FLAGS_external_devices), ',', absl::SkipEmpty());
  absl::StatusOr<std::vector<uint32_t>> node_ports =
      NodePortAddresses(absl::GetFlag(FLAGS_node_port_addresses));
  if (!node_ports.ok()) return node_ports.status();
  config.node_port_addrs_be = *std::move(node_ports);
  if (absl::Status s =
          SnatPorts(absl::GetFlag(FLAGS_snat_ports), config.datapath);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<bool> redirect =
      LocalRedirect(absl::GetFlag(FLAGS_local_delivery));
  if (!redirect.ok()) return redirect.status();
  config.datapath.local_redirect = *redirect;
  absl::StatusOr<std::vector<switchyard::kernel::Feature>> off = FeaturesOff();
  if (!off.ok()) return off.status();
  config.datapath.features_off = *std::move(off);
  if (absl::Status s = FlowTimeouts(config.datapath); !s.ok()) return s;
  config.ct_sweep_interval = absl::GetFlag(FLAGS_ct_sweep_interval);
  config.interface_rescan = absl::GetFlag(FLAGS_interface_rescan);
  config.datapath.max_frontends = absl::GetFlag(FLAGS_max_frontends);
  config.datapath.max_slots = absl::GetFlag(FLAGS_max_slots);
  config.datapath.max_backends = absl::GetFlag(FLAGS_max_backends);
  config.datapath.max_ct_entries = 2 * absl::GetFlag(FLAGS_max_flows);
  config.datapath.max_maglev_tables = absl::GetFlag(FLAGS_max_maglev_tables);
  if (absl::Status s = LbDefaults(config); !s.ok()) return s;
  config.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  config.ct_sample_interval = absl::GetFlag(FLAGS_metrics_ct_interval);
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  // glibc raises its mmap threshold to the size of each large block freed
  // (up to 32 MB); after that a snapshot's multi-megabyte buffers come
  // from the heap, and the heap stays fragmented around the state kept
  // from them, which malloc_trim cannot return. Fixed at its default, it
  // saved about a tenth of the resident size after a cold sync of
  // 10,000 x 10 when it was measured.
  mallopt(M_MMAP_THRESHOLD, 128 << 10);
  absl::SetProgramUsageMessage(
      "yard-agent --node-name=NAME [--controller=ADDR] [flags]");
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<AgentConfig> config = ConfigFromFlags();
  if (!config.ok()) {
    LOG(ERROR) << "yard-agent: " << config.status().message();
    return 2;
  }

  // Signals are taken by one thread with sigwait, so the stop path runs as
  // ordinary code rather than inside a handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto agent = switchyard::agent::Agent::Create(*std::move(config));
  if (!agent.ok()) {
    LOG(ERROR) << "yard-agent: " << agent.status();
    return 1;
  }
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    LOG(INFO) << "signal " << sig
              << ": stopping; programs and maps stay in place";
    (*agent)->Stop();
  });
  (*agent)->Run();
  waiter.join();
  return 0;
}
