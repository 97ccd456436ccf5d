// SPDX-License-Identifier: Apache-2.0
#include "control/packet/packet_decoder.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "control/packet/big_endian.h"
#include "control/packet/checksum.h"

namespace switchyard::packet {
namespace {

std::string Hex16(uint16_t v) { return absl::StrFormat("0x%04x", v); }

std::string ProtoName(uint8_t proto) {
  switch (proto) {
    case kProtoIcmp:
      return "1 (icmp)";
    case kProtoTcp:
      return "6 (tcp)";
    case kProtoUdp:
      return "17 (udp)";
    default:
      return absl::StrCat(proto);
  }
}

std::string BytesValue(absl::Span<const uint8_t> data) {
  if (data.empty()) return "none";
  return absl::StrCat(data.size(), " bytes: ", Hex(data, 32));
}

// The fixed part and options of an IPv4 header at d[0..]; false when d is
// shorter than the header says (fields read so far are kept).
bool DecodeIpv4Header(absl::Span<const uint8_t> d, Ipv4Fields& ip) {
  if (d.size() < 20) return false;
  ip.version = d[0] >> 4;
  ip.ihl = d[0] & 0x0f;
  ip.tos = d[1];
  ip.tot_len = Load16(d, 2);
  ip.id = Load16(d, 4);
  const uint16_t frag = Load16(d, 6);
  ip.df = frag & 0x4000;
  ip.mf = frag & 0x2000;
  ip.frag_offset = frag & 0x1fff;
  ip.ttl = d[8];
  ip.protocol = d[9];
  ip.check = Load16(d, 10);
  ip.saddr = Load32(d, 12);
  ip.daddr = Load32(d, 16);
  const size_t header_len = ip.ihl * 4u;
  if (header_len > 20) {
    if (d.size() < header_len) return false;
    ip.options.assign(d.begin() + 20, d.begin() + header_len);
  }
  return true;
}

void AppendIpv4Fields(const Ipv4Fields& ip, const std::string& prefix,
                      FieldList& out) {
  std::vector<std::string> flags;
  if (ip.df) flags.push_back("DF");
  if (ip.mf) flags.push_back("MF");
  out.emplace_back(prefix + "version", absl::StrCat(ip.version));
  out.emplace_back(prefix + "ihl", absl::StrCat(ip.ihl));
  out.emplace_back(prefix + "tos", absl::StrFormat("0x%02x", ip.tos));
  out.emplace_back(prefix + "tot_len", absl::StrCat(ip.tot_len));
  out.emplace_back(prefix + "id", absl::StrCat(ip.id));
  out.emplace_back(prefix + "flags",
                   flags.empty() ? "-" : absl::StrJoin(flags, "|"));
  out.emplace_back(prefix + "frag_offset", absl::StrCat(ip.frag_offset));
  out.emplace_back(prefix + "ttl", absl::StrCat(ip.ttl));
  out.emplace_back(prefix + "protocol", ProtoName(ip.protocol));
  out.emplace_back(prefix + "check", Hex16(ip.check));
  out.emplace_back(prefix + "saddr", FormatIp(ip.saddr));
  out.emplace_back(prefix + "daddr", FormatIp(ip.daddr));
  out.emplace_back(prefix + "options", BytesValue(ip.options));
}

bool IsIcmpError(uint8_t type) {
  return type == kIcmpDestUnreach || type == 4 || type == 5 || type == 11 ||
         type == 12;
}

// An ICMP error's quote: the offending IPv4 header and the first 8 bytes
// of its payload (RFC 792), shown as fields of their own.
void AppendQuoteFields(absl::Span<const uint8_t> quote, FieldList& out) {
  Ipv4Fields ip;
  const std::string prefix = "icmp.quote.";
  if (!DecodeIpv4Header(quote, ip) || ip.ihl < 5) {
    out.emplace_back(prefix + "raw", BytesValue(quote));
    return;
  }
  AppendIpv4Fields(ip, prefix + "ip.", out);
  absl::Span<const uint8_t> l4 = quote.subspan(ip.ihl * 4u);
  if (l4.size() < 8) {
    out.emplace_back(prefix + "l4", BytesValue(l4));
    return;
  }
  if (ip.protocol == kProtoTcp) {
    out.emplace_back(prefix + "tcp.sport", absl::StrCat(Load16(l4, 0)));
    out.emplace_back(prefix + "tcp.dport", absl::StrCat(Load16(l4, 2)));
    out.emplace_back(prefix + "tcp.seq", absl::StrCat(Load32(l4, 4)));
  } else if (ip.protocol == kProtoUdp) {
    out.emplace_back(prefix + "udp.sport", absl::StrCat(Load16(l4, 0)));
    out.emplace_back(prefix + "udp.dport", absl::StrCat(Load16(l4, 2)));
    out.emplace_back(prefix + "udp.len", absl::StrCat(Load16(l4, 4)));
    out.emplace_back(prefix + "udp.check", Hex16(Load16(l4, 6)));
  } else {
    out.emplace_back(prefix + "l4", BytesValue(l4.subspan(0, 8)));
  }
  if (l4.size() > 8) {
    out.emplace_back(prefix + "extra", BytesValue(l4.subspan(8)));
  }
}

// Records where a frame ends early; a cut datagram can also cut a header.
void AddIncomplete(DecodedFrame& out, absl::string_view what) {
  if (!out.incomplete.empty()) out.incomplete += ", ";
  absl::StrAppend(&out.incomplete, what);
}

// The first offset at which a and b differ, or the shorter length.
size_t FirstDifference(absl::Span<const uint8_t> a,
                       absl::Span<const uint8_t> b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

std::string TcpFlagNames(uint8_t flags) {
  static constexpr std::pair<uint8_t, const char*> kNames[] = {
      {kTcpFin, "FIN"}, {kTcpSyn, "SYN"}, {kTcpRst, "RST"}, {kTcpPsh, "PSH"},
      {kTcpAck, "ACK"}, {kTcpUrg, "URG"}, {0x40, "ECE"},    {0x80, "CWR"},
  };
  std::vector<std::string> names;
  for (const auto& [bit, name] : kNames) {
    if (flags & bit) names.push_back(name);
  }
  return names.empty() ? "-" : absl::StrJoin(names, "|");
}

DecodedFrame Decode(absl::Span<const uint8_t> frame) {
  DecodedFrame out;
  out.length = frame.size();
  if (frame.size() < kEthHeaderLen) {
    out.incomplete = "ethernet header";
    out.payload.assign(frame.begin(), frame.end());
    return out;
  }
  EthFields& eth = out.eth.emplace();
  std::copy_n(frame.begin(), 6, eth.dst.begin());
  std::copy_n(frame.begin() + 6, 6, eth.src.begin());
  eth.type = Load16(frame, 12);
  size_t l3 = kEthHeaderLen;
  uint16_t type = eth.type;
  if (type == kEth8021Q || type == kEth8021AD) {
    if (frame.size() < l3 + 4) {
      out.incomplete = "vlan tag";
      out.payload.assign(frame.begin() + l3, frame.end());
      return out;
    }
    VlanFields& vlan = out.vlan.emplace();
    vlan.tci = Load16(frame, l3);
    vlan.inner_type = Load16(frame, l3 + 2);
    type = vlan.inner_type;
    l3 += 4;
  }
  absl::Span<const uint8_t> rest = frame.subspan(l3);
  if (type != kEthIpv4) {
    out.payload.assign(rest.begin(), rest.end());
    return out;
  }

  Ipv4Fields& ip = out.ip.emplace();
  if (!DecodeIpv4Header(rest, ip)) {
    out.incomplete = rest.size() < 20 ? "ipv4 header" : "ipv4 options";
    if (rest.size() < 20) out.ip.reset();
    out.payload.assign(rest.begin(), rest.end());
    return out;
  }
  const size_t header_len = ip.ihl * 4u;
  if (ip.ihl < 5 || ip.tot_len < header_len) {
    // Nothing past the header can be located reliably.
    out.payload.assign(rest.begin() + 20, rest.end());
    return out;
  }
  size_t datagram_end = ip.tot_len;
  if (rest.size() < datagram_end) {
    out.incomplete = "ipv4 datagram";
    datagram_end = rest.size();
  } else {
    out.trailer.assign(rest.begin() + ip.tot_len, rest.end());
  }
  absl::Span<const uint8_t> l4 =
      rest.subspan(header_len, datagram_end - header_len);
  if (ip.frag_offset != 0) {  // no L4 header in a later fragment
    out.payload.assign(l4.begin(), l4.end());
    return out;
  }

  size_t l4_header = 0;
  if (ip.protocol == kProtoTcp) {
    if (l4.size() < 20) {
      AddIncomplete(out, "tcp header");
      out.payload.assign(l4.begin(), l4.end());
      return out;
    }
    TcpFields& tcp = out.tcp.emplace();
    tcp.sport = Load16(l4, 0);
    tcp.dport = Load16(l4, 2);
    tcp.seq = Load32(l4, 4);
    tcp.ack_seq = Load32(l4, 8);
    tcp.doff = l4[12] >> 4;
    tcp.flags = l4[13];
    tcp.window = Load16(l4, 14);
    tcp.check = Load16(l4, 16);
    tcp.urg_ptr = Load16(l4, 18);
    l4_header = std::max<size_t>(20, tcp.doff * 4u);
    if (l4.size() < l4_header) {
      AddIncomplete(out, "tcp options");
      l4_header = 20;
    }
    tcp.options.assign(l4.begin() + 20, l4.begin() + l4_header);
  } else if (ip.protocol == kProtoUdp) {
    if (l4.size() < 8) {
      AddIncomplete(out, "udp header");
      out.payload.assign(l4.begin(), l4.end());
      return out;
    }
    UdpFields& udp = out.udp.emplace();
    udp.sport = Load16(l4, 0);
    udp.dport = Load16(l4, 2);
    udp.len = Load16(l4, 4);
    udp.check = Load16(l4, 6);
    l4_header = 8;
  } else if (ip.protocol == kProtoIcmp) {
    if (l4.size() < 8) {
      AddIncomplete(out, "icmp header");
      out.payload.assign(l4.begin(), l4.end());
      return out;
    }
    IcmpFields& icmp = out.icmp.emplace();
    icmp.type = l4[0];
    icmp.code = l4[1];
    icmp.check = Load16(l4, 2);
    icmp.rest = Load32(l4, 4);
    l4_header = 8;
  }
  out.payload.assign(l4.begin() + l4_header, l4.end());
  return out;
}

FieldList Fields(absl::Span<const uint8_t> frame) {
  const DecodedFrame d = Decode(frame);
  FieldList out;
  out.emplace_back("frame.len", absl::StrCat(d.length));
  if (d.eth.has_value()) {
    out.emplace_back("eth.dst", FormatMac(d.eth->dst));
    out.emplace_back("eth.src", FormatMac(d.eth->src));
    out.emplace_back("eth.type", Hex16(d.eth->type));
  }
  if (d.vlan.has_value()) {
    out.emplace_back("vlan.vid", absl::StrCat(d.vlan->tci & 0x0fff));
    out.emplace_back("vlan.pcp", absl::StrCat(d.vlan->tci >> 13));
    out.emplace_back("vlan.type", Hex16(d.vlan->inner_type));
  }
  if (d.ip.has_value()) AppendIpv4Fields(*d.ip, "ip.", out);
  if (d.tcp.has_value()) {
    const TcpFields& t = *d.tcp;
    out.emplace_back("tcp.sport", absl::StrCat(t.sport));
    out.emplace_back("tcp.dport", absl::StrCat(t.dport));
    out.emplace_back("tcp.seq", absl::StrCat(t.seq));
    out.emplace_back("tcp.ack_seq", absl::StrCat(t.ack_seq));
    out.emplace_back("tcp.doff", absl::StrCat(t.doff));
    out.emplace_back("tcp.flags", TcpFlagNames(t.flags));
    out.emplace_back("tcp.window", absl::StrCat(t.window));
    out.emplace_back("tcp.check", Hex16(t.check));
    out.emplace_back("tcp.urg_ptr", absl::StrCat(t.urg_ptr));
    out.emplace_back("tcp.options", BytesValue(t.options));
  }
  if (d.udp.has_value()) {
    out.emplace_back("udp.sport", absl::StrCat(d.udp->sport));
    out.emplace_back("udp.dport", absl::StrCat(d.udp->dport));
    out.emplace_back("udp.len", absl::StrCat(d.udp->len));
    out.emplace_back("udp.check", Hex16(d.udp->check));
  }
  if (d.icmp.has_value()) {
    out.emplace_back("icmp.type", absl::StrCat(d.icmp->type));
    out.emplace_back("icmp.code", absl::StrCat(d.icmp->code));
    out.emplace_back("icmp.check", Hex16(d.icmp->check));
    out.emplace_back("icmp.rest", absl::StrFormat("0x%08x", d.icmp->rest));
    if (IsIcmpError(d.icmp->type)) {
      AppendQuoteFields(d.payload, out);
    }
  }
  if (!(d.icmp.has_value() && IsIcmpError(d.icmp->type))) {
    out.emplace_back("payload", BytesValue(d.payload));
  }
  out.emplace_back("trailer", BytesValue(d.trailer));
  if (!d.incomplete.empty()) {
    out.emplace_back("frame.incomplete", d.incomplete);
  }
  return out;
}

std::string Describe(absl::Span<const uint8_t> frame) {
  std::string out;
  for (const auto& [name, value] : Fields(frame)) {
    absl::StrAppend(&out, name, ": ", value, "\n");
  }
  return out;
}

std::string DiffFrames(absl::Span<const uint8_t> expected,
                       absl::Span<const uint8_t> actual) {
  if (expected.size() == actual.size() &&
      std::equal(expected.begin(), expected.end(), actual.begin())) {
    return "";
  }
  const FieldList want = Fields(expected);
  const FieldList got = Fields(actual);
  std::map<std::string, std::string> got_by_name(got.begin(), got.end());
  std::map<std::string, std::string> want_by_name(want.begin(), want.end());
  std::string out;
  for (const auto& [name, value] : want) {
    auto it = got_by_name.find(name);
    const std::string actual_value =
        it == got_by_name.end() ? "(absent)" : it->second;
    if (actual_value != value) {
      absl::StrAppend(&out, name, ": expected ", value, " got ", actual_value);
      if (name == "payload") {
        const DecodedFrame w = Decode(expected), g = Decode(actual);
        absl::StrAppend(&out, " (first difference at payload byte ",
                        FirstDifference(w.payload, g.payload), ")");
      }
      out += "\n";
    }
  }
  for (const auto& [name, value] : got) {
    if (!want_by_name.contains(name)) {
      absl::StrAppend(&out, name, ": expected (absent) got ", value, "\n");
    }
  }
  if (out.empty()) {
    // Same fields, different bytes: something no field shows (a payload
    // difference past the shown prefix, reserved bits).
    const size_t at = FirstDifference(expected, actual);
    absl::StrAppend(&out, "frame: first difference at byte ", at);
    if (at < expected.size() && at < actual.size()) {
      absl::StrAppendFormat(&out, ": expected 0x%02x got 0x%02x", expected[at],
                            actual[at]);
    }
    out += "\n";
  }
  return out;
}

absl::Status VerifyChecksums(absl::Span<const uint8_t> frame) {
  const DecodedFrame d = Decode(frame);
  if (!d.eth.has_value()) {
    return absl::InvalidArgumentError("frame shorter than Ethernet");
  }
  if (!d.ip.has_value() && d.incomplete.empty()) return absl::OkStatus();
  if (!d.incomplete.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("frame ends inside the ", d.incomplete));
  }
  const Ipv4Fields& ip = *d.ip;
  if (ip.ihl < 5) {
    return absl::InvalidArgumentError(absl::StrCat("ip.ihl is ", ip.ihl));
  }
  const size_t l3 = kEthHeaderLen + (d.vlan.has_value() ? 4 : 0);
  const size_t header_len = ip.ihl * 4u;
  if (ip.tot_len < header_len) {
    return absl::InvalidArgumentError(
        absl::StrCat("ip.tot_len ", ip.tot_len, " is shorter than the header"));
  }
  std::vector<std::string> errors;

  Bytes header(frame.begin() + l3, frame.begin() + l3 + header_len);
  header[10] = header[11] = 0;
  if (uint16_t want = InternetChecksum(header); want != ip.check) {
    errors.push_back(absl::StrFormat("ip.check: stored 0x%04x, computed 0x%04x",
                                     ip.check, want));
  }

  if (!ip.mf && ip.frag_offset == 0) {
    Bytes seg(frame.begin() + l3 + header_len, frame.begin() + l3 + ip.tot_len);
    if (d.tcp.has_value()) {
      seg[16] = seg[17] = 0;
      uint16_t want = TransportChecksum(ip.saddr, ip.daddr, kProtoTcp, seg);
      if (want != d.tcp->check) {
        errors.push_back(absl::StrFormat(
            "tcp.check: stored 0x%04x, computed 0x%04x", d.tcp->check, want));
      }
    } else if (d.udp.has_value()) {
      seg[6] = seg[7] = 0;
      // 0 means "no checksum": nothing to recompute.
      uint16_t want = UdpChecksum(ip.saddr, ip.daddr, seg);
      if (d.udp->check != 0 && want != d.udp->check) {
        errors.push_back(absl::StrFormat(
            "udp.check: stored 0x%04x, computed 0x%04x", d.udp->check, want));
      }
      if (d.udp->len != seg.size()) {
        errors.push_back(absl::StrCat("udp.len: ", d.udp->len,
                                      ", datagram carries ", seg.size()));
      }
    } else if (d.icmp.has_value()) {
      seg[2] = seg[3] = 0;
      uint16_t want = InternetChecksum(seg);
      if (want != d.icmp->check) {
        errors.push_back(absl::StrFormat(
            "icmp.check: stored 0x%04x, computed 0x%04x", d.icmp->check, want));
      }
    }
  }
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
}

}  // namespace switchyard::packet
