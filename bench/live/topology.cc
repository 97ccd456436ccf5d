// SPDX-License-Identifier: Apache-2.0
#include "bench/live/topology.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace switchyard::bench::live {
namespace {

absl::StatusOr<Mac> ReadMac(const netns::Namespace& ns,
                            const std::string& dev) {
  absl::StatusOr<netns::CommandResult> out =
      ns.Exec(absl::StrCat("cat /sys/class/net/", dev, "/address"));
  if (!out.ok()) return out.status();
  Mac mac = {};
  unsigned int b[6];
  const std::string text(absl::StripAsciiWhitespace(out->output));
  if (out->exit_code != 0 ||
      std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3],
                  &b[4], &b[5]) != 6) {
    return absl::InternalError(
        absl::StrCat("no MAC for ", dev, " in ", ns.name(), ": ", text));
  }
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(b[i]);
  return mac;
}

std::string MacText(const Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
                m[2], m[3], m[4], m[5]);
  return buf;
}

// Forwarding on, reverse-path filtering off: the generator's sources are
// many addresses behind one interface.
absl::Status RouterSysctls(const netns::Namespace& ns) {
  for (const char* key :
       {"net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding"}) {
    if (absl::Status s = ns.Sysctl(key, "1"); !s.ok()) return s;
  }
  for (const char* key :
       {"net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter"}) {
    if (absl::Status s = ns.Sysctl(key, "0"); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// A veth between a (dev_a, addr_a) and b (dev_b, addr_b) in one /prefix,
// with static neighbours both ways: no ARP round in the measured frames.
absl::Status Link(const netns::Namespace& a, const std::string& dev_a,
                  const std::string& addr_a, const netns::Namespace& b,
                  const std::string& dev_b, const std::string& addr_b,
                  int prefix) {
  if (absl::Status s = netns::CreateVeth(a, dev_a, b, dev_b); !s.ok()) {
    return s;
  }
  if (absl::Status s = a.AddAddress(dev_a, absl::StrCat(addr_a, "/", prefix));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = b.AddAddress(dev_b, absl::StrCat(addr_b, "/", prefix));
      !s.ok()) {
    return s;
  }
  absl::StatusOr<Mac> mac_a = ReadMac(a, dev_a);
  absl::StatusOr<Mac> mac_b = ReadMac(b, dev_b);
  if (!mac_a.ok()) return mac_a.status();
  if (!mac_b.ok()) return mac_b.status();
  if (absl::Status s = a.ExecOk(absl::StrCat("ip neigh replace ", addr_b,
                                             " lladdr ", MacText(*mac_b),
                                             " dev ", dev_a, " nud permanent"));
      !s.ok()) {
    return s;
  }
  return b.ExecOk(absl::StrCat("ip neigh replace ", addr_a, " lladdr ",
                               MacText(*mac_a), " dev ", dev_b,
                               " nud permanent"));
}

}  // namespace

uint32_t Topology::EndpointBase(int b) {
  return (10u << 24) | (static_cast<uint32_t>(128 + b) << 16);
}

absl::StatusOr<std::unique_ptr<Topology>> Topology::Create(
    const std::string& tag, int backends, Site site) {
  if (backends < 1 || backends > 64) {
    return absl::InvalidArgumentError("backends must be 1..64");
  }
  std::unique_ptr<Topology> t(new Topology());
  t->site_ = site;
  auto make = [&](const std::string& suffix,
                  std::unique_ptr<netns::Namespace>& slot) -> absl::Status {
    absl::StatusOr<std::unique_ptr<netns::Namespace>> ns =
        netns::Namespace::Create(absl::StrCat("ybl-", tag, "-", suffix));
    if (!ns.ok()) return ns.status();
    slot = *std::move(ns);
    return absl::OkStatus();
  };
  if (absl::Status s = make("node", t->node_); !s.ok()) return s;
  const netns::Namespace& node = *t->node_;
  if (absl::Status s = RouterSysctls(node); !s.ok()) return s;

  // The outside client on the node's external device.
  if (absl::Status s = make("out", t->outside_); !s.ok()) return s;
  const netns::Namespace& out = *t->outside_;
  if (absl::Status s =
          Link(node, kExternalDev, kNodeAddr, out, "eth0", kOutsideAddr, 24);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = node.AddRoute(absl::StrCat(
          "100.64.0.0/10 via ", kOutsideAddr, " dev ", kExternalDev));
      !s.ok()) {
    return s;
  }

  const netns::Namespace* host = &node;
  if (site == Site::kLocal) {
    if (absl::Status s = out.AddRoute(absl::StrCat("default via ", kNodeAddr));
        !s.ok()) {
      return s;
    }
    if (absl::Status s = make("cl", t->client_); !s.ok()) return s;
    const netns::Namespace& client = *t->client_;
    if (absl::Status s = Link(node, kInjectDev, "10.192.0.1", client, "eth0",
                              kClientAddr, 24);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = client.AddRoute("default via 10.192.0.1 dev eth0");
        !s.ok()) {
      return s;
    }
    if (absl::Status s = node.AddRoute("10.192.0.0/10 via 10.192.0.2 dev vcl");
        !s.ok()) {
      return s;
    }
  } else {
    // One-armed: endpoints are reached back out vext, through `out`, on
    // node n2.
    if (absl::Status s = node.AddRoute(absl::StrCat(
            "10.128.0.0/9 via ", kOutsideAddr, " dev ", kExternalDev));
        !s.ok()) {
      return s;
    }
    if (absl::Status s = RouterSysctls(out); !s.ok()) return s;
    if (absl::Status s = make("n2", t->node2_); !s.ok()) return s;
    const netns::Namespace& n2 = *t->node2_;
    if (absl::Status s = RouterSysctls(n2); !s.ok()) return s;
    if (absl::Status s =
            Link(out, "vn2", "10.127.0.1", n2, "eth0", "10.127.0.2", 30);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = out.AddRoute("10.128.0.0/9 via 10.127.0.2 dev vn2");
        !s.ok()) {
      return s;
    }
    if (absl::Status s = n2.AddRoute("default via 10.127.0.1 dev eth0");
        !s.ok()) {
      return s;
    }
    host = t->node2_.get();
  }

  for (int b = 0; b < backends; ++b) {
    std::unique_ptr<netns::Namespace> be_ns;
    if (absl::Status s = make(absl::StrCat("be", b), be_ns); !s.ok()) return s;
    t->backends_.push_back(std::move(be_ns));
    const netns::Namespace& be = *t->backends_.back();
    const std::string link = absl::StrCat("10.126.", b, ".");
    const std::string range = absl::StrCat("10.", 128 + b, ".0.0/16");
    if (absl::Status s = Link(*host, absl::StrCat("vb", b), link + "1", be,
                              "eth0", link + "2", 30);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = be.AddRoute(absl::StrCat("default via ", link, "1"));
        !s.ok()) {
      return s;
    }
    if (absl::Status s = be.AddRoute(absl::StrCat("local ", range, " dev lo"));
        !s.ok()) {
      return s;
    }
    if (absl::Status s =
            host->AddRoute(absl::StrCat(range, " via ", link, "2"));
        !s.ok()) {
      return s;
    }
    absl::StatusOr<int> ifindex = be.Ifindex("eth0");
    if (!ifindex.ok()) return ifindex.status();
    t->backend_ifindex_.push_back(*ifindex);
  }

  absl::StatusOr<int> ext = node.Ifindex(kExternalDev);
  if (!ext.ok()) return ext.status();
  t->external_ifindex_ = *ext;
  absl::StatusOr<Mac> mac = ReadMac(node, kExternalDev);
  if (!mac.ok()) return mac.status();
  t->external_mac_ = *mac;
  mac = ReadMac(out, "eth0");
  if (!mac.ok()) return mac.status();
  t->outside_mac_ = *mac;
  absl::StatusOr<int> out_if = out.Ifindex("eth0");
  if (!out_if.ok()) return out_if.status();
  t->outside_ifindex_ = *out_if;
  if (site == Site::kLocal) {
    absl::StatusOr<int> inject = node.Ifindex(kInjectDev);
    if (!inject.ok()) return inject.status();
    t->inject_ifindex_ = *inject;
    mac = ReadMac(node, kInjectDev);
    if (!mac.ok()) return mac.status();
    t->inject_mac_ = *mac;
    mac = ReadMac(*t->client_, "eth0");
    if (!mac.ok()) return mac.status();
    t->client_mac_ = *mac;
    absl::StatusOr<int> client_if = t->client_->Ifindex("eth0");
    if (!client_if.ok()) return client_if.status();
    t->client_ifindex_ = *client_if;
  }
  return t;
}

}  // namespace switchyard::bench::live
