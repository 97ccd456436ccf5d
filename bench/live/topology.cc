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

absl::Status Topology::MakeNamespace(const std::string& suffix,
                                     std::unique_ptr<netns::Namespace>& slot) {
  absl::StatusOr<std::unique_ptr<netns::Namespace>> ns =
      netns::Namespace::Create(absl::StrCat("ybl-", tag_, "-", suffix));
  if (!ns.ok()) return ns.status();
  slot = *std::move(ns);
  return absl::OkStatus();
}

// The node and the outside client on its external device.
absl::Status Topology::AddNodeAndOutside() {
  if (absl::Status s = MakeNamespace("node", node_); !s.ok()) return s;
  if (absl::Status s = RouterSysctls(*node_); !s.ok()) return s;
  if (absl::Status s = MakeNamespace("out", outside_); !s.ok()) return s;
  if (absl::Status s = Link(*node_, kExternalDev, kNodeAddr, *outside_, "eth0",
                            kOutsideAddr, 24);
      !s.ok()) {
    return s;
  }
  return node_->AddRoute(
      absl::StrCat("100.64.0.0/10 via ", kOutsideAddr, " dev ", kExternalDev));
}

// A pod-side client on the node, for traffic from pods.
absl::Status Topology::AddLocalClient() {
  if (absl::Status s =
          outside_->AddRoute(absl::StrCat("default via ", kNodeAddr));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = MakeNamespace("cl", client_); !s.ok()) return s;
  if (absl::Status s = Link(*node_, kInjectDev, "10.192.0.1", *client_, "eth0",
                            kClientAddr, 24);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = client_->AddRoute("default via 10.192.0.1 dev eth0");
      !s.ok()) {
    return s;
  }
  return node_->AddRoute("10.192.0.0/10 via 10.192.0.2 dev vcl");
}

// One-armed: endpoints are reached back out vext, through `out`, on node
// n2.
absl::Status Topology::AddSecondNode() {
  if (absl::Status s = node_->AddRoute(absl::StrCat(
          "10.128.0.0/9 via ", kOutsideAddr, " dev ", kExternalDev));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = RouterSysctls(*outside_); !s.ok()) return s;
  if (absl::Status s = MakeNamespace("n2", node2_); !s.ok()) return s;
  if (absl::Status s = RouterSysctls(*node2_); !s.ok()) return s;
  if (absl::Status s = Link(*outside_, "vn2", "10.127.0.1", *node2_, "eth0",
                            "10.127.0.2", 30);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          outside_->AddRoute("10.128.0.0/9 via 10.127.0.2 dev vn2");
      !s.ok()) {
    return s;
  }
  return node2_->AddRoute("default via 10.127.0.1 dev eth0");
}

// Backend b on `host`, answering for all of 10.(128+b).0.0/16.
absl::Status Topology::AddBackend(const netns::Namespace& host, int b) {
  std::unique_ptr<netns::Namespace> be_ns;
  if (absl::Status s = MakeNamespace(absl::StrCat("be", b), be_ns); !s.ok()) {
    return s;
  }
  backends_.push_back(std::move(be_ns));
  const netns::Namespace& be = *backends_.back();
  const std::string link = absl::StrCat("10.126.", b, ".");
  const std::string range = absl::StrCat("10.", 128 + b, ".0.0/16");
  if (absl::Status s = Link(host, absl::StrCat("vb", b), link + "1", be, "eth0",
                            link + "2", 30);
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
  if (absl::Status s = host.AddRoute(absl::StrCat(range, " via ", link, "2"));
      !s.ok()) {
    return s;
  }
  absl::StatusOr<int> ifindex = be.Ifindex("eth0");
  if (!ifindex.ok()) return ifindex.status();
  backend_ifindex_.push_back(*ifindex);
  return absl::OkStatus();
}

// The interface numbers and MACs frames are written for.
absl::Status Topology::ReadAddresses() {
  absl::StatusOr<int> ext = node_->Ifindex(kExternalDev);
  if (!ext.ok()) return ext.status();
  external_ifindex_ = *ext;
  absl::StatusOr<Mac> mac = ReadMac(*node_, kExternalDev);
  if (!mac.ok()) return mac.status();
  external_mac_ = *mac;
  mac = ReadMac(*outside_, "eth0");
  if (!mac.ok()) return mac.status();
  outside_mac_ = *mac;
  absl::StatusOr<int> out_if = outside_->Ifindex("eth0");
  if (!out_if.ok()) return out_if.status();
  outside_ifindex_ = *out_if;
  if (site_ != Site::kLocal) return absl::OkStatus();
  absl::StatusOr<int> inject = node_->Ifindex(kInjectDev);
  if (!inject.ok()) return inject.status();
  inject_ifindex_ = *inject;
  mac = ReadMac(*node_, kInjectDev);
  if (!mac.ok()) return mac.status();
  inject_mac_ = *mac;
  mac = ReadMac(*client_, "eth0");
  if (!mac.ok()) return mac.status();
  client_mac_ = *mac;
  absl::StatusOr<int> client_if = client_->Ifindex("eth0");
  if (!client_if.ok()) return client_if.status();
  client_ifindex_ = *client_if;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Topology>> Topology::Create(
    const std::string& tag, int backends, Site site) {
  if (backends < 1 || backends > 64) {
    return absl::InvalidArgumentError("backends must be 1..64");
  }
  std::unique_ptr<Topology> t(new Topology());
  t->tag_ = tag;
  t->site_ = site;
  if (absl::Status s = t->AddNodeAndOutside(); !s.ok()) return s;
  absl::Status s =
      site == Site::kLocal ? t->AddLocalClient() : t->AddSecondNode();
  if (!s.ok()) return s;
  const netns::Namespace& host = site == Site::kLocal ? *t->node_ : *t->node2_;
  for (int b = 0; b < backends; ++b) {
    if (absl::Status s = t->AddBackend(host, b); !s.ok()) return s;
  }
  if (absl::Status s = t->ReadAddresses(); !s.ok()) return s;
  return t;
}

}  // namespace switchyard::bench::live
