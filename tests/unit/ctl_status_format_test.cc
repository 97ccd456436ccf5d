// SPDX-License-Identifier: Apache-2.0
// `yardctl status` output from made-up data: a node's map fill, its tc
// attachments and its lag behind the controller; every node's sync state
// for --cluster. No kernel, no controller.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "control/ctl/status_format.h"

namespace switchyard::ctl {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

v1::ListNodeSyncResponse Sync(absl::string_view text) {
  v1::ListNodeSyncResponse sync;
  EXPECT_TRUE(
      google::protobuf::TextFormat::ParseFromString(std::string(text), &sync));
  return sync;
}

// node-a acked 40 of 42, seen 3 s ago; node-b in sync but disconnected
// for an hour; node-c rejected 41 and is stuck at 39.
v1::ListNodeSyncResponse ThreeNodes() {
  return Sync(R"pb(
    version: 42
    nodes {
      node_name: "node-c"
      acked_version: 39
      rejected_version: 41
      rejected_error: "frontend 10.96.0.10:80/TCP: backend map full"
      connected: true
      last_seen_unix_ms: 1799999990000
    }
    nodes {
      node_name: "node-a"
      acked_version: 40
      connected: true
      last_seen_unix_ms: 1799999997000
    }
    nodes {
      node_name: "node-b"
      acked_version: 42
      connected: false
      last_seen_unix_ms: 1799996400000
    }
  )pb");
}

kernel::MapUsage Map(std::string name, std::string type, uint32_t id,
                     std::optional<uint64_t> entries, uint32_t max) {
  kernel::MapUsage m;
  m.name = std::move(name);
  m.type = std::move(type);
  m.id = id;
  m.entries = entries;
  m.max_entries = max;
  return m;
}

kernel::ProgramInfo Program(std::string name, uint32_t id) {
  kernel::ProgramInfo p;
  p.name = std::move(name);
  p.id = id;
  p.tag = id == 57 ? "3b3ce79516adad05" : "362011730ade038e";
  return p;
}

kernel::TcAttachment Attached(std::string interface, int ifindex,
                              kernel::TcDirection direction, uint32_t prog,
                              bool this_node) {
  kernel::TcAttachment a;
  a.interface = std::move(interface);
  a.ifindex = ifindex;
  a.direction = direction;
  a.program =
      Program(direction == kernel::TcDirection::kIngress ? "yard_from_pod"
                                                         : "yard_to_pod",
              prog);
  a.this_node = this_node;
  return a;
}

NodeStatusView NodeA() {
  NodeStatusView view;
  view.node = "node-a";
  view.pin_dir = "/sys/fs/bpf/switchyard/node-a";
  view.netns = "lab-node-a";
  view.layout = 3;
  view.own_layout = 3;
  view.maps = {
      Map("yard_svc4", "hash", 11, 5, 65536),
      Map("yard_ct4", "lru_hash", 15, 262144, 1048576),
      Map("yard_reasons", "percpu_array", 17, std::nullopt, 15),
  };
  view.programs = {Program("yard_to_pod", 58), Program("yard_from_pod", 57)};
  view.attachments = {
      Attached("veth-client", 4, kernel::TcDirection::kIngress, 57, true),
      Attached("veth-client", 4, kernel::TcDirection::kEgress, 58, true),
      Attached("veth-old", 7, kernel::TcDirection::kIngress, 31, false),
  };
  view.controller = "unix:///run/switchyard/controller.sock";
  view.sync = ThreeNodes();
  view.now = kNow;
  kernel::FeatureSet features;
  features.Set(kernel::Feature::kXdp, YARD_FEATURE_OFF_REFUSED,
               "refused by the kernel: program of this type cannot use "
               "helper bpf_xdp_adjust_meta#54");
  view.features = features;
  return view;
}

TEST(NodeStatus, FillAttachmentsAndLag) {
  EXPECT_EQ(FormatNodeStatus(NodeA(), InspectOutput::kTable),
            R"(Node:        node-a
Maps pinned: /sys/fs/bpf/switchyard/node-a
Layout:      3
Programs:    yard_to_pod id 58, yard_from_pod id 57
Controller:  unix:///run/switchyard/controller.sock: version 42; node acked 40 (2 behind), connected, last seen 3s ago

FEATURE        STATE                         WHY
xdp            off (refused by the kernel)   refused by the kernel: program of this type cannot use helper bpf_xdp_adjust_meta#54
coarse_clock   on                            -
north_south    on                            -
stack_bypass   on                            -
maglev_mmap    on                            -

MAP            TYPE           ID    ENTRIES   MAX-ENTRIES   USE
yard_svc4      hash           11    5         65536         0.0%
yard_ct4       lru_hash       15    262144    1048576       25.0%
yard_reasons   percpu_array   17    -         15            -

Attached in network namespace lab-node-a:
INTERFACE     IFINDEX   HOOK      PROGRAM         PROG-ID   TAG                MAPS
veth-client   4         ingress   yard_from_pod   57        3b3ce79516adad05   this node
veth-client   4         egress    yard_to_pod     58        362011730ade038e   this node
veth-old      7         ingress   yard_from_pod   31        362011730ade038e   another node
)");
}

TEST(NodeStatus, ControllerAwayIsNotAnError) {
  NodeStatusView view = NodeA();
  view.sync.reset();
  view.controller_status = absl::UnavailableError("cannot reach it");
  view.attachments.clear();
  view.programs.clear();
  view.netns.clear();
  view.features.reset();
  view.layout.reset();
  EXPECT_EQ(FormatNodeStatus(view, InspectOutput::kTable),
            R"(Node:        node-a
Maps pinned: /sys/fs/bpf/switchyard/node-a
Layout:      not recorded (the maps were made by an agent older than the record)
Programs:    none loaded (no agent, and no interface holds them)
Controller:  unix:///run/switchyard/controller.sock: unreachable (cannot reach it); the datapath keeps its last state
Features:    not recorded (the maps were loaded by an agent older than the record)

MAP            TYPE           ID    ENTRIES   MAX-ENTRIES   USE
yard_svc4      hash           11    5         65536         0.0%
yard_ct4       lru_hash       15    262144    1048576       25.0%
yard_reasons   percpu_array   17    -         15            -

No Switchyard programs attached in yardctl's network namespace (--netns NAME reads a node's own).
)");
}

TEST(NodeStatus, LayoutOfAnotherBuildSaysWhatToUse) {
  NodeStatusView view = NodeA();
  view.layout = 4;
  std::string text = FormatNodeStatus(view, InspectOutput::kTable);
  EXPECT_NE(text.find("\nLayout:      4 (this yardctl reads layout 3: bpf and "
                      "trace refuse these maps; use the yardctl that came "
                      "with the node's agent)\n"),
            std::string::npos)
      << text;
}

TEST(NodeStatus, NodeUnknownToTheController) {
  NodeStatusView view = NodeA();
  view.node = "node-z";
  std::string text = FormatNodeStatus(view, InspectOutput::kTable);
  EXPECT_NE(text.find("Controller:  unix:///run/switchyard/controller.sock: "
                      "version 42; node node-z has not connected since the "
                      "controller started\n"),
            std::string::npos)
      << text;
}

TEST(NodeStatus, RejectionShown) {
  NodeStatusView view = NodeA();
  view.node = "node-c";
  std::string text = FormatNodeStatus(view, InspectOutput::kTable);
  EXPECT_NE(text.find("node acked 39 (3 behind), connected, last seen 10s "
                      "ago; rejected version 41: frontend 10.96.0.10:80/TCP: "
                      "backend map full\n"),
            std::string::npos)
      << text;
}

TEST(NodeStatus, Json) {
  NodeStatusView view = NodeA();
  view.maps.resize(2);
  view.attachments.resize(1);
  view.programs.resize(1);
  EXPECT_EQ(FormatNodeStatus(view, InspectOutput::kJson), R"json({
    "node": "node-a",
    "pin_dir": "/sys/fs/bpf/switchyard/node-a",
    "netns": "lab-node-a",
    "layout_version": 3,
    "maps": [
        {
            "name": "yard_svc4",
            "type": "hash",
            "id": 11,
            "entries": 5,
            "max_entries": 65536
        },
        {
            "name": "yard_ct4",
            "type": "lru_hash",
            "id": 15,
            "entries": 262144,
            "max_entries": 1048576
        }
    ],
    "attachments": [
        {
            "interface": "veth-client",
            "ifindex": 4,
            "hook": "ingress",
            "program": "yard_from_pod",
            "program_id": 57,
            "tag": "3b3ce79516adad05",
            "this_node": true
        }
    ],
    "programs": [
        {
            "name": "yard_to_pod",
            "id": 58,
            "tag": "362011730ade038e"
        }
    ],
    "features": [
        {
            "name": "xdp",
            "on": false,
            "state": "off (refused by the kernel)",
            "why": "refused by the kernel: program of this type cannot use helper bpf_xdp_adjust_meta#54"
        },
        {
            "name": "coarse_clock",
            "on": true,
            "state": "on",
            "why": ""
        },
        {
            "name": "north_south",
            "on": true,
            "state": "on",
            "why": ""
        },
        {
            "name": "stack_bypass",
            "on": true,
            "state": "on",
            "why": ""
        },
        {
            "name": "maglev_mmap",
            "on": true,
            "state": "on",
            "why": ""
        }
    ],
    "controller": {
        "address": "unix:///run/switchyard/controller.sock",
        "reachable": true,
        "version": 42,
        "sync": {
            "node": "node-a",
            "acked_version": 40,
            "behind": 2,
            "connected": true,
            "last_seen_unix_ms": 1799999997000,
            "rejected_version": 0,
            "rejected_error": ""
        }
    }
}
)json");
}

TEST(NodeStatus, JsonWithControllerAway) {
  NodeStatusView view = NodeA();
  view.maps.clear();
  view.attachments.clear();
  view.programs.clear();
  view.sync.reset();
  view.features.reset();
  view.layout.reset();
  view.controller_status = absl::UnavailableError("cannot reach it");
  EXPECT_EQ(FormatNodeStatus(view, InspectOutput::kJson), R"({
    "node": "node-a",
    "pin_dir": "/sys/fs/bpf/switchyard/node-a",
    "netns": "lab-node-a",
    "layout_version": null,
    "maps": [],
    "attachments": [],
    "programs": [],
    "features": [],
    "controller": {
        "address": "unix:///run/switchyard/controller.sock",
        "reachable": false,
        "error": "cannot reach it"
    }
}
)");
}

TEST(ClusterStatus, EveryNodeSortedWithLag) {
  ClusterStatusView view{.controller = "unix:///run/switchyard/controller.sock",
                         .sync = ThreeNodes(),
                         .now = kNow};
  EXPECT_EQ(FormatClusterStatus(view, InspectOutput::kTable),
            R"(Controller unix:///run/switchyard/controller.sock at version 42

NODE     ACKED   BEHIND   CONNECTED   LAST-SEEN   REJECTED   ERROR
node-a   40      2        yes         3s ago      -          -
node-b   42      0        no          60m ago     -          -
node-c   39      3        yes         10s ago     41         frontend 10.96.0.10:80/TCP: backend map full
)");
}

TEST(ClusterStatus, Json) {
  ClusterStatusView view{.controller = "unix:///run/switchyard/controller.sock",
                         .sync = ThreeNodes(),
                         .now = kNow};
  EXPECT_EQ(FormatClusterStatus(view, InspectOutput::kJson), R"({
    "controller": "unix:///run/switchyard/controller.sock",
    "version": 42,
    "nodes": [
        {
            "node": "node-a",
            "acked_version": 40,
            "behind": 2,
            "connected": true,
            "last_seen_unix_ms": 1799999997000,
            "rejected_version": 0,
            "rejected_error": ""
        },
        {
            "node": "node-b",
            "acked_version": 42,
            "behind": 0,
            "connected": false,
            "last_seen_unix_ms": 1799996400000,
            "rejected_version": 0,
            "rejected_error": ""
        },
        {
            "node": "node-c",
            "acked_version": 39,
            "behind": 3,
            "connected": true,
            "last_seen_unix_ms": 1799999990000,
            "rejected_version": 41,
            "rejected_error": "frontend 10.96.0.10:80/TCP: backend map full"
        }
    ]
}
)");
}

TEST(ClusterStatus, NoNodeYet) {
  ClusterStatusView view{
      .controller = "10.0.0.1:7000", .sync = Sync("version: 3"), .now = kNow};
  EXPECT_EQ(FormatClusterStatus(view, InspectOutput::kTable),
            "Controller 10.0.0.1:7000 at version 3\n"
            "No node has connected yet.\n");
}

}  // namespace
}  // namespace switchyard::ctl
