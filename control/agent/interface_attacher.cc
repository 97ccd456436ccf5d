// SPDX-License-Identifier: Apache-2.0
#include "control/agent/interface_attacher.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include "absl/strings/str_cat.h"
#include "control/common/log.h"

namespace switchyard::agent {

std::vector<uint32_t> AddressesOf(const std::vector<std::string>& devices) {
  std::vector<uint32_t> out;
  struct ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return out;
  for (const std::string& device : devices) {
    for (struct ifaddrs* a = all; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET ||
          device != a->ifa_name) {
        continue;
      }
      out.push_back(
          reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
    }
  }
  freeifaddrs(all);
  return out;
}

bool MatchesAny(const std::vector<std::string>& patterns,
                const std::string& name) {
  for (const std::string& p : patterns) {
    if (fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

absl::StatusOr<std::map<int, std::string>> InterfaceAttacher::Present() {
  struct if_nameindex* all = if_nameindex();
  if (all == nullptr) return absl::InternalError("if_nameindex failed");
  std::map<int, std::string> present;
  for (struct if_nameindex* i = all; i->if_index != 0; ++i) {
    present[i->if_index] = i->if_name;
  }
  if_freenameindex(all);
  return present;
}

AttachResult InterfaceAttacher::AttachNew() {
  AttachResult out;
  absl::StatusOr<std::map<int, std::string>> present = Present();
  if (!present.ok()) {
    out.status = present.status();
    return out;
  }
  out.external_changed = AttachExternal(*present, out.status);
  AttachPods(*present, out.status);
  return out;
}

bool InterfaceAttacher::AttachExternal(
    const std::map<int, std::string>& present, absl::Status& result) {
  bool changed = false;
  for (const auto& [ifindex, name] : present) {
    if (!MatchesAny(external_patterns_, name)) continue;
    auto it = external_attached_.find(ifindex);
    if (it != external_attached_.end() && it->second == name) continue;
    std::string xdp_error;
    absl::StatusOr<std::optional<kernel::XdpMode>> mode =
        datapath_->AttachExternalDevice(ifindex, &xdp_error);
    if (!mode.ok()) {
      LOG(WARNING) << "attach to external device " << name << ": "
                   << mode.status();
      result.Update(mode.status());
      continue;
    }
    external_attached_[ifindex] = name;
    std::string how = "tc only";
    if (mode->has_value()) {
      how = **mode == kernel::XdpMode::kNative ? "XDP native" : "XDP generic";
      xdp_failed_.erase(name);
    } else if (!xdp_error.empty()) {
      xdp_failed_[name] = xdp_error;
      how = absl::StrCat("tc only: ", xdp_error);
    }
    LOG(INFO) << "attached to external device " << name << " (ifindex "
              << ifindex << ", " << how << ")";
    changed = true;
  }
  std::erase_if(external_attached_, [&](const auto& entry) {
    return !present.contains(entry.first);
  });
  // A device that went away no longer runs without XDP.
  changed |= std::erase_if(xdp_failed_, [&](const auto& entry) {
               for (const auto& [ifindex, name] : external_attached_) {
                 if (name == entry.first) return false;
               }
               return true;
             }) > 0;
  return changed;
}

void InterfaceAttacher::AttachPods(const std::map<int, std::string>& present,
                                   absl::Status& result) {
  for (const auto& [ifindex, name] : present) {
    if (!MatchesAny(pod_patterns_, name)) continue;
    auto it = attached_.find(ifindex);
    if (it != attached_.end() && it->second == name) continue;
    AttachPod(ifindex, name, result);
  }
  std::erase_if(attached_, [&](const auto& entry) {
    if (present.contains(entry.first)) return false;
    datapath_->ForgetPodInterface(entry.first);
    return true;
  });
}

void InterfaceAttacher::AttachPod(int ifindex, const std::string& name,
                                  absl::Status& result) {
  absl::Status s = datapath_->AttachPodInterface(ifindex);
  if (s.ok()) {
    attached_[ifindex] = name;
    LOG(INFO) << "attached to " << name << " (ifindex " << ifindex << ")";
    return;
  }
  // An interface that vanished between its announcement (or listing) and
  // the attach is not an error worth more than a line; keep going with
  // the others.
  LOG(WARNING) << "attach to " << name << ": " << s;
  result.Update(s);
}

AttachResult InterfaceAttacher::OnLinkEvents(const kernel::LinkEvents& events) {
  if (events.overrun) {
    LOG(WARNING) << "link notifications were lost (receive queue overrun); "
                    "looking at every interface";
    return AttachNew();
  }
  AttachResult out;
  bool rescan = false;
  for (const kernel::LinkEvent& event : events.events) {
    if (event.removed) {
      // Forgotten, so an interface that comes back with the same index is
      // attached again; an external device's removal changes what XDP
      // covers, which the full pass works out.
      if (attached_.erase(event.ifindex) > 0) {
        datapath_->ForgetPodInterface(event.ifindex);
      }
      rescan |= external_attached_.contains(event.ifindex);
      continue;
    }
    if (MatchesAny(external_patterns_, event.name)) {
      rescan = true;
      continue;
    }
    if (!MatchesAny(pod_patterns_, event.name)) continue;
    // Every change of a link (up, carrier, address) is announced again:
    // only a new one (or a renamed one at a known index) needs work.
    auto it = attached_.find(event.ifindex);
    if (it != attached_.end() && it->second == event.name) continue;
    AttachPod(event.ifindex, event.name, out.status);
  }
  if (rescan) {
    AttachResult full = AttachNew();
    full.status.Update(out.status);
    return full;
  }
  return out;
}

}  // namespace switchyard::agent
