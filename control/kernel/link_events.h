// SPDX-License-Identifier: Apache-2.0
// The kernel's link notifications (rtnetlink, RTMGRP_LINK) for this
// process's network namespace: which interfaces appeared, changed or went
// away, as they happen, so the agent attaches a new pod interface within
// a millisecond or so of its creation instead of at its next poll.
//
// Written against the kernel's uapi headers directly: one socket, one
// multicast group and one attribute (IFLA_IFNAME) are all it needs, which
// is less code than a netlink library's setup.
#ifndef SWITCHYARD_CONTROL_KERNEL_LINK_EVENTS_H_
#define SWITCHYARD_CONTROL_KERNEL_LINK_EVENTS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "control/common/scoped_fd.h"

namespace switchyard::kernel {

struct LinkEvent {
  int ifindex = 0;
  std::string name;      // IFLA_IFNAME; "" when the message carried none
  bool removed = false;  // RTM_DELLINK (else RTM_NEWLINK: new or changed)
};

struct LinkEvents {
  std::vector<LinkEvent> events;
  // The socket's receive buffer overflowed (ENOBUFS): notifications were
  // lost, so the reader must look at every interface again.
  bool overrun = false;
};

// The link messages in one datagram read from a NETLINK_ROUTE socket, in
// order; other message types (and NLMSG_DONE, NLMSG_ERROR) are skipped.
// Pure: unit-tested with hand-built messages.
std::vector<LinkEvent> ParseLinkMessages(const void* data, size_t length);

class LinkEventSocket {
 public:
  // Subscribes to RTMGRP_LINK. Subscribe before listing the interfaces
  // present, so none can appear unseen between the list and the
  // subscription.
  static absl::StatusOr<LinkEventSocket> Open();

  // Waits up to `timeout` for notifications and returns those that
  // arrived (empty after a timeout), draining everything queued so one
  // call handles a burst.
  absl::StatusOr<LinkEvents> Read(absl::Duration timeout);

 private:
  explicit LinkEventSocket(ScopedFd fd) : fd_(std::move(fd)) {}
  ScopedFd fd_;
  // One datagram at a time; new's alignment suits nlmsghdr.
  std::vector<char> buffer_;
};

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_LINK_EVENTS_H_
