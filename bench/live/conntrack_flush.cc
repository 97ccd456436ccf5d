// SPDX-License-Identifier: Apache-2.0
#include "bench/live/conntrack_flush.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "control/common/errno_status.h"
#include "control/common/scoped_fd.h"

namespace switchyard::bench::live {

absl::Status FlushConntrack() {
  ScopedFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
  if (fd.get() < 0) return ErrnoStatus(errno, "netlink socket");
  // A conntrack DELETE that names no tuple deletes every entry.
  struct {
    nlmsghdr nlh;
    nfgenmsg nfg;
  } req = {};
  req.nlh.nlmsg_len = sizeof(req);
  req.nlh.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
  req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.nlh.nlmsg_seq = 1;
  req.nfg.nfgen_family = AF_INET;
  req.nfg.version = NFNETLINK_V0;
  sockaddr_nl kernel = {};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd.get(), &req, sizeof(req), 0,
             reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    return ErrnoStatus(errno, "send conntrack flush");
  }
  char buf[4096];
  const ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
  if (n < 0) return ErrnoStatus(errno, "receive conntrack flush ack");
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf);
  if (n >= static_cast<ssize_t>(sizeof(nlmsghdr) + sizeof(nlmsgerr)) &&
      nlh->nlmsg_type == NLMSG_ERROR) {
    const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(nlh));
    if (err->error != 0) return ErrnoStatus(-err->error, "conntrack flush");
  }
  return absl::OkStatus();
}

}  // namespace switchyard::bench::live
