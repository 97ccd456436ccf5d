// SPDX-License-Identifier: Apache-2.0
// The ways a node namespace gets its services: Switchyard's tc datapath on
// the pod-facing interface, its XDP program on the external device (three
// ways: local endpoints through the stack or redirected, remote ones sent
// back out with XDP_TX), kube-proxy's iptables layout, and its nftables
// layout (NodePort also with the endpoints on another node, as XDP_TX's
// are). Each programs a fresh node namespace and keeps what it loaded
// alive until destroyed.
#ifndef SWITCHYARD_BENCH_LIVE_MODES_H_
#define SWITCHYARD_BENCH_LIVE_MODES_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/live/service_set.h"
#include "bench/live/topology.h"

namespace switchyard::bench::live {

enum class Mode {
  // ClusterIP, frames from a pod (vcl).
  // yard_from_pod / yard_to_pod at tc on vcl and the backends' veths:
  // stack bypass off (the stack forwards), and on (bpf_redirect_peer
  // into the endpoint's pod).
  kSwitchyard,
  kSwitchyardBypass,
  kIptables,
  kNftables,
  // NodePort, frames from outside (vext): yard_from_outside, which the
  // generator tail-calls (it is also attached to vext, with its tc
  // programs, as the agent would).
  kSwitchyardXdpStack,     // local endpoints: DNAT, XDP_PASS, stack routes
  kSwitchyardXdpRedirect,  // local endpoints: DNAT, redirect to the veth
  kSwitchyardXdpTx,        // endpoints on node n2: DNAT + SNAT, XDP_TX
  kSwitchyardTcStack,      // XDP off (the fallback): yard_outside_ingress
                           // at tc DNATs, the stack routes
  kIptablesNodePort,       // the iptables layout, frames XDP_PASSed
  kNftablesNodePort,       // the nftables layout, frames XDP_PASSed
  // The same layouts with the endpoints on node n2, as for
  // switchyard-xdp-tx: DNAT + masquerade, forwarded back out vext.
  kIptablesNodePortRemote,
  kNftablesNodePortRemote,
};

inline constexpr Mode kAllModes[] = {
    Mode::kSwitchyard,
    Mode::kSwitchyardBypass,
    Mode::kIptables,
    Mode::kNftables,
    Mode::kSwitchyardXdpStack,
    Mode::kSwitchyardXdpRedirect,
    Mode::kSwitchyardXdpTx,
    Mode::kSwitchyardTcStack,
    Mode::kIptablesNodePort,
    Mode::kNftablesNodePort,
    Mode::kIptablesNodePortRemote,
    Mode::kNftablesNodePortRemote,
};

// "switchyard", "switchyard-bypass", "iptables", "nftables",
// "switchyard-xdp-stack",
// "switchyard-xdp-redirect", "switchyard-xdp-tx", "switchyard-tc-stack",
// "iptables-nodeport", "nftables-nodeport", "iptables-nodeport-remote",
// "nftables-nodeport-remote".
const char* ModeName(Mode mode);
// Whether frames enter at the external device, to a NodePort.
bool IsNodePort(Mode mode);
// Whether the node runs one of kube-proxy's layouts (iptables*,
// nftables*) rather than Switchyard: conntrack is active there anyway.
bool IsKubeProxy(Mode mode);
// Where the mode's endpoints are (kRemote: switchyard-xdp-tx and the
// *-nodeport-remote layouts).
Site ModeSite(Mode mode);
// Modes with the same key program a node identically, so consecutive
// ones share one programmed node ("iptables" and "iptables-nodeport").
std::string ProgramKey(Mode mode);

class ProgrammedNode {
 public:
  virtual ~ProgrammedNode() = default;
  // Forgets every tracked flow (Switchyard's yard_ct4, or conntrack), so a
  // "new flows" sample starts from an empty table in every mode.
  virtual absl::Status ForgetFlows() = 0;
  // What was loaded, for the report: backend and size.
  virtual std::string Describe() const = 0;
  // The XDP program frames from outside run (the generator tail-calls
  // it), or -1: frames are passed to the stack.
  virtual int xdp_entry_fd() const { return -1; }
  double program_seconds() const { return program_seconds_; }

 protected:
  double program_seconds_ = 0;  // time to load the services
};

// Programs `services` into the node of `topology` (whose interfaces must
// outlive the result). Every mode gets the whole of every service, its
// ClusterIP and its NodePort on kNodeAddr, as a node would.
absl::StatusOr<std::unique_ptr<ProgrammedNode>> ProgramNode(
    Mode mode, const Topology& topology,
    const std::vector<ServicePort>& services);

// `iptables -V`: "iptables v1.8.9 (nf_tables)" names the backend.
std::string IptablesVersion();

}  // namespace switchyard::bench::live

#endif  // SWITCHYARD_BENCH_LIVE_MODES_H_
