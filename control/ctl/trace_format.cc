// SPDX-License-Identifier: Apache-2.0
#include "control/ctl/trace_format.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "control/common/ipv4.h"
#include "control/ctl/format.h"
#include "control/format/json.h"
#include "control/format/value.h"
#include "control/names/protocol_names.h"
#include "control/names/reason_names.h"

namespace switchyard::ctl {
namespace {

using format::Value;
using kernel::TraceResult;
using packet::FrameSummary;
using packet::TraceHook;

Value Int(int64_t i) { return Value::Int(i); }
Value Str(std::string s) { return Value::String(std::move(s)); }
Value Strings(const std::vector<std::string>& items) {
  Value list = Value::List();
  for (const std::string& item : items) list.Append(Str(item));
  return list;
}

absl::StatusOr<uint16_t> ParsePort(absl::string_view text,
                                   absl::string_view what) {
  uint32_t port = 0;
  if (!absl::SimpleAtoi(text, &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid ", what, " \"", text, "\": expected a port in 1-65535"));
  }
  return htons(static_cast<uint16_t>(port));
}

std::string VerdictWord(int verdict) {
  switch (verdict) {
    case kernel::kTcActOk:
      return "pass";
    case kernel::kTcActShot:
      return "drop";
    case kernel::kTcActRedirect:
      return "redirect";
    default:
      return absl::StrCat("tc action ", verdict);
  }
}

std::string Headers(const FrameSummary& s) {
  if (!s.ipv4) return absl::StrCat("not IPv4 (", s.length, " bytes)");
  std::string out;
  if (s.proto == IPPROTO_TCP || s.proto == IPPROTO_UDP) {
    out = absl::StrCat(AddrPort(s.saddr_be, s.sport_be), " -> ",
                       AddrPort(s.daddr_be, s.dport_be), " ",
                       names::ProtoName(s.proto));
    if (s.proto == IPPROTO_TCP) {
      absl::StrAppend(&out, " [", absl::StrJoin(TcpFlagNames(s.tcp_flags), ","),
                      "]");
    }
  } else if (s.proto == IPPROTO_ICMP) {
    out = absl::StrCat(FormatIpv4(s.saddr_be), " -> ", FormatIpv4(s.daddr_be),
                       " ICMP type ", s.icmp_type, " code ", s.icmp_code);
    if (s.icmp_type == 3 && s.icmp_code == 3) {
      absl::StrAppend(&out, " (port unreachable)");
    }
  } else {
    out = absl::StrCat(FormatIpv4(s.saddr_be), " -> ", FormatIpv4(s.daddr_be),
                       " protocol ", s.proto);
  }
  return out;
}

Value HeadersJson(const FrameSummary& s) {
  Value v = Value::Map();
  v.Set("ipv4", Value::Bool(s.ipv4));
  v.Set("src_address", Str(FormatIpv4(s.saddr_be)));
  v.Set("dst_address", Str(FormatIpv4(s.daddr_be)));
  v.Set("protocol", Str(names::ProtoName(s.proto)));
  v.Set("src_port", Int(Port(s.sport_be)));
  v.Set("dst_port", Int(Port(s.dport_be)));
  v.Set("tcp_flags",
        Strings(s.proto == IPPROTO_TCP ? TcpFlagNames(s.tcp_flags)
                                       : std::vector<std::string>{}));
  v.Set("icmp_type", Int(s.icmp_type));
  v.Set("icmp_code", Int(s.icmp_code));
  v.Set("ttl", Int(s.ttl));
  v.Set("checksums_ok", Value::Bool(s.checksums_ok));
  v.Set("length", Int(static_cast<int64_t>(s.length)));
  return v;
}

// new, rechosen, existing or none: what the packet's flow entry was.
std::string FlowState(const TraceResult& r) {
  if (!r.flow) return "none";
  const std::optional<yard_ct4_value>& before =
      r.flow_key->dir == YARD_CT_FORWARD ? r.forward_before : r.reply_before;
  if (!before) return "new";
  if (before->created_ns != r.flow->created_ns) return "rechosen";
  return "existing";
}

std::string BackendText(const TraceResult& r) {
  if (!r.flow) return "";
  std::string id = absl::StrCat("id ", r.flow->backend_id);
  if (!r.backend || r.backend->state == YARD_BACKEND_EMPTY) {
    return absl::StrCat(id, ": gone from yard_be4");
  }
  std::string out =
      absl::StrCat(AddrPort(r.backend->addr, r.backend->port), " (", id);
  if (r.slot) absl::StrAppend(&out, ", slot ", *r.slot);
  absl::StrAppend(&out, ", ", BackendStateName(r.backend->state), ")");
  return out;
}

std::string ServiceText(const TraceResult& r) {
  const packet::FlowTuple& t = r.request.tuple;
  std::string name = FrontendName(t.daddr_be, t.dport_be, t.proto);
  if (!r.service) {
    return r.service_address
               ? absl::StrCat(name,
                              ": the address is a service's, this "
                              "port/protocol is not")
               : absl::StrCat(name, ": not a service");
  }
  const yard_svc_value& s = *r.service;
  return absl::StrCat(name, ": svc ", s.svc_id, ", rev-NAT ", s.rev_nat_id,
                      ", ", s.count, s.count == 1 ? " backend" : " backends",
                      ", ", PolicyName(s.policy));
}

std::string FlowText(const TraceResult& r) {
  std::string state = FlowState(r);
  if (state == "none") return "none: no connection entry involved";
  std::string dir = r.flow_key->dir == YARD_CT_FORWARD ? "forward" : "reply";
  std::string flags = absl::StrJoin(CtFlagNames(r.flow->flags), ",");
  std::string extra = flags.empty() ? "" : absl::StrCat(" [", flags, "]");
  if (state == "new") {
    return absl::StrCat(
        "new: a backend was chosen, and a forward and a reply "
        "entry recorded",
        extra, " (in the trace's copy only)");
  }
  if (state == "rechosen") {
    return absl::StrCat("existing ", dir,
                        " entry chose again (its backend was gone, the flow "
                        "was closing, or it was idle too long)",
                        extra, " (in the trace's copy only)");
  }
  return absl::StrCat("existing ", dir, " entry, ", r.flow->packets, " packets",
                      extra);
}

std::string ProgramText(const TraceResult& r) {
  std::string out = absl::StrCat("a copy of this yardctl's ", r.program_name,
                                 " (tag ", r.program_tag, ")");
  if (!r.loaded) {
    absl::StrAppend(&out, "; the node has none loaded");
  } else if (r.loaded->tag == r.program_tag) {
    absl::StrAppend(&out, ", the same build as the loaded one (id ",
                    r.loaded->id, ")");
  } else {
    absl::StrAppend(&out, ", NOT the build the node runs (id ", r.loaded->id,
                    ", tag ", r.loaded->tag,
                    "): this shows what this yardctl's build would do");
  }
  absl::StrAppend(
      &out, "\n             config ",
      r.config_from_loaded ? "from the loaded program" : "of a default agent",
      ": hairpin address ", FormatIpv4(r.config.hairpin_addr),
      ", UDP idle timeout ", r.config.udp_timeout_s, "s");
  return out;
}

std::string OutcomeText(const TraceResult& r, const std::string& outcome) {
  if (r.reason) {
    const names::ReasonInfo& info = names::DescribeReason(*r.reason);
    return absl::StrCat(info.name, ": ", info.meaning);
  }
  if (outcome == "translated") return "translated to the flow's backend";
  if (outcome == "hairpin") {
    return absl::StrCat(
        "hairpin: the pod is its own backend; sent back to it from ",
        FormatIpv4(r.config.hairpin_addr));
  }
  if (outcome == "hairpin_reply") {
    return "a hairpinned pod's answer, turned around to it";
  }
  if (outcome == "reply_translated") {
    return "reply from a backend: source restored to the service's frontend";
  }
  if (r.request.hook == TraceHook::kToPod) {
    return "no connection entry for this tuple: delivered as it is";
  }
  return "not a service address: passed as it is";
}

}  // namespace

absl::StatusOr<packet::FlowTuple> ParseTraceTuple(absl::string_view src,
                                                  absl::string_view dst,
                                                  uint16_t default_sport) {
  packet::FlowTuple t;
  size_t colon = src.find(':');
  absl::StatusOr<uint32_t> saddr = ParseIpv4(src.substr(0, colon));
  if (!saddr.ok()) return saddr.status();
  t.saddr_be = *saddr;
  if (colon != absl::string_view::npos) {
    absl::StatusOr<uint16_t> sport =
        ParsePort(src.substr(colon + 1), "source port");
    if (!sport.ok()) return sport.status();
    t.sport_be = *sport;
  } else {
    t.sport_be = htons(default_sport);
  }

  absl::string_view rest = dst;
  t.proto = IPPROTO_TCP;
  if (size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    std::string proto = absl::AsciiStrToLower(rest.substr(slash + 1));
    if (proto == "tcp") {
      t.proto = IPPROTO_TCP;
    } else if (proto == "udp") {
      t.proto = IPPROTO_UDP;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid protocol \"", rest.substr(slash + 1),
                       "\": a trace sends tcp or udp"));
    }
    rest = rest.substr(0, slash);
  }
  colon = rest.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid destination \"", dst, "\": expected ADDR:PORT[/tcp|udp]"));
  }
  absl::StatusOr<uint32_t> daddr = ParseIpv4(rest.substr(0, colon));
  if (!daddr.ok()) return daddr.status();
  t.daddr_be = *daddr;
  absl::StatusOr<uint16_t> dport =
      ParsePort(rest.substr(colon + 1), "destination port");
  if (!dport.ok()) return dport.status();
  t.dport_be = *dport;
  return t;
}

std::string TraceOutcome(const TraceResult& r) {
  if (r.reason) {
    absl::string_view action = names::DescribeReason(*r.reason).action;
    if (action == "reject") return "rejected";
    if (action == "pass") return "passed";
    return "dropped";
  }
  if (r.verdict == kernel::kTcActShot) return "dropped";
  const FrameSummary before = packet::SummarizeFrame(r.input);
  const FrameSummary after = packet::SummarizeFrame(r.output);
  const bool hairpin_flow = r.flow && (r.flow->flags & YARD_CT_F_HAIRPIN) != 0;
  if (r.request.hook == TraceHook::kFromPod) {
    if (r.verdict == kernel::kTcActRedirect && hairpin_flow) {
      return r.flow_key->dir == YARD_CT_FORWARD ? "hairpin" : "hairpin_reply";
    }
    if (after.daddr_be != before.daddr_be ||
        after.dport_be != before.dport_be) {
      return "translated";
    }
  } else if (after.saddr_be != before.saddr_be ||
             after.sport_be != before.sport_be) {
    return "reply_translated";
  }
  return "passed";
}

std::string FormatTrace(const std::string& node, const TraceResult& r,
                        InspectOutput output) {
  const FrameSummary before = packet::SummarizeFrame(r.input);
  const FrameSummary after = packet::SummarizeFrame(r.output);
  const std::string outcome = TraceOutcome(r);
  const bool from_pod = r.request.hook == TraceHook::kFromPod;

  if (output == InspectOutput::kJson) {
    Value doc = Value::Map();
    doc.Set("node", Str(node));
    doc.Set("hook", Str(from_pod ? "from_pod" : "to_pod"));
    doc.Set("verdict", Str(VerdictWord(r.verdict)));
    doc.Set("tc_action", Int(r.verdict));
    doc.Set("outcome", Str(outcome));
    doc.Set("reason",
            r.reason ? Str(std::string(names::DescribeReason(*r.reason).name))
                     : Value());
    Value program = Value::Map();
    program.Set("name", Str(r.program_name));
    program.Set("tag", Str(r.program_tag));
    program.Set("loaded_id", r.loaded ? Int(r.loaded->id) : Value());
    program.Set("loaded_tag", r.loaded ? Str(r.loaded->tag) : Value());
    program.Set("same_build",
                Value::Bool(r.loaded && r.loaded->tag == r.program_tag));
    program.Set("config_from_loaded", Value::Bool(r.config_from_loaded));
    program.Set("hairpin_address", Str(FormatIpv4(r.config.hairpin_addr)));
    program.Set("udp_timeout_s", Int(r.config.udp_timeout_s));
    doc.Set("program", std::move(program));
    doc.Set("service_address", Value::Bool(r.service_address));
    if (r.service) {
      Value s = Value::Map();
      s.Set("svc_id", Int(r.service->svc_id));
      s.Set("rev_nat_id", Int(r.service->rev_nat_id));
      s.Set("count", Int(r.service->count));
      s.Set("policy", Str(PolicyName(r.service->policy)));
      doc.Set("service", std::move(s));
    } else {
      doc.Set("service", Value());
    }
    Value flow = Value::Map();
    flow.Set("state", Str(FlowState(r)));
    if (r.flow) {
      flow.Set("direction",
               Str(r.flow_key->dir == YARD_CT_FORWARD ? "forward" : "reply"));
      flow.Set("backend_id", Int(r.flow->backend_id));
      flow.Set("rev_nat_id", Int(r.flow->rev_nat_id));
      flow.Set("packets", Int(static_cast<int64_t>(r.flow->packets)));
      flow.Set("flags", Strings(CtFlagNames(r.flow->flags)));
    }
    doc.Set("flow", std::move(flow));
    if (r.flow && r.backend && r.backend->state != YARD_BACKEND_EMPTY) {
      Value b = Value::Map();
      b.Set("backend_id", Int(r.flow->backend_id));
      b.Set("address", Str(FormatIpv4(r.backend->addr)));
      b.Set("port", Int(Port(r.backend->port)));
      b.Set("state", Str(BackendStateName(r.backend->state)));
      b.Set("slot", r.slot ? Int(*r.slot) : Value());
      doc.Set("backend", std::move(b));
    } else {
      doc.Set("backend", Value());
    }
    if (r.flow && r.rev_nat && (r.rev_nat->addr != 0 || r.rev_nat->port != 0)) {
      Value f = Value::Map();
      f.Set("rev_nat_id", Int(r.flow->rev_nat_id));
      f.Set("address", Str(FormatIpv4(r.rev_nat->addr)));
      f.Set("port", Int(Port(r.rev_nat->port)));
      doc.Set("frontend", std::move(f));
    } else {
      doc.Set("frontend", Value());
    }
    doc.Set("before", HeadersJson(before));
    doc.Set("after", HeadersJson(after));
    Value written = Value::List();
    for (const auto& [key, value] : r.ct_written) {
      Value e = Value::Map();
      e.Set("direction", Str(key.dir == YARD_CT_FORWARD ? "forward" : "reply"));
      e.Set("protocol", Str(names::ProtoName(key.proto)));
      e.Set("src_address", Str(FormatIpv4(key.saddr)));
      e.Set("src_port", Int(Port(key.sport)));
      e.Set("dst_address", Str(FormatIpv4(key.daddr)));
      e.Set("dst_port", Int(Port(key.dport)));
      e.Set("backend_id", Int(value.backend_id));
      e.Set("rev_nat_id", Int(value.rev_nat_id));
      e.Set("flags", Strings(CtFlagNames(value.flags)));
      written.Append(std::move(e));
    }
    doc.Set("ct_written", std::move(written));
    return format::WriteJson(doc);
  }

  std::string out;
  auto line = [&](absl::string_view label, absl::string_view text) {
    absl::StrAppend(&out, label, std::string(13 - label.size(), ' '), text,
                    "\n");
  };
  line("Node:", node);
  line("Packet:", absl::StrCat(Headers(before),
                               from_pod ? ", as a pod sends it (yard_from_pod)"
                                        : ", towards a pod (yard_to_pod)"));
  line("Verdict:", absl::StrCat(VerdictWord(r.verdict), ", ",
                                absl::StrReplaceAll(outcome, {{"_", " "}})));
  line("Why:", OutcomeText(r, outcome));
  if (from_pod) line("Service:", ServiceText(r));
  line("Flow:", FlowText(r));
  if (r.flow) {
    line("Backend:", BackendText(r));
    if (r.rev_nat && (r.rev_nat->addr != 0 || r.rev_nat->port != 0)) {
      line("Frontend:", absl::StrCat(AddrPort(r.rev_nat->addr, r.rev_nat->port),
                                     " (rev-NAT ", r.flow->rev_nat_id,
                                     "): what replies come from"));
    }
  }
  line("Before:", Headers(before));
  std::string after_text = Headers(after);
  if (r.verdict != kernel::kTcActShot) {
    if (std::memcmp(before.eth_src.data(), after.eth_dst.data(), 6) == 0 &&
        std::memcmp(before.eth_dst.data(), after.eth_src.data(), 6) == 0) {
      absl::StrAppend(&after_text, ", MACs swapped");
    }
    absl::StrAppend(&after_text, after.checksums_ok ? ", checksums ok"
                                                    : ", CHECKSUMS WRONG");
  } else {
    after_text = "- (dropped)";
  }
  line("After:", after_text);
  line("Program:", ProgramText(r));
  line("Live state:", "unchanged (the trace wrote only to its own copies)");
  return out;
}

}  // namespace switchyard::ctl
