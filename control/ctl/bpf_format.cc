// SPDX-License-Identifier: Apache-2.0
#include "control/ctl/bpf_format.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "control/common/ipv4.h"
#include "control/ctl/format.h"
#include "control/format/json.h"
#include "control/format/value.h"
#include "control/names/protocol_names.h"
#include "control/names/reason_names.h"

namespace switchyard::ctl {
namespace {

using format::Value;

constexpr absl::string_view kDash = "-";

Value Int(int64_t i) { return Value::Int(i); }
Value Str(std::string s) { return Value::String(std::move(s)); }
Value Strings(const std::vector<std::string>& items) {
  Value list = Value::List();
  for (const std::string& item : items) list.Append(Str(item));
  return list;
}

std::string OrDash(const std::vector<std::string>& words) {
  return words.empty() ? std::string(kDash) : absl::StrJoin(words, ",");
}

std::string Document(const std::string& node, const std::string& key,
                     Value list) {
  Value doc = Value::Map();
  doc.Set("node", Str(node));
  doc.Set(key, std::move(list));
  return format::WriteJson(doc);
}

// Frontends in address, then port, then protocol order (host order, so
// 10.96.0.9 comes before 10.96.0.10); a wildcard first for its address.
FrontendEntries SortedFrontends(FrontendEntries frontends) {
  std::sort(frontends.begin(), frontends.end(),
            [](const auto& a, const auto& b) {
              return std::make_tuple(a.first.scope, ntohl(a.first.addr),
                                     ntohs(a.first.port), a.first.proto) <
                     std::make_tuple(b.first.scope, ntohl(b.first.addr),
                                     ntohs(b.first.port), b.first.proto);
            });
  return frontends;
}

bool IsWildcard(const yard_svc4_key& key, const yard_svc_value& value) {
  return (value.flags & YARD_SVC_F_WILDCARD) != 0 ||
         (key.port == 0 && key.proto == 0);
}

std::string FrontendType(const yard_svc4_key& key,
                         const yard_svc_value& value) {
  if (IsWildcard(key, value)) return "wildcard (reject unknown ports)";
  if (value.count == 0) return "service (no endpoints: reject)";
  return "service";
}

std::vector<std::string> FrontendFlags(const yard_svc4_key& key,
                                       const yard_svc_value& value) {
  std::vector<std::string> flags;
  if (IsWildcard(key, value)) flags.push_back("wildcard");
  if (value.flags & YARD_SVC_F_SOURCE_RANGES) flags.push_back("source-ranges");
  if (value.flags & YARD_SVC_F_AFFINITY) {
    flags.push_back(absl::StrCat("affinity=", value.aff_timeout_s, "s"));
  }
  uint8_t unknown =
      value.flags &
      ~(YARD_SVC_F_WILDCARD | YARD_SVC_F_SOURCE_RANGES | YARD_SVC_F_AFFINITY);
  if (unknown != 0) flags.push_back(absl::StrCat("0x", absl::Hex(unknown)));
  return flags;
}

// Whose view a frontend belongs to: pods (tc on pod interfaces) or
// clients outside the cluster (XDP on external devices).
std::string ScopeName(uint8_t scope) {
  switch (scope) {
    case YARD_SCOPE_INTERNAL:
      return "pods";
    case YARD_SCOPE_EXTERNAL:
      return "outside";
    default:
      return absl::StrCat("scope ", scope);
  }
}

std::string ProtocolWord(const yard_svc4_key& key) {
  return key.port == 0 && key.proto == 0 ? "any" : names::ProtoName(key.proto);
}

// One backend of a frontend as the maps hold it.
struct SlotRow {
  uint32_t slot;
  uint32_t backend_id;
  const yard_backend4* backend;  // nullptr: not in yard_be4
  bool beyond_count;             // slot > count: never chosen
};

std::string SlotState(const SlotRow& row) {
  std::string state =
      row.backend == nullptr ? "missing" : BackendStateName(row.backend->state);
  if (row.beyond_count) absl::StrAppend(&state, " (beyond count: unused)");
  return state;
}

bool LeastConn(const yard_svc_value& value) {
  return value.policy == YARD_POLICY_LEAST_CONN;
}

int32_t ActiveFlows(const ServicesView& view, uint32_t backend_id) {
  auto it = view.active_flows.find(backend_id);
  return it == view.active_flows.end() ? 0 : it->second;
}

class ServiceJoin {
 public:
  explicit ServiceJoin(const ServicesView& view) {
    for (const auto& [id, backend] : view.backends) backends_[id] = &backend;
    for (const auto& [key, value] : view.slots) {
      slots_[key.svc_id].emplace_back(key.slot, value.backend_id);
    }
    for (auto& [id, slots] : slots_) std::sort(slots.begin(), slots.end());
  }

  std::vector<SlotRow> Rows(const yard_svc_value& value) const {
    std::vector<SlotRow> rows;
    auto it = slots_.find(value.svc_id);
    if (it == slots_.end()) return rows;
    for (const auto& [slot, backend_id] : it->second) {
      auto be = backends_.find(backend_id);
      rows.push_back({slot, backend_id,
                      be == backends_.end() ? nullptr : be->second,
                      slot > value.count});
    }
    return rows;
  }

 private:
  std::map<uint32_t, const yard_backend4*> backends_;
  std::map<uint32_t, std::vector<std::pair<uint32_t, uint32_t>>> slots_;
};

}  // namespace

std::string FormatServices(const ServicesView& view, InspectOutput output) {
  ServiceJoin join(view);
  FrontendEntries frontends = SortedFrontends(view.frontends);
  if (output == InspectOutput::kJson) {
    Value list = Value::List();
    for (const auto& [key, value] : frontends) {
      Value svc = Value::Map();
      svc.Set("address", Str(FormatIpv4(key.addr)));
      svc.Set("port", Int(Port(key.port)));
      svc.Set("protocol", Str(ProtocolWord(key)));
      svc.Set("scope", Str(ScopeName(key.scope)));
      svc.Set("wildcard", Value::Bool(IsWildcard(key, value)));
      svc.Set("flags", Strings(FrontendFlags(key, value)));
      svc.Set("svc_id", Int(value.svc_id));
      svc.Set("rev_nat_id", Int(value.rev_nat_id));
      svc.Set("count", Int(value.count));
      svc.Set("policy", Str(PolicyName(value.policy)));
      Value backends = Value::List();
      if (!IsWildcard(key, value)) {
        for (const SlotRow& row : join.Rows(value)) {
          Value be = Value::Map();
          be.Set("slot", Int(row.slot));
          be.Set("backend_id", Int(row.backend_id));
          be.Set("address",
                 Str(FormatIpv4(row.backend ? row.backend->addr : 0)));
          be.Set("port", Int(row.backend ? Port(row.backend->port) : 0));
          be.Set("state", Str(row.backend ? BackendStateName(row.backend->state)
                                          : "missing"));
          be.Set("beyond_count", Value::Bool(row.beyond_count));
          if (LeastConn(value)) {
            be.Set("active_flows", Int(ActiveFlows(view, row.backend_id)));
          }
          backends.Append(std::move(be));
        }
      }
      svc.Set("backends", std::move(backends));
      list.Append(std::move(svc));
    }
    return Document(view.node, "services", std::move(list));
  }

  if (frontends.empty()) return "";
  std::vector<std::vector<std::string>> rows = {
      {"FRONTEND", "FOR", "TYPE", "SVC-ID", "REV-NAT", "COUNT", "POLICY",
       "SLOT", "BACKEND-ID", "BACKEND", "STATE"}};
  // Each backend's active flows, in a column of its own only when a
  // least-connection frontend is there to use them.
  const bool active_column =
      std::any_of(frontends.begin(), frontends.end(), [](const auto& f) {
        return !IsWildcard(f.first, f.second) && LeastConn(f.second);
      });
  if (active_column) rows[0].push_back("ACTIVE");
  for (const auto& [key, value] : frontends) {
    std::vector<std::string> head = {
        FrontendName(key.addr, key.port, key.proto), ScopeName(key.scope),
        FrontendType(key, value)};
    if (IsWildcard(key, value)) {
      head.insert(head.end(), active_column ? 9 : 8, std::string(kDash));
      rows.push_back(std::move(head));
      continue;
    }
    head.push_back(absl::StrCat(value.svc_id));
    head.push_back(absl::StrCat(value.rev_nat_id));
    head.push_back(absl::StrCat(value.count));
    head.push_back(PolicyName(value.policy));
    std::vector<SlotRow> slots = join.Rows(value);
    if (slots.empty()) {
      head.insert(head.end(), active_column ? 5 : 4, std::string(kDash));
      rows.push_back(std::move(head));
      continue;
    }
    // The frontend's cells on its first backend's row only, so each
    // frontend reads as one block.
    for (size_t i = 0; i < slots.size(); ++i) {
      std::vector<std::string> row =
          i == 0 ? head : std::vector<std::string>(head.size(), "");
      const SlotRow& slot = slots[i];
      row.push_back(absl::StrCat(slot.slot));
      row.push_back(absl::StrCat(slot.backend_id));
      row.push_back(slot.backend
                        ? AddrPort(slot.backend->addr, slot.backend->port)
                        : std::string(kDash));
      row.push_back(SlotState(slot));
      if (active_column) {
        row.push_back(LeastConn(value)
                          ? absl::StrCat(ActiveFlows(view, slot.backend_id))
                          : std::string(kDash));
      }
      rows.push_back(std::move(row));
    }
  }
  return FormatColumns(rows);
}

std::string FormatBackends(const std::string& node,
                           const BackendEntries& backends,
                           InspectOutput output) {
  BackendEntries sorted = backends;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  if (output == InspectOutput::kJson) {
    Value list = Value::List();
    for (const auto& [id, be] : sorted) {
      Value v = Value::Map();
      v.Set("backend_id", Int(id));
      v.Set("address", Str(FormatIpv4(be.addr)));
      v.Set("port", Int(Port(be.port)));
      v.Set("state", Str(BackendStateName(be.state)));
      list.Append(std::move(v));
    }
    return Document(node, "backends", std::move(list));
  }
  if (sorted.empty()) return "";
  std::vector<std::vector<std::string>> rows = {{"ID", "BACKEND", "STATE"}};
  for (const auto& [id, be] : sorted) {
    rows.push_back({absl::StrCat(id), AddrPort(be.addr, be.port),
                    BackendStateName(be.state)});
  }
  return FormatColumns(rows);
}

std::string FormatRevNat(const std::string& node, const RevNatEntries& revnat,
                         InspectOutput output) {
  RevNatEntries sorted = revnat;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  if (output == InspectOutput::kJson) {
    Value list = Value::List();
    for (const auto& [id, r] : sorted) {
      Value v = Value::Map();
      v.Set("rev_nat_id", Int(id));
      v.Set("address", Str(FormatIpv4(r.addr)));
      v.Set("port", Int(Port(r.port)));
      list.Append(std::move(v));
    }
    return Document(node, "revnat", std::move(list));
  }
  if (sorted.empty()) return "";
  std::vector<std::vector<std::string>> rows = {{"ID", "FRONTEND"}};
  for (const auto& [id, r] : sorted) {
    rows.push_back({absl::StrCat(id), AddrPort(r.addr, r.port)});
  }
  return FormatColumns(rows);
}

namespace {

// One tracking entry, with the two ends of its flow named: the client
// (who opened it) and the backend (who serves it), whichever direction
// the entry is for.
struct CtRow {
  const yard_ct4_key* key;
  const yard_ct4_value* value;
  bool reply;
  uint32_t client_addr, backend_addr;
  uint16_t client_port, backend_port;
  absl::Duration age, idle;
  std::optional<absl::Duration> left;  // until the entry frees its tuple
};

std::vector<CtRow> CtRows(const CtView& view) {
  std::vector<CtRow> rows;
  for (const auto& [key, value] : view.entries) {
    CtRow row;
    row.key = &key;
    row.value = &value;
    row.reply = key.dir == YARD_CT_REPLY;
    if (row.reply) {
      row.client_addr = value.addr;
      row.client_port = value.port;
      row.backend_addr = key.saddr;
      row.backend_port = key.sport;
    } else {
      row.client_addr = key.saddr;
      row.client_port = key.sport;
      row.backend_addr = value.addr;
      row.backend_port = value.port;
    }
    auto since = [&](uint64_t ns) {
      return ns > view.now_ns ? absl::ZeroDuration()
                              : absl::Nanoseconds(view.now_ns - ns);
    };
    row.age = since(value.created_ns);
    row.idle = since(value.last_seen_ns);
    // Each entry holds its tuple until idle past the timeout of its
    // protocol and state (an ended TCP flow's is short).
    row.left = kernel::CtTimeLeft(key.proto, value, view.timeouts, view.now_ns);
    rows.push_back(row);
  }
  // Each flow's two entries side by side: by client, then protocol and
  // backend, forward before reply.
  std::sort(rows.begin(), rows.end(), [](const CtRow& a, const CtRow& b) {
    auto order = [](const CtRow& r) {
      return std::make_tuple(ntohl(r.client_addr), ntohs(r.client_port),
                             r.key->proto, ntohl(r.backend_addr),
                             ntohs(r.backend_port), r.key->dir,
                             ntohl(r.key->daddr), ntohs(r.key->dport));
    };
    return order(a) < order(b);
  });
  return rows;
}

}  // namespace

std::string FormatCt(const CtView& view, InspectOutput output) {
  std::vector<CtRow> rows = CtRows(view);
  if (output == InspectOutput::kJson) {
    Value list = Value::List();
    for (const CtRow& r : rows) {
      Value v = Value::Map();
      v.Set("protocol", Str(names::ProtoName(r.key->proto)));
      v.Set("direction", Str(r.reply ? "reply" : "forward"));
      v.Set("src_address", Str(FormatIpv4(r.key->saddr)));
      v.Set("src_port", Int(Port(r.key->sport)));
      v.Set("dst_address", Str(FormatIpv4(r.key->daddr)));
      v.Set("dst_port", Int(Port(r.key->dport)));
      v.Set("client_address", Str(FormatIpv4(r.client_addr)));
      v.Set("client_port", Int(Port(r.client_port)));
      v.Set("backend_id", Int(r.value->backend_id));
      v.Set("backend_address", Str(FormatIpv4(r.backend_addr)));
      v.Set("backend_port", Int(Port(r.backend_port)));
      v.Set("rev_nat_id", Int(r.value->rev_nat_id));
      v.Set("age_ms", Int(absl::ToInt64Milliseconds(r.age)));
      v.Set("idle_ms", Int(absl::ToInt64Milliseconds(r.idle)));
      v.Set("time_left_ms",
            r.left ? Int(absl::ToInt64Milliseconds(*r.left)) : Value());
      v.Set("packets", Int(static_cast<int64_t>(r.value->packets)));
      v.Set("bytes", Int(static_cast<int64_t>(r.value->bytes)));
      v.Set("flags", Strings(CtFlagNames(r.value->flags)));
      list.Append(std::move(v));
    }
    Value doc = Value::Map();
    doc.Set("node", Str(view.node));
    doc.Set("udp_timeout_s", Int(view.timeouts.udp_s));
    doc.Set("tcp_idle_timeout_s", Int(view.timeouts.tcp_idle_s));
    doc.Set("tcp_close_timeout_s", Int(view.timeouts.tcp_close_s));
    doc.Set("entries", std::move(list));
    return format::WriteJson(doc);
  }
  if (rows.empty()) return "";
  std::vector<std::vector<std::string>> table = {
      {"PROTO", "TUPLE", "DIR", "BACKEND", "REV-NAT", "AGE", "IDLE",
       "TIME-LEFT", "PACKETS", "BYTES", "FLAGS"}};
  for (const CtRow& r : rows) {
    table.push_back(
        {names::ProtoName(r.key->proto),
         absl::StrCat(AddrPort(r.key->saddr, r.key->sport), " -> ",
                      AddrPort(r.key->daddr, r.key->dport)),
         r.reply ? "reply" : "forward",
         absl::StrCat(AddrPort(r.backend_addr, r.backend_port), " (id ",
                      r.value->backend_id, ")"),
         absl::StrCat(r.value->rev_nat_id), HumanDuration(r.age),
         HumanDuration(r.idle),
         r.left ? (*r.left == absl::ZeroDuration() ? "expired"
                                                   : HumanDuration(*r.left))
                : std::string(kDash),
         absl::StrCat(r.value->packets), absl::StrCat(r.value->bytes),
         OrDash(CtFlagNames(r.value->flags))});
  }
  return FormatColumns(table);
}

std::string FormatNat(const NatView& view, InspectOutput output) {
  std::map<uint32_t, yard_rnat4> frontends(view.rev_nat.begin(),
                                           view.rev_nat.end());
  struct Row {
    const yard_ct4_key* key;
    const yard_ct4_value* value;
    std::string kind;
    uint32_t to_saddr, to_daddr;
    uint16_t to_sport, to_dport;
  };
  std::vector<Row> rows;
  for (const auto& [key, value] : view.entries) {
    Row row{&key, &value, "", key.saddr, key.daddr, key.sport, key.dport};
    bool hairpin = value.flags & YARD_CT_F_HAIRPIN;
    bool external = value.flags & YARD_CT_F_EXTERNAL;
    bool snat = value.flags & YARD_CT_F_SNAT;
    // A direct flow's mark translates nothing.
    if (value.flags & YARD_CT_F_DIRECT) continue;
    if (key.dir == YARD_CT_REPLY) {
      auto fe = frontends.find(value.rev_nat_id);
      if (fe == frontends.end()) continue;  // frontend gone: dropped anyway
      row.kind = hairpin    ? "reply, hairpin"
                 : external ? "reply, from outside"
                            : "reply";
      row.to_saddr = fe->second.addr;
      row.to_sport = fe->second.port;
      row.to_daddr = value.addr;
      row.to_dport = value.port;
    } else {
      row.kind = hairpin    ? "forward, hairpin"
                 : snat     ? "forward, from outside, to another node"
                 : external ? "forward, from outside"
                            : "forward";
      row.to_daddr = value.addr;
      row.to_dport = value.port;
      if (hairpin) row.to_saddr = view.hairpin_addr_be;
      if (snat) {
        row.to_saddr = value.nat_addr;
        row.to_sport = value.nat_port;
      }
    }
    rows.push_back(row);
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(a.key->proto, a.key->dir, a.key->saddr, a.key->sport,
                    a.key->daddr, a.key->dport) <
           std::tie(b.key->proto, b.key->dir, b.key->saddr, b.key->sport,
                    b.key->daddr, b.key->dport);
  });
  if (output == InspectOutput::kJson) {
    Value list = Value::List();
    for (const Row& r : rows) {
      Value v = Value::Map();
      v.Set("protocol", Str(names::ProtoName(r.key->proto)));
      v.Set("kind", Str(r.kind));
      v.Set("original_src", Str(AddrPort(r.key->saddr, r.key->sport)));
      v.Set("original_dst", Str(AddrPort(r.key->daddr, r.key->dport)));
      v.Set("translated_src", Str(AddrPort(r.to_saddr, r.to_sport)));
      v.Set("translated_dst", Str(AddrPort(r.to_daddr, r.to_dport)));
      v.Set("packets", Int(static_cast<int64_t>(r.value->packets)));
      list.Append(std::move(v));
    }
    Value doc = Value::Map();
    doc.Set("node", Str(view.node));
    doc.Set("translations", std::move(list));
    return format::WriteJson(doc);
  }
  if (rows.empty()) return "";
  std::vector<std::vector<std::string>> table = {
      {"PROTO", "KIND", "ORIGINAL", "TRANSLATED", "PACKETS"}};
  for (const Row& r : rows) {
    table.push_back({names::ProtoName(r.key->proto), r.kind,
                     absl::StrCat(AddrPort(r.key->saddr, r.key->sport), " -> ",
                                  AddrPort(r.key->daddr, r.key->dport)),
                     absl::StrCat(AddrPort(r.to_saddr, r.to_sport), " -> ",
                                  AddrPort(r.to_daddr, r.to_dport)),
                     absl::StrCat(r.value->packets)});
  }
  return FormatColumns(table);
}

std::string FormatStats(const StatsView& view, InspectOutput output) {
  FrontendEntries frontends;
  for (const auto& entry : SortedFrontends(view.frontends)) {
    if (!IsWildcard(entry.first, entry.second)) frontends.push_back(entry);
  }
  auto stats_of = [&](uint32_t id) {
    auto it = view.per_frontend.find(id);
    return it == view.per_frontend.end() ? yard_svc_stats{} : it->second;
  };
  if (output == InspectOutput::kJson) {
    Value fe_list = Value::List();
    for (const auto& [key, value] : frontends) {
      yard_svc_stats s = stats_of(value.rev_nat_id);
      Value v = Value::Map();
      v.Set("address", Str(FormatIpv4(key.addr)));
      v.Set("port", Int(Port(key.port)));
      v.Set("protocol", Str(names::ProtoName(key.proto)));
      v.Set("rev_nat_id", Int(value.rev_nat_id));
      v.Set("forward_packets", Int(static_cast<int64_t>(s.forward.packets)));
      v.Set("forward_bytes", Int(static_cast<int64_t>(s.forward.bytes)));
      v.Set("reply_packets", Int(static_cast<int64_t>(s.reply.packets)));
      v.Set("reply_bytes", Int(static_cast<int64_t>(s.reply.bytes)));
      fe_list.Append(std::move(v));
    }
    Value reasons = Value::List();
    for (uint32_t r = YARD_REASON_NONE + 1; r < YARD_REASON_MAX; ++r) {
      const names::ReasonInfo& info = names::DescribeReason(r);
      Value v = Value::Map();
      v.Set("reason", Str(std::string(info.name)));
      v.Set("action", Str(std::string(info.action)));
      v.Set("packets", Int(static_cast<int64_t>(view.reasons[r].packets)));
      v.Set("bytes", Int(static_cast<int64_t>(view.reasons[r].bytes)));
      reasons.Append(std::move(v));
    }
    Value doc = Value::Map();
    doc.Set("node", Str(view.node));
    doc.Set("frontends", std::move(fe_list));
    doc.Set("reasons", std::move(reasons));
    return format::WriteJson(doc);
  }
  std::string out;
  if (!frontends.empty()) {
    std::vector<std::vector<std::string>> rows = {
        {"FRONTEND", "REV-NAT", "FWD-PACKETS", "FWD-BYTES", "REPLY-PACKETS",
         "REPLY-BYTES"}};
    for (const auto& [key, value] : frontends) {
      yard_svc_stats s = stats_of(value.rev_nat_id);
      rows.push_back(
          {FrontendName(key.addr, key.port, key.proto),
           absl::StrCat(value.rev_nat_id), absl::StrCat(s.forward.packets),
           absl::StrCat(s.forward.bytes), absl::StrCat(s.reply.packets),
           absl::StrCat(s.reply.bytes)});
    }
    out = FormatColumns(rows) + "\n";
  }
  std::vector<std::vector<std::string>> rows = {
      {"REASON", "ACTION", "PACKETS", "BYTES", "MEANING"}};
  for (uint32_t r = YARD_REASON_NONE + 1; r < YARD_REASON_MAX; ++r) {
    const names::ReasonInfo& info = names::DescribeReason(r);
    rows.push_back({std::string(info.name), std::string(info.action),
                    absl::StrCat(view.reasons[r].packets),
                    absl::StrCat(view.reasons[r].bytes),
                    std::string(info.meaning)});
  }
  return out + FormatColumns(rows);
}

}  // namespace switchyard::ctl
