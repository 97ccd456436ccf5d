// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/link_peer.h"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"
#include "control/common/scoped_fd.h"

namespace switchyard::kernel {

absl::StatusOr<int> LinkPeerIndex(absl::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an interface name: '", name, "'"));
  }
  ScopedFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.valid()) return ErrnoStatus(errno, "open rtnetlink socket");
  // The kernel answers at once; the bound only guards against a hang.
  timeval timeout = {.tv_sec = 2, .tv_usec = 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));

  // RTM_GETLINK for one interface, named by IFLA_IFNAME (ifi_index 0).
  struct {
    nlmsghdr header;
    ifinfomsg info;
    char attrs[RTA_SPACE(IFNAMSIZ)];
  } request = {};
  request.header.nlmsg_type = RTM_GETLINK;
  request.header.nlmsg_flags = NLM_F_REQUEST;
  request.header.nlmsg_seq = 1;
  request.info.ifi_family = AF_UNSPEC;
  auto* attr = reinterpret_cast<rtattr*>(request.attrs);
  attr->rta_type = IFLA_IFNAME;
  attr->rta_len = RTA_LENGTH(name.size() + 1);
  memcpy(RTA_DATA(attr), name.data(), name.size());  // NUL from = {}
  request.header.nlmsg_len =
      NLMSG_LENGTH(sizeof(ifinfomsg)) + RTA_ALIGN(attr->rta_len);
  if (send(fd.get(), &request, request.header.nlmsg_len, 0) < 0) {
    return ErrnoStatus(errno, "ask for link");
  }

  std::vector<char> buffer(32 * 1024);
  ssize_t n = recv(fd.get(), buffer.data(), buffer.size(), 0);
  if (n < 0) return ErrnoStatus(errno, "read link");
  int remaining = static_cast<int>(n);
  for (auto* header = reinterpret_cast<const nlmsghdr*>(buffer.data());
       NLMSG_OK(header, remaining); header = NLMSG_NEXT(header, remaining)) {
    if (header->nlmsg_type == NLMSG_ERROR) {
      const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(header));
      if (error->error == -ENODEV) {
        return absl::NotFoundError(absl::StrCat("no interface ", name));
      }
      return ErrnoStatus(-error->error, absl::StrCat("ask for link ", name));
    }
    if (header->nlmsg_type != RTM_NEWLINK) continue;
    const auto* info = static_cast<const ifinfomsg*>(NLMSG_DATA(header));
    int attrs_left = static_cast<int>(IFLA_PAYLOAD(header));
    for (const rtattr* a = IFLA_RTA(info); RTA_OK(a, attrs_left);
         a = RTA_NEXT(a, attrs_left)) {
      if (a->rta_type == IFLA_LINK && RTA_PAYLOAD(a) >= sizeof(int)) {
        int peer;
        memcpy(&peer, RTA_DATA(a), sizeof(peer));
        // A device linked to itself (or to nothing) has no peer.
        if (peer != 0 && peer != info->ifi_index) return peer;
      }
    }
    return absl::NotFoundError(
        absl::StrCat("interface ", name, " has no peer (not a veth?)"));
  }
  return absl::InternalError(absl::StrCat("no answer about link ", name));
}

}  // namespace switchyard::kernel
