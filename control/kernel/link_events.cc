// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/link_events.h"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "control/common/errno_status.h"

namespace switchyard::kernel {
namespace {

// Room for one datagram: the kernel sends each link notification on its
// own, a few hundred bytes to a few KiB with all of a link's attributes;
// 32 KiB is what the kernel itself sizes netlink dumps for.
constexpr size_t kDatagramBytes = 32 * 1024;

// A larger receive buffer than the default (~200 KiB) lets a burst of
// pod creations queue without overrunning; an overrun is still handled
// (by a full rescan), only slower.
constexpr int kReceiveBufferBytes = 4 * 1024 * 1024;

LinkEvent ParseLink(const nlmsghdr* header) {
  LinkEvent event;
  event.removed = header->nlmsg_type == RTM_DELLINK;
  const auto* info = static_cast<const ifinfomsg*>(NLMSG_DATA(header));
  event.ifindex = info->ifi_index;
  int remaining = static_cast<int>(IFLA_PAYLOAD(header));
  for (const rtattr* attr = IFLA_RTA(info); RTA_OK(attr, remaining);
       attr = RTA_NEXT(attr, remaining)) {
    if (attr->rta_type != IFLA_IFNAME) continue;
    // IFLA_IFNAME is NUL-terminated, but a bound keeps a malformed one
    // from running past the attribute.
    const char* name = static_cast<const char*>(RTA_DATA(attr));
    event.name.assign(name, strnlen(name, RTA_PAYLOAD(attr)));
  }
  return event;
}

}  // namespace

std::vector<LinkEvent> ParseLinkMessages(const void* data, size_t length) {
  std::vector<LinkEvent> out;
  int remaining = static_cast<int>(length);
  for (const auto* header = static_cast<const nlmsghdr*>(data);
       NLMSG_OK(header, remaining); header = NLMSG_NEXT(header, remaining)) {
    if (header->nlmsg_type != RTM_NEWLINK &&
        header->nlmsg_type != RTM_DELLINK) {
      continue;
    }
    if (header->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) continue;
    out.push_back(ParseLink(header));
  }
  return out;
}

absl::StatusOr<LinkEventSocket> LinkEventSocket::Open() {
  ScopedFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
                     NETLINK_ROUTE));
  if (!fd.valid()) return ErrnoStatus(errno, "open rtnetlink socket");
  // Best effort: without the larger buffer, overruns come sooner and are
  // handled all the same.
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &kReceiveBufferBytes,
             sizeof(kReceiveBufferBytes));
  sockaddr_nl address = {};
  address.nl_family = AF_NETLINK;
  address.nl_groups = RTMGRP_LINK;
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&address),
           sizeof(address)) != 0) {
    return ErrnoStatus(errno, "subscribe to link notifications");
  }
  return LinkEventSocket(std::move(fd));
}

absl::StatusOr<LinkEvents> LinkEventSocket::Read(absl::Duration timeout) {
  LinkEvents out;
  pollfd waiting = {.fd = fd_.get(), .events = POLLIN, .revents = 0};
  int ready = poll(&waiting, 1, absl::ToInt64Milliseconds(timeout));
  if (ready < 0 && errno != EINTR) {
    return ErrnoStatus(errno, "wait for link notifications");
  }
  if (ready <= 0) return out;
  // The socket is non-blocking: read until the queue is empty.
  buffer_.resize(kDatagramBytes);
  for (;;) {
    ssize_t n = recv(fd_.get(), buffer_.data(), buffer_.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      // The kernel dropped notifications for want of room: report it and
      // keep reading what did arrive after.
      if (errno == ENOBUFS) {
        out.overrun = true;
        continue;
      }
      return ErrnoStatus(errno, "read link notifications");
    }
    std::vector<LinkEvent> events =
        ParseLinkMessages(buffer_.data(), static_cast<size_t>(n));
    out.events.insert(out.events.end(), events.begin(), events.end());
  }
  return out;
}

}  // namespace switchyard::kernel
