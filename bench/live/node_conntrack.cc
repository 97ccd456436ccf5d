// SPDX-License-Identifier: Apache-2.0
#include "bench/live/node_conntrack.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/live/conntrack_flush.h"

namespace switchyard::bench::live {
namespace {

// The kind of rules a node's CNI or kubelet leaves: a state match where
// packets arrive and one where they are forwarded.
std::string NodeRules() {
  const std::string t = absl::StrCat("ip ", kNodeConntrackTable);
  return absl::StrCat(
      "add table ", t, "\n",  //
      "add chain ", t,
      " prerouting { type filter hook prerouting priority -150 ; }\n",  //
      "add chain ", t, " forward { type filter hook forward priority 0 ; }\n",
      "add rule ", t, " prerouting ct state invalid counter\n",  //
      "add rule ", t, " forward ct state established,related counter accept\n",
      "add rule ", t, " forward ct state new counter accept\n");
}

class ConntrackedNode : public ProgrammedNode {
 public:
  // program_seconds stays the services' load time: the table is not
  // part of programming them.
  ConntrackedNode(std::unique_ptr<ProgrammedNode> inner,
                  const Topology* topology)
      : inner_(std::move(inner)), topology_(topology) {
    program_seconds_ = inner_->program_seconds();
  }

  absl::Status ForgetFlows() override {
    if (absl::Status s = inner_->ForgetFlows(); !s.ok()) return s;
    return topology_->node().Run([] { return FlushConntrack(); });
  }
  std::string Describe() const override {
    return absl::StrCat(inner_->Describe(), "; nf_conntrack on (nft table ",
                        kNodeConntrackTable, ")");
  }
  int xdp_entry_fd() const override { return inner_->xdp_entry_fd(); }

 private:
  std::unique_ptr<ProgrammedNode> inner_;
  const Topology* topology_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ProgrammedNode>> WithNodeConntrack(
    std::unique_ptr<ProgrammedNode> node, const Topology& topology) {
  if (absl::Status s = topology.node().ExecOk(
          absl::StrCat("nft -f - <<'EOF'\n", NodeRules(), "EOF\n"));
      !s.ok()) {
    return s;
  }
  return std::unique_ptr<ProgrammedNode>(
      new ConntrackedNode(std::move(node), &topology));
}

}  // namespace switchyard::bench::live
