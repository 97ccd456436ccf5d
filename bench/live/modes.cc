// SPDX-License-Identifier: Apache-2.0
#include "bench/live/modes.h"

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/kubeproxy/iptables_layout.h"
#include "bench/kubeproxy/nftables_layout.h"
#include "bench/live/conntrack_flush.h"
#include "control/agent/kernel_map_writer.h"
#include "control/common/errno_status.h"
#include "control/kernel/datapath.h"
#include "control/names/protocol_names.h"
#include "control/sync/programmer.h"
#include "yard_xdp_pass.skel.h"

namespace switchyard::bench::live {
namespace {

// Loading 10,000 services' rules takes iptables-restore tens of seconds
// on a small machine; a hung one still ends the run.
constexpr absl::Duration kLoadTimeout = absl::Minutes(5);
constexpr size_t kNftServicesPerTransaction = 500;
// Switchyard's SNAT source ports for flows sent on to another node: wider
// than the default (61000-65535), so 200,000 new flows to one service's
// 10 endpoints do not run out; clear of the NodePorts.
constexpr uint16_t kSnatPortMin = 40000;
constexpr uint16_t kSnatPortMax = 65535;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

// The desired state the agent would compute for these services: one
// frontend and one wildcard entry per ClusterIP, the NodePort on the
// node's address in both scopes (pods' and outside clients'), one backend
// set each.
translate::DesiredState Desired(const std::vector<ServicePort>& services) {
  const uint32_t node_addr = inet_addr(kNodeAddr);
  translate::DesiredState desired;
  for (const ServicePort& sp : services) {
    const std::string set =
        absl::StrCat(sp.name, ":", sp.port, "/", names::ProtoName(sp.proto));
    translate::BackendSet& backends = desired.sets[set];
    for (const Endpoint& ep : sp.endpoints) {
      backends.eligible.push_back({htonl(ep.addr), htons(ep.port)});
    }
    std::sort(backends.eligible.begin(), backends.eligible.end());
    translate::Frontend frontend;
    frontend.set = set;
    frontend.service = set;
    desired.frontends[{htonl(sp.cluster_ip), htons(sp.port), sp.proto}] =
        frontend;
    translate::Frontend wildcard;
    wildcard.flags = YARD_SVC_F_WILDCARD;
    wildcard.service = sp.name;
    desired.frontends[{htonl(sp.cluster_ip), 0, 0}] = wildcard;
    if (sp.node_port != 0) {
      for (uint8_t scope : {YARD_SCOPE_INTERNAL, YARD_SCOPE_EXTERNAL}) {
        desired.frontends[{node_addr, htons(sp.node_port), sp.proto, scope}] =
            frontend;
      }
    }
  }
  return desired;
}

// A pass-through XDP program on an interface inside a namespace: a veth
// accepts frames redirected into it (XDP_REDIRECT, XDP_TX from its peer)
// only while its peer end has an XDP program (that turns on its NAPI).
absl::Status AttachXdpPass(const netns::Namespace& ns, int ifindex, int fd) {
  return ns.Run([&]() -> absl::Status {
    if (int err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, nullptr);
        err != 0) {
      return ErrnoStatus(-err,
                         absl::StrCat("attach yard_xdp_pass in ", ns.name()));
    }
    return absl::OkStatus();
  });
}

class SwitchyardNode : public ProgrammedNode {
 public:
  static absl::StatusOr<std::unique_ptr<ProgrammedNode>> Create(
      Mode mode, const Topology& topology,
      const std::vector<ServicePort>& services) {
    const auto start = std::chrono::steady_clock::now();
    // Unpinned: the maps live as long as this object (and the attached
    // programs, which go with the namespace).
    kernel::DatapathConfig config;
    config.snat_addr_be = inet_addr(kNodeAddr);
    config.snat_port_min = kSnatPortMin;
    config.snat_port_max = kSnatPortMax;
    config.local_redirect = mode == Mode::kSwitchyardXdpRedirect;
    if (mode == Mode::kSwitchyardTcStack) {
      config.features_off = {kernel::Feature::kXdp};
    }
    // "switchyard" is the stack path; "switchyard-bypass" the bypass.
    if (mode == Mode::kSwitchyard) {
      config.features_off = {kernel::Feature::kStackBypass};
    }
    absl::StatusOr<std::unique_ptr<kernel::Datapath>> dp =
        kernel::Datapath::Load(config);
    if (!dp.ok()) return dp.status();
    std::unique_ptr<SwitchyardNode> node(
        new SwitchyardNode(*std::move(dp), IsNodePort(mode)));
    kernel::Datapath& datapath = *node->datapath_;
    // Sized from the config the maps were created with (the agent reads
    // the maps' own sizes; these are the same numbers).
    const kernel::DatapathConfig& made = datapath.config();
    sync::Capacity capacity;
    capacity.frontends = made.max_frontends;
    capacity.slots = made.max_slots;
    capacity.backends = made.max_backends;
    agent::KernelMapWriter writer(&datapath.maps());
    sync::Programmer programmer(&writer, capacity);
    if (absl::Status s = programmer.Apply(Desired(services)); !s.ok()) {
      return s;
    }
    std::string how = "tc datapath";
    if (!IsNodePort(mode)) {
      if (mode == Mode::kSwitchyardBypass &&
          !datapath.features().on(kernel::Feature::kStackBypass)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "stack bypass is off: ",
            datapath.features().why(kernel::Feature::kStackBypass)));
      }
      // Every pod interface, as the agent attaches them: the bypass sends
      // only into interfaces it knows as pods'. The backends count frames
      // on their eth0 (tc ingress), which bpf_redirect_peer still runs.
      std::vector<int> pods = {topology.inject_ifindex()};
      for (int b = 0; b < topology.backend_count(); ++b) {
        absl::StatusOr<int> vb = topology.node().Ifindex(absl::StrCat("vb", b));
        if (!vb.ok()) return vb.status();
        pods.push_back(*vb);
      }
      for (int ifindex : pods) {
        if (absl::Status s = topology.node().Run(
                [&] { return datapath.AttachPodInterface(ifindex); });
            !s.ok()) {
          return s;
        }
      }
      how = mode == Mode::kSwitchyardBypass
                ? "tc datapath, stack bypass (bpf_redirect_peer)"
                : "tc datapath, stack bypass off (the stack forwards)";
    } else {
      const int ifindex = topology.external_ifindex();
      absl::StatusOr<std::optional<kernel::XdpMode>> xdp = topology.node().Run(
          [&] { return datapath.AttachExternalDevice(ifindex); });
      if (!xdp.ok()) return xdp.status();
      if (mode == Mode::kSwitchyardTcStack) {
        if (xdp->has_value()) {
          return absl::InternalError("XDP attached although forced off");
        }
        how = "tc only on vext (XDP off): yard_outside_ingress, the stack";
      } else if (!xdp->has_value()) {
        return absl::FailedPreconditionError("XDP did not attach on vext");
      } else {
        how = absl::StrCat(
            "XDP (", **xdp == kernel::XdpMode::kNative ? "native" : "generic",
            ") on vext, ",
            mode == Mode::kSwitchyardXdpStack      ? "XDP_PASS to the stack"
            : mode == Mode::kSwitchyardXdpRedirect ? "redirect into the veth"
                                                   : "SNAT + XDP_TX");
        if (mode != Mode::kSwitchyardXdpStack) {
          node->pass_ = yard_xdp_pass__open_and_load();
          if (node->pass_ == nullptr) {
            return ErrnoStatus(errno, "load yard_xdp_pass");
          }
          const int fd = bpf_program__fd(node->pass_->progs.yard_xdp_pass);
          if (mode == Mode::kSwitchyardXdpRedirect) {
            for (int b = 0; b < topology.backend_count(); ++b) {
              if (absl::Status s = AttachXdpPass(
                      topology.backend(b), topology.backend_ifindex(b), fd);
                  !s.ok()) {
                return s;
              }
            }
            absl::StrAppend(&how, " (yard_xdp_pass on the backends' eth0)");
          } else {
            if (absl::Status s = AttachXdpPass(topology.outside(),
                                               topology.outside_ifindex(), fd);
                !s.ok()) {
              return s;
            }
            absl::StrAppend(&how, " (yard_xdp_pass on out's eth0)");
          }
        }
      }
    }
    node->program_seconds_ = SecondsSince(start);
    node->describe_ =
        absl::StrCat(how, ", ", programmer.last_writes(), " map writes");
    return std::unique_ptr<ProgrammedNode>(std::move(node));
  }

  ~SwitchyardNode() override {
    // The program stays on its interfaces until their namespaces go.
    if (pass_ != nullptr) yard_xdp_pass__destroy(pass_);
  }

  absl::Status ForgetFlows() override { return datapath_->maps().ClearCt(); }
  std::string Describe() const override { return describe_; }
  int xdp_entry_fd() const override {
    return external_ ? datapath_->from_outside_fd() : -1;
  }

 private:
  SwitchyardNode(std::unique_ptr<kernel::Datapath> dp, bool external)
      : datapath_(std::move(dp)), external_(external) {}
  std::unique_ptr<kernel::Datapath> datapath_;
  bool external_;
  yard_xdp_pass* pass_ = nullptr;
  std::string describe_;
};

class NetfilterNode : public ProgrammedNode {
 public:
  static absl::StatusOr<std::unique_ptr<ProgrammedNode>> Create(
      Mode mode, const Topology& topology,
      const std::vector<ServicePort>& services) {
    const kubeproxy::LayoutOptions options{
        kClusterCidr, kServiceCidr, {kNodeAddr}};
    const bool ipt = mode == Mode::kIptables ||
                     mode == Mode::kIptablesNodePort ||
                     mode == Mode::kIptablesNodePortRemote;
    // iptables-restore replaces whole tables in one go, as kube-proxy's
    // does; nftables goes in several transactions (see
    // NftablesTransactions for why).
    const std::vector<std::string> parts =
        ipt ? std::vector<std::string>{kubeproxy::IptablesRestoreInput(services,
                                                                       options)}
            : kubeproxy::NftablesTransactions(services, options,
                                              kNftServicesPerTransaction);
    size_t lines = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const std::string& text : parts) {
      lines += std::count(text.begin(), text.end(), '\n');
      if (absl::Status s = Load(topology, ipt, text); !s.ok()) return s;
    }
    std::unique_ptr<NetfilterNode> node(new NetfilterNode(&topology));
    node->program_seconds_ = SecondsSince(start);
    node->describe_ =
        ipt ? absl::StrCat(IptablesVersion(), ", ",
                           kubeproxy::CountIptablesRules(parts[0]), " rules")
            : absl::StrCat("nft, ", lines, " script lines in ", parts.size(),
                           " transactions");
    if (ModeSite(mode) == Site::kRemote) {
      // The hops after the node as switchyard-xdp-tx has them: `out`'s
      // eth0 with the same pass-through program, so both modes' frames
      // take the same path once they leave vext.
      node->pass_ = yard_xdp_pass__open_and_load();
      if (node->pass_ == nullptr) {
        return ErrnoStatus(errno, "load yard_xdp_pass");
      }
      if (absl::Status s =
              AttachXdpPass(topology.outside(), topology.outside_ifindex(),
                            bpf_program__fd(node->pass_->progs.yard_xdp_pass));
          !s.ok()) {
        return s;
      }
      absl::StrAppend(&node->describe_,
                      "; endpoints on n2, masqueraded out vext "
                      "(yard_xdp_pass on out's eth0)");
    }
    return std::unique_ptr<ProgrammedNode>(std::move(node));
  }

  ~NetfilterNode() override {
    if (pass_ != nullptr) yard_xdp_pass__destroy(pass_);
  }

  absl::Status ForgetFlows() override {
    return topology_->node().Run([] { return FlushConntrack(); });
  }
  std::string Describe() const override { return describe_; }

 private:
  explicit NetfilterNode(const Topology* topology) : topology_(topology) {}

  // Feeds one iptables-restore input or nft script to the node, through
  // a file (inputs run to tens of megabytes).
  static absl::Status Load(const Topology& topology, bool ipt,
                           const std::string& text) {
    char path[] = "/tmp/ybl-rules-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) return absl::InternalError("mkstemp for the rules file");
    close(fd);
    {
      std::ofstream file(path);
      file << text;
      if (!file) {
        unlink(path);
        return absl::InternalError(absl::StrCat("write ", path));
      }
    }
    absl::Status loaded =
        topology.node().ExecOk(ipt ? absl::StrCat("iptables-restore < ", path)
                                   : absl::StrCat("nft -f ", path),
                               kLoadTimeout);
    unlink(path);
    return loaded;
  }
  const Topology* topology_;
  yard_xdp_pass* pass_ = nullptr;
  std::string describe_;
};

}  // namespace

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kSwitchyard:
      return "switchyard";
    case Mode::kSwitchyardBypass:
      return "switchyard-bypass";
    case Mode::kIptables:
      return "iptables";
    case Mode::kNftables:
      return "nftables";
    case Mode::kSwitchyardXdpStack:
      return "switchyard-xdp-stack";
    case Mode::kSwitchyardXdpRedirect:
      return "switchyard-xdp-redirect";
    case Mode::kSwitchyardXdpTx:
      return "switchyard-xdp-tx";
    case Mode::kSwitchyardTcStack:
      return "switchyard-tc-stack";
    case Mode::kIptablesNodePort:
      return "iptables-nodeport";
    case Mode::kNftablesNodePort:
      return "nftables-nodeport";
    case Mode::kIptablesNodePortRemote:
      return "iptables-nodeport-remote";
    case Mode::kNftablesNodePortRemote:
      return "nftables-nodeport-remote";
  }
  return "?";
}

bool IsNodePort(Mode mode) {
  return mode != Mode::kSwitchyard && mode != Mode::kSwitchyardBypass &&
         mode != Mode::kIptables && mode != Mode::kNftables;
}

bool IsKubeProxy(Mode mode) {
  switch (mode) {
    case Mode::kIptables:
    case Mode::kNftables:
    case Mode::kIptablesNodePort:
    case Mode::kNftablesNodePort:
    case Mode::kIptablesNodePortRemote:
    case Mode::kNftablesNodePortRemote:
      return true;
    default:
      return false;
  }
}

Site ModeSite(Mode mode) {
  return mode == Mode::kSwitchyardXdpTx ||
                 mode == Mode::kIptablesNodePortRemote ||
                 mode == Mode::kNftablesNodePortRemote
             ? Site::kRemote
             : Site::kLocal;
}

std::string ProgramKey(Mode mode) {
  switch (mode) {
    case Mode::kIptables:
    case Mode::kIptablesNodePort:
      return "iptables";
    case Mode::kNftables:
    case Mode::kNftablesNodePort:
      return "nftables";
    default:
      return ModeName(mode);
  }
}

std::string IptablesVersion() {
  absl::StatusOr<netns::CommandResult> out =
      netns::RunCommand({"iptables", "-V"}, netns::kCommandTimeout);
  if (!out.ok() || out->exit_code != 0) return "iptables (version unknown)";
  return std::string(absl::StripAsciiWhitespace(out->output));
}

absl::StatusOr<std::unique_ptr<ProgrammedNode>> ProgramNode(
    Mode mode, const Topology& topology,
    const std::vector<ServicePort>& services) {
  if (!IsKubeProxy(mode)) {
    return SwitchyardNode::Create(mode, topology, services);
  }
  return NetfilterNode::Create(mode, topology, services);
}

}  // namespace switchyard::bench::live
