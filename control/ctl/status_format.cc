// SPDX-License-Identifier: Apache-2.0
#include "control/ctl/status_format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "control/ctl/format.h"
#include "control/format/json.h"
#include "control/format/value.h"

namespace switchyard::ctl {
namespace {

using format::Value;

Value Int(int64_t i) { return Value::Int(i); }
Value Str(std::string s) { return Value::String(std::move(s)); }

absl::string_view HookName(const kernel::TcAttachment& a) {
  if (a.xdp) return "xdp";
  return a.direction == kernel::TcDirection::kIngress ? "ingress" : "egress";
}

uint64_t Behind(uint64_t version, uint64_t acked) {
  return version > acked ? version - acked : 0;
}

std::string LastSeen(int64_t unix_ms, absl::Time now) {
  if (unix_ms == 0) return "never";
  return absl::StrCat(HumanDuration(now - absl::FromUnixMillis(unix_ms)),
                      " ago");
}

const v1::NodeSync* FindNode(const v1::ListNodeSyncResponse& sync,
                             const std::string& node) {
  for (const v1::NodeSync& n : sync.nodes()) {
    if (n.node_name() == node) return &n;
  }
  return nullptr;
}

Value NodeSyncJson(const v1::NodeSync& n, uint64_t version) {
  Value v = Value::Map();
  v.Set("node", Str(n.node_name()));
  v.Set("acked_version", Int(static_cast<int64_t>(n.acked_version())));
  v.Set("behind",
        Int(static_cast<int64_t>(Behind(version, n.acked_version()))));
  v.Set("connected", Value::Bool(n.connected()));
  v.Set("last_seen_unix_ms", Int(n.last_seen_unix_ms()));
  v.Set("rejected_version", Int(static_cast<int64_t>(n.rejected_version())));
  v.Set("rejected_error", Str(n.rejected_error()));
  return v;
}

// One line on how the node's agent stands with the controller.
std::string SyncLine(const NodeStatusView& view) {
  if (!view.controller_status.ok()) {
    return absl::StrCat("unreachable (", view.controller_status.message(),
                        "); the datapath keeps its last state");
  }
  const uint64_t version = view.sync->version();
  const v1::NodeSync* n = FindNode(*view.sync, view.node);
  if (n == nullptr) {
    return absl::StrCat("version ", version, "; node ", view.node,
                        " has not connected since the controller started");
  }
  uint64_t behind = Behind(version, n->acked_version());
  std::string line = absl::StrCat(
      "version ", version, "; node acked ", n->acked_version(),
      behind == 0 ? " (in sync)" : absl::StrCat(" (", behind, " behind)"), ", ",
      n->connected() ? "connected" : "disconnected", ", last seen ",
      LastSeen(n->last_seen_unix_ms(), view.now));
  if (n->rejected_version() != 0) {
    absl::StrAppend(&line, "; rejected version ", n->rejected_version(), ": ",
                    n->rejected_error());
  }
  return line;
}

// The pins' layout version, and what it means for this yardctl.
std::string LayoutLine(const NodeStatusView& view) {
  if (!view.layout) {
    return "not recorded (the maps were made by an agent older than the "
           "record)";
  }
  if (*view.layout == view.own_layout) return absl::StrCat(*view.layout);
  return absl::StrCat(*view.layout, " (this yardctl reads layout ",
                      view.own_layout,
                      ": bpf and trace refuse these maps; use the yardctl "
                      "that came with the node's agent)");
}

Value MapsJson(const std::vector<kernel::MapUsage>& usage) {
  Value maps = Value::List();
  for (const kernel::MapUsage& m : usage) {
    Value v = Value::Map();
    v.Set("name", Str(m.name));
    v.Set("type", Str(m.type));
    v.Set("id", Int(m.id));
    v.Set("entries",
          m.entries ? Int(static_cast<int64_t>(*m.entries)) : Value());
    v.Set("max_entries", Int(m.max_entries));
    maps.Append(std::move(v));
  }
  return maps;
}

Value AttachmentsJson(const std::vector<kernel::TcAttachment>& all) {
  Value attachments = Value::List();
  for (const kernel::TcAttachment& a : all) {
    Value v = Value::Map();
    v.Set("interface", Str(a.interface));
    v.Set("ifindex", Int(a.ifindex));
    v.Set("hook", Str(std::string(HookName(a))));
    v.Set("program", Str(a.program.name));
    v.Set("program_id", Int(a.program.id));
    v.Set("tag", Str(a.program.tag));
    v.Set("this_node", Value::Bool(a.this_node));
    attachments.Append(std::move(v));
  }
  return attachments;
}

Value ProgramsJson(const std::vector<kernel::ProgramInfo>& all) {
  Value programs = Value::List();
  for (const kernel::ProgramInfo& p : all) {
    Value v = Value::Map();
    v.Set("name", Str(p.name));
    v.Set("id", Int(p.id));
    v.Set("tag", Str(p.tag));
    programs.Append(std::move(v));
  }
  return programs;
}

Value FeaturesJson(const std::optional<kernel::FeatureSet>& set) {
  Value features = Value::List();
  if (!set.has_value()) return features;
  for (kernel::Feature f : kernel::AllFeatures()) {
    Value v = Value::Map();
    v.Set("name", Str(std::string(kernel::FeatureName(f))));
    v.Set("on", Value::Bool(set->state(f) == YARD_FEATURE_ON));
    v.Set("state", Str(std::string(kernel::FeatureStateName(set->state(f)))));
    v.Set("why", Str(set->why(f)));
    features.Append(std::move(v));
  }
  return features;
}

Value ControllerJson(const NodeStatusView& view) {
  Value controller = Value::Map();
  controller.Set("address", Str(view.controller));
  controller.Set("reachable", Value::Bool(view.controller_status.ok()));
  if (!view.controller_status.ok()) {
    controller.Set("error", Str(std::string(view.controller_status.message())));
    return controller;
  }
  controller.Set("version", Int(static_cast<int64_t>(view.sync->version())));
  const v1::NodeSync* n = FindNode(*view.sync, view.node);
  controller.Set("sync", n ? NodeSyncJson(*n, view.sync->version()) : Value());
  return controller;
}

std::string NodeStatusJson(const NodeStatusView& view) {
  Value doc = Value::Map();
  doc.Set("node", Str(view.node));
  doc.Set("pin_dir", Str(view.pin_dir));
  doc.Set("netns", Str(view.netns));
  doc.Set("layout_version", view.layout ? Int(*view.layout) : Value());
  doc.Set("maps", MapsJson(view.maps));
  doc.Set("attachments", AttachmentsJson(view.attachments));
  doc.Set("programs", ProgramsJson(view.programs));
  doc.Set("features", FeaturesJson(view.features));
  doc.Set("controller", ControllerJson(view));
  return format::WriteJson(doc);
}

// Node, pins, layout, programs, controller.
std::string NodeSummaryText(const NodeStatusView& view) {
  std::string out =
      absl::StrCat("Node:        ", view.node, "\nMaps pinned: ", view.pin_dir,
                   "\nLayout:      ", LayoutLine(view), "\n");
  std::string programs;
  for (const kernel::ProgramInfo& p : view.programs) {
    absl::StrAppend(&programs, programs.empty() ? "" : ", ", p.name, " id ",
                    p.id);
  }
  absl::StrAppend(
      &out, "Programs:    ",
      programs.empty() ? "none loaded (no agent, and no interface holds them)"
                       : programs,
      "\nController:  ", view.controller, ": ", SyncLine(view), "\n",
      view.features.has_value()
          ? ""
          : "Features:    not recorded (the maps were loaded by an agent "
            "older than the record)\n",
      "\n");
  return out;
}

std::string FeatureTable(const kernel::FeatureSet& set) {
  std::vector<std::vector<std::string>> rows = {{"FEATURE", "STATE", "WHY"}};
  for (kernel::Feature f : kernel::AllFeatures()) {
    const std::string& why = set.why(f);
    rows.push_back({std::string(kernel::FeatureName(f)),
                    std::string(kernel::FeatureStateName(set.state(f))),
                    why.empty() ? "-" : why});
  }
  return FormatColumns(rows);
}

std::string MapTable(const std::vector<kernel::MapUsage>& maps) {
  std::vector<std::vector<std::string>> rows = {
      {"MAP", "TYPE", "ID", "ENTRIES", "MAX-ENTRIES", "USE"}};
  for (const kernel::MapUsage& m : maps) {
    rows.push_back({m.name, m.type, absl::StrCat(m.id),
                    m.entries ? absl::StrCat(*m.entries) : "-",
                    absl::StrCat(m.max_entries),
                    m.entries ? Percent(*m.entries, m.max_entries) : "-"});
  }
  return FormatColumns(rows);
}

std::string AttachmentText(const NodeStatusView& view) {
  const std::string where =
      view.netns.empty()
          ? std::string(
                "yardctl's network namespace (--netns NAME reads a "
                "node's own)")
          : absl::StrCat("network namespace ", view.netns);
  if (view.attachments.empty()) {
    return absl::StrCat("No Switchyard programs attached in ", where, ".\n");
  }
  std::vector<std::vector<std::string>> rows = {
      {"INTERFACE", "IFINDEX", "HOOK", "PROGRAM", "PROG-ID", "TAG", "MAPS"}};
  for (const kernel::TcAttachment& a : view.attachments) {
    rows.push_back({a.interface, absl::StrCat(a.ifindex),
                    std::string(HookName(a)), a.program.name,
                    absl::StrCat(a.program.id), a.program.tag,
                    a.this_node ? "this node" : "another node"});
  }
  return absl::StrCat("Attached in ", where, ":\n", FormatColumns(rows));
}

}  // namespace

std::string FormatNodeStatus(const NodeStatusView& view, InspectOutput output) {
  if (output == InspectOutput::kJson) return NodeStatusJson(view);
  std::string out = NodeSummaryText(view);
  if (view.features.has_value()) {
    absl::StrAppend(&out, FeatureTable(*view.features), "\n");
  }
  absl::StrAppend(&out, MapTable(view.maps), "\n", AttachmentText(view));
  return out;
}

std::string FormatClusterStatus(const ClusterStatusView& view,
                                InspectOutput output) {
  std::vector<v1::NodeSync> nodes(view.sync.nodes().begin(),
                                  view.sync.nodes().end());
  std::sort(nodes.begin(), nodes.end(),
            [](const v1::NodeSync& a, const v1::NodeSync& b) {
              return a.node_name() < b.node_name();
            });
  const uint64_t version = view.sync.version();
  if (output == InspectOutput::kJson) {
    Value doc = Value::Map();
    doc.Set("controller", Str(view.controller));
    doc.Set("version", Int(static_cast<int64_t>(version)));
    Value list = Value::List();
    for (const v1::NodeSync& n : nodes) list.Append(NodeSyncJson(n, version));
    doc.Set("nodes", std::move(list));
    return format::WriteJson(doc);
  }
  std::string out = absl::StrCat("Controller ", view.controller, " at version ",
                                 version, "\n");
  if (nodes.empty()) {
    return absl::StrCat(out, "No node has connected yet.\n");
  }
  std::vector<std::vector<std::string>> rows = {{"NODE", "ACKED", "BEHIND",
                                                 "CONNECTED", "LAST-SEEN",
                                                 "REJECTED", "ERROR"}};
  for (const v1::NodeSync& n : nodes) {
    rows.push_back(
        {n.node_name(), absl::StrCat(n.acked_version()),
         absl::StrCat(Behind(version, n.acked_version())),
         n.connected() ? "yes" : "no",
         LastSeen(n.last_seen_unix_ms(), view.now),
         n.rejected_version() == 0 ? "-" : absl::StrCat(n.rejected_version()),
         n.rejected_error().empty() ? "-" : n.rejected_error()});
  }
  return absl::StrCat(out, "\n", FormatColumns(rows));
}

}  // namespace switchyard::ctl
