// SPDX-License-Identifier: Apache-2.0
// `yardctl status` finds the datapath on a node's interfaces: the datapath
// is attached with Datapath::AttachPodInterface (the agent's way) to veths
// in a namespace, and kernel::ListTcAttachments, asked from outside through
// --netns, must find each filter with its program and tell this node's
// programs from another node's. This also keeps kSwitchyardTcHandle and
// kSwitchyardTcPriority equal to what AttachTc uses.
//
// Label e2e: it attaches (namespaces, veth). Namespaces are the netns
// library's, pins under /sys/fs/bpf/switchyard-tcq-test-<pid>; both are
// removed however the test ends.
#include "control/kernel/tc_attachments.h"

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/ctl/cli.h"
#include "control/ctl/commands.h"
#include "control/kernel/datapath.h"
#include "control/kernel/node_programs.h"
#include "gtest/gtest.h"
#include "tests/bpf/scoped_pin_root.h"
#include "tests/netns/netns.h"

namespace switchyard {
namespace {

using kernel::Datapath;
using kernel::DatapathConfig;
using kernel::TcAttachment;
using kernel::TcDirection;

DatapathConfig Small(const std::string& pin_dir) {
  DatapathConfig config;
  config.pin_dir = pin_dir;
  config.max_frontends = 8;
  config.max_slots = 8;
  config.max_backends = 8;
  config.max_ct_entries = 64;
  return config;
}

class TcAttachmentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<int> stale = netns::CleanupStaleNamespaces();
    ASSERT_TRUE(stale.ok()) << stale.status();
    pins_ = std::make_unique<testing::ScopedPinRoot>("switchyard-tcq-test-");
    for (auto [name, out] : {std::pair{"tcq-node", &node_},
                             {"tcq-pod-a", &pod_a_},
                             {"tcq-pod-b", &pod_b_}}) {
      absl::StatusOr<std::unique_ptr<netns::Namespace>> ns =
          netns::Namespace::Create(name);
      ASSERT_TRUE(ns.ok()) << ns.status();
      *out = *std::move(ns);
    }
    ASSERT_TRUE(netns::CreateVeth(*node_, "vpod-a", *pod_a_, "eth0").ok());
    ASSERT_TRUE(netns::CreateVeth(*node_, "vpod-b", *pod_b_, "eth0").ok());
  }

  void TearDown() override {
    // Programs go with the namespaces' devices; pins with their folder.
    node_a_.reset();
    node_b_.reset();
    pod_a_.reset();
    pod_b_.reset();
    node_.reset();
    pins_.reset();
  }

  std::unique_ptr<Datapath> LoadAndAttach(const std::string& node,
                                          const std::string& dev) {
    absl::StatusOr<std::unique_ptr<Datapath>> dp =
        Datapath::Load(Small(pins_->Node(node)));
    EXPECT_TRUE(dp.ok()) << dp.status();
    if (!dp.ok()) return nullptr;
    absl::StatusOr<int> ifindex = node_->Ifindex(dev);
    EXPECT_TRUE(ifindex.ok()) << ifindex.status();
    if (!ifindex.ok()) return nullptr;
    Datapath* raw = dp->get();
    absl::Status attached = node_->Run(
        [&]() -> absl::Status { return raw->AttachPodInterface(*ifindex); });
    EXPECT_TRUE(attached.ok()) << attached;
    return *std::move(dp);
  }

  std::unique_ptr<testing::ScopedPinRoot> pins_;
  std::unique_ptr<netns::Namespace> node_, pod_a_, pod_b_;
  std::unique_ptr<Datapath> node_a_, node_b_;
};

TEST_F(TcAttachmentsTest, FindsEachFilterAndWhoseItIs) {
  node_a_ = LoadAndAttach("node-a", "vpod-a");
  node_b_ = LoadAndAttach("node-b", "vpod-b");
  ASSERT_TRUE(node_a_ && node_b_);

  absl::StatusOr<std::vector<TcAttachment>> found =
      kernel::ListTcAttachments(node_->name(), pins_->Node("node-a"));
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 4u);
  const TcAttachment& in = (*found)[0];
  EXPECT_EQ(in.interface, "vpod-a");
  EXPECT_EQ(in.direction, TcDirection::kIngress);
  EXPECT_EQ(in.program.name, "yard_from_pod");
  EXPECT_TRUE(in.this_node);
  const TcAttachment& out = (*found)[1];
  EXPECT_EQ(out.interface, "vpod-a");
  EXPECT_EQ(out.direction, TcDirection::kEgress);
  EXPECT_EQ(out.program.name, "yard_to_pod");
  EXPECT_TRUE(out.this_node);
  // The ids are those of the programs FindNodePrograms gives for node-a.
  absl::StatusOr<std::vector<kernel::ProgramInfo>> programs =
      kernel::FindNodePrograms(pins_->Node("node-a"));
  ASSERT_TRUE(programs.ok()) << programs.status();
  // (With the external device's three, attached nowhere here.)
  ASSERT_EQ(programs->size(), 5u);
  for (const kernel::ProgramInfo& p : *programs) {
    if (p.name == "yard_from_pod") EXPECT_EQ(p.id, in.program.id);
    if (p.name == "yard_to_pod") EXPECT_EQ(p.id, out.program.id);
  }
  // node-b's filters are there, and are not node-a's.
  EXPECT_EQ((*found)[2].interface, "vpod-b");
  EXPECT_FALSE((*found)[2].this_node);
  EXPECT_FALSE((*found)[3].this_node);
}

TEST_F(TcAttachmentsTest, NothingOutsideTheNodesNamespace) {
  node_a_ = LoadAndAttach("node-a", "vpod-a");
  ASSERT_TRUE(node_a_);
  // The test's own namespace holds none of node-a's filters (the veths
  // are in the node's; what other tests attach there is not ours to
  // judge), and a pod's namespace holds no filter at all.
  absl::StatusOr<std::vector<TcAttachment>> here =
      kernel::ListTcAttachments("", pins_->Node("node-a"));
  ASSERT_TRUE(here.ok()) << here.status();
  for (const TcAttachment& a : *here) EXPECT_FALSE(a.this_node) << a.interface;
  absl::StatusOr<std::vector<TcAttachment>> pod =
      kernel::ListTcAttachments(pod_a_->name(), pins_->Node("node-a"));
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_TRUE(pod->empty());
  absl::StatusOr<std::vector<TcAttachment>> missing =
      kernel::ListTcAttachments("tcq-no-such-ns", pins_->Node("node-a"));
  EXPECT_FALSE(missing.ok());
  EXPECT_TRUE(absl::StrContains(missing.status().message(),
                                "/run/netns/tcq-no-such-ns"))
      << missing.status();
}

TEST_F(TcAttachmentsTest, StatusCommandShowsTheAttachments) {
  node_a_ = LoadAndAttach("node-a", "vpod-a");
  ASSERT_TRUE(node_a_);
  absl::StatusOr<ctl::CommandLine> line =
      ctl::ParseCommandLine({"status", "--node", "node-a", "--bpffs-root",
                             pins_->root(), "--netns", node_->name()});
  ASSERT_TRUE(line.ok()) << line.status();
  ctl::ClusterClient client(
      grpc::CreateChannel(absl::StrCat("unix:", pins_->root(), "/none.sock"),
                          grpc::InsecureChannelCredentials()),
      "unix:///nowhere.sock", absl::Seconds(2));
  std::ostringstream out, err;
  ctl::Context context{.client = &client, .out = &out, .err = &err};
  absl::Status s = ctl::RunCommand(*line, context);
  ASSERT_TRUE(s.ok()) << s;
  const std::string text = out.str();
  EXPECT_TRUE(absl::StrContains(
      text, absl::StrCat("Attached in network namespace ", node_->name())))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "vpod-a")) << text;
  EXPECT_TRUE(absl::StrContains(text, "ingress   yard_from_pod")) << text;
  EXPECT_TRUE(absl::StrContains(text, "this node")) << text;
  EXPECT_TRUE(err.str().empty()) << err.str();
}

}  // namespace
}  // namespace switchyard
