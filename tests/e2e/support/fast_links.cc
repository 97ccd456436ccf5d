// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/support/fast_links.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"
#include "control/common/scoped_fd.h"

namespace switchyard::e2e {
namespace {

// One request under construction: a header, the family struct, then
// attributes, some nested.
class Request {
 public:
  Request(uint16_t type, uint16_t flags) {
    Put(nlmsghdr{
        .nlmsg_len = 0,
        .nlmsg_type = type,
        .nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags),
        .nlmsg_seq = 1,
        .nlmsg_pid = 0});
  }
  template <typename T>
  void Put(const T& value) {
    Append(&value, sizeof(value));
  }
  void Attr(uint16_t type, const void* data, size_t length) {
    rtattr header{.rta_len = static_cast<uint16_t>(RTA_LENGTH(length)),
                  .rta_type = type};
    Append(&header, sizeof(header));
    Append(data, length);
  }
  void Attr(uint16_t type, absl::string_view text) {  // NUL-terminated
    std::string copy(text);
    Attr(type, copy.c_str(), copy.size() + 1);
  }
  // Opens a nested attribute; Close(offset) sets its length.
  size_t Open(uint16_t type) {
    size_t at = bytes_.size();
    Attr(type, nullptr, 0);
    return at;
  }
  void Close(size_t at) {
    reinterpret_cast<rtattr*>(&bytes_[at])->rta_len =
        static_cast<uint16_t>(bytes_.size() - at);
  }

  // Sends it on a fresh socket of the calling thread's namespace and
  // waits for the kernel's acknowledgement.
  absl::Status Send(absl::string_view what) {
    reinterpret_cast<nlmsghdr*>(bytes_.data())->nlmsg_len = bytes_.size();
    ScopedFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd.valid()) return ErrnoStatus(errno, "rtnetlink socket");
    if (send(fd.get(), bytes_.data(), bytes_.size(), 0) < 0) {
      return ErrnoStatus(errno, what);
    }
    char answer[4096];
    ssize_t n = recv(fd.get(), answer, sizeof(answer), 0);
    if (n < 0) return ErrnoStatus(errno, what);
    const auto* header = reinterpret_cast<const nlmsghdr*>(answer);
    if (!NLMSG_OK(header, n) || header->nlmsg_type != NLMSG_ERROR) {
      return absl::InternalError(absl::StrCat(what, ": no acknowledgement"));
    }
    int error = static_cast<const nlmsgerr*>(NLMSG_DATA(header))->error;
    if (error != 0) return ErrnoStatus(-error, what);
    return absl::OkStatus();
  }

 private:
  void Append(const void* data, size_t length) {
    const auto* p = static_cast<const char*>(data);
    bytes_.insert(bytes_.end(), p, p + length);
    bytes_.resize(NLMSG_ALIGN(bytes_.size()), 0);
  }
  std::vector<char> bytes_;
};

absl::StatusOr<in_addr> Parse(absl::string_view text) {
  in_addr out{};
  if (inet_pton(AF_INET, std::string(text).c_str(), &out) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not IPv4: ", text));
  }
  return out;
}

}  // namespace

absl::StatusOr<int> AddVethInto(absl::string_view name,
                                absl::string_view peer_name,
                                const std::string& peer_netns_path) {
  ScopedFd netns(open(peer_netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!netns.valid()) return ErrnoStatus(errno, peer_netns_path);
  Request r(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  r.Put(ifinfomsg{});
  r.Attr(IFLA_IFNAME, name);
  size_t linkinfo = r.Open(IFLA_LINKINFO);
  r.Attr(IFLA_INFO_KIND, "veth");
  size_t data = r.Open(IFLA_INFO_DATA);
  // The peer is described by its own ifinfomsg and attributes.
  size_t peer = r.Open(VETH_INFO_PEER);
  r.Put(ifinfomsg{});
  r.Attr(IFLA_IFNAME, peer_name);
  uint32_t fd = netns.get();
  r.Attr(IFLA_NET_NS_FD, &fd, sizeof(fd));
  r.Close(peer);
  r.Close(data);
  r.Close(linkinfo);
  if (absl::Status s = r.Send(absl::StrCat("create veth ", name)); !s.ok()) {
    return s;
  }
  int ifindex = static_cast<int>(if_nametoindex(std::string(name).c_str()));
  if (ifindex == 0) return ErrnoStatus(errno, absl::StrCat("find ", name));
  return ifindex;
}

absl::Status AddAddress(int ifindex, absl::string_view address, int prefix) {
  absl::StatusOr<in_addr> a = Parse(address);
  if (!a.ok()) return a.status();
  Request r(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  r.Put(ifaddrmsg{.ifa_family = AF_INET,
                  .ifa_prefixlen = static_cast<unsigned char>(prefix),
                  .ifa_flags = 0,
                  .ifa_scope = RT_SCOPE_UNIVERSE,
                  .ifa_index = static_cast<uint32_t>(ifindex)});
  r.Attr(IFA_LOCAL, &*a, sizeof(*a));
  r.Attr(IFA_ADDRESS, &*a, sizeof(*a));
  return r.Send(absl::StrCat("add address ", address));
}

absl::Status SetLinkUp(int ifindex) {
  Request r(RTM_NEWLINK, 0);
  r.Put(ifinfomsg{.ifi_family = AF_UNSPEC,
                  .ifi_type = 0,
                  .ifi_index = ifindex,
                  .ifi_flags = IFF_UP,
                  .ifi_change = IFF_UP});
  return r.Send(absl::StrCat("set ifindex ", ifindex, " up"));
}

absl::Status AddRoute(absl::string_view dst, int prefix, int ifindex,
                      absl::string_view gateway) {
  absl::StatusOr<in_addr> d = Parse(dst);
  if (!d.ok()) return d.status();
  Request r(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  r.Put(rtmsg{.rtm_family = AF_INET,
              .rtm_dst_len = static_cast<unsigned char>(prefix),
              .rtm_src_len = 0,
              .rtm_tos = 0,
              .rtm_table = RT_TABLE_MAIN,
              .rtm_protocol = RTPROT_BOOT,
              .rtm_scope = static_cast<unsigned char>(
                  gateway.empty() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE),
              .rtm_type = RTN_UNICAST,
              .rtm_flags = 0});
  r.Attr(RTA_DST, &*d, sizeof(*d));
  uint32_t oif = ifindex;
  r.Attr(RTA_OIF, &oif, sizeof(oif));
  if (!gateway.empty()) {
    absl::StatusOr<in_addr> g = Parse(gateway);
    if (!g.ok()) return g.status();
    r.Attr(RTA_GATEWAY, &*g, sizeof(*g));
  }
  return r.Send(absl::StrCat("add route ", dst, "/", prefix));
}

}  // namespace switchyard::e2e
