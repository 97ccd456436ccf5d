// SPDX-License-Identifier: Apache-2.0
// The loaded service datapath: the programs of yard_datapath.bpf.c and their
// maps, pinned so they outlive this process.
#ifndef SWITCHYARD_CONTROL_KERNEL_DATAPATH_H_
#define SWITCHYARD_CONTROL_KERNEL_DATAPATH_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/kernel/abi.h"
#include "control/kernel/datapath_maps.h"
#include "control/kernel/features.h"

struct yard_datapath;  // the libbpf skeleton

namespace switchyard::kernel {

struct DatapathConfig {
  // bpffs folder the maps are pinned in, e.g. /sys/fs/bpf/switchyard/node-a.
  // Maps already pinned there are reused (their contents kept), which is
  // how a restarted agent keeps forwarding. Empty: nothing is pinned.
  std::string pin_dir;
  uint32_t max_frontends = YARD_DEFAULT_FRONTENDS;
  uint32_t max_slots = YARD_DEFAULT_SLOTS;
  uint32_t max_backends = YARD_DEFAULT_BACKENDS;
  uint32_t max_ct_entries = YARD_DEFAULT_CT_ENTRIES;
  uint32_t max_source_ranges = YARD_DEFAULT_SOURCE_RANGES;
  // Maglev lookup tables held at once (yard_maglev); each is allocated
  // when written, so only the tables in use cost memory.
  uint32_t max_maglev_tables = YARD_DEFAULT_MAGLEV_TABLES;
  uint32_t hairpin_addr_be = 0;  // 0: YARD_DEFAULT_HAIRPIN_ADDR_HOST
  // Flow lifetimes: how long a flow's entries hold its tuple without a
  // packet (bpf/lib/conntrack.h, ct_lifetime.h).
  uint32_t udp_timeout_s = YARD_DEFAULT_UDP_TIMEOUT_S;
  uint32_t tcp_idle_timeout_s = YARD_DEFAULT_TCP_IDLE_TIMEOUT_S;
  uint32_t tcp_close_timeout_s = YARD_DEFAULT_TCP_CLOSE_TIMEOUT_S;
  // North-south: the source this node gives outside clients' flows it
  // sends on to endpoints on other nodes (0: none, such flows are
  // dropped), and the source ports it may use for them.
  uint32_t snat_addr_be = 0;
  uint16_t snat_port_min = YARD_DEFAULT_SNAT_PORT_MIN;
  uint16_t snat_port_max = YARD_DEFAULT_SNAT_PORT_MAX;
  // Outside clients' flows to a local endpoint: redirected by XDP into
  // the endpoint's interface (true) or handed to the stack (false).
  bool local_redirect = false;
  // Optional kernel features turned off whatever the kernel allows (the
  // agent's --datapath_features_off; tests use it to run every fallback).
  std::vector<Feature> features_off;
  // For tests only: programs the loader makes the kernel refuse (loaded
  // as a socket filter, which the verifier rejects), to exercise what a
  // kernel that refuses them gets. "PROGRAM@FEATURE" refuses PROGRAM only
  // while FEATURE is on (a kernel without a helper that feature uses).
  // "yard_maglev.inner@maglev_mmap" makes the kernel refuse the Maglev
  // tables' template while they are mappable (flags it does not know).
  std::vector<std::string> refuse_for_test;
};

// How XDP is attached: in the driver when it supports XDP (veth, most
// NICs), else generic (skb) mode.
enum class XdpMode { kNative, kGeneric };

// One handle and priority for every Switchyard tc filter, so a new program
// replaces the old one atomically instead of stacking beside it, and so
// tools can tell Switchyard's filters from others'.
inline constexpr uint32_t kTcHandle = 0x5957;  // "YW"
inline constexpr uint32_t kTcPriority = 1;

// Which tc hook a program goes on.
enum class TcDirection { kIngress, kEgress };

class Datapath {
 public:
  // Opens, sizes, loads (the verifier runs here) and pins. An optional
  // feature whose program the kernel refuses is turned off and the load
  // tried again without it (features()); a refused program the datapath
  // cannot do without, or a pinned map of another layout, fails the load
  // with the kernel's reason.
  static absl::StatusOr<std::unique_ptr<Datapath>> Load(
      const DatapathConfig& config);
  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  // Puts yard_from_pod on ingress and yard_to_pod on egress of a pod-facing
  // interface, replacing any earlier Switchyard filter in place (no moment
  // without a program). Filters stay after this process exits.
  // The interface is also recorded as a pod's (yard_pod_ifs), where the
  // stack bypass may send frames; ForgetPodInterface takes it back when
  // the interface goes away.
  absl::Status AttachPodInterface(int ifindex);
  void ForgetPodInterface(int ifindex);

  // Puts yard_outside_ingress (tc) on an external device's ingress and
  // yard_to_outside on its egress, then yard_from_outside (XDP) in front
  // when the xdp feature is on: native when the driver can, else generic,
  // replacing ours atomically. Returns nullopt when the device runs
  // without XDP (feature off, or the attach failed: `xdp_error` says
  // why); tc then serves it alone, with the same behaviour.
  absl::StatusOr<std::optional<XdpMode>> AttachExternalDevice(
      int ifindex, std::string* xdp_error = nullptr);
  absl::Status DetachExternalDevice(int ifindex);

  int from_pod_fd() const;
  int to_pod_fd() const;
  int from_outside_fd() const;
  int outside_ingress_fd() const;
  DatapathMaps& maps() { return maps_; }
  const DatapathConfig& config() const { return config_; }
  const FeatureSet& features() const { return features_; }

  // Records in yard_features (for yardctl status) what the agent found,
  // e.g. the load's features with XDP failed to attach on a device;
  // features() stays what the load found.
  absl::Status PublishFeatures(const FeatureSet& features);

 private:
  Datapath(DatapathConfig config, yard_datapath* skel, DatapathMaps maps,
           FeatureSet features);

  DatapathConfig config_;
  yard_datapath* skel_;
  DatapathMaps maps_;
  FeatureSet features_;
};

// tc attachment of one program; also used by tests and the bench.
absl::Status AttachTc(int ifindex, TcDirection direction, int prog_fd);
absl::Status DetachTc(int ifindex, TcDirection direction);

// Routes libbpf's messages into absl logging, once per process.
void RouteLibbpfLogs();

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_DATAPATH_H_
