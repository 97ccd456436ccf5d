// SPDX-License-Identifier: Apache-2.0
// Link notifications as the kernel lays them out, built by hand: several
// messages in one datagram, names from IFLA_IFNAME among other
// attributes, removals, and messages that are not about links.
#include "control/kernel/link_events.h"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace switchyard::kernel {
namespace {

class Datagram {
 public:
  // Appends one RTM_NEWLINK/RTM_DELLINK with IFLA_MTU then IFLA_IFNAME.
  void AddLink(uint16_t type, int ifindex, const char* name) {
    const size_t start = bytes_.size();
    Grow(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifinfomsg)));
    auto* header = reinterpret_cast<nlmsghdr*>(&bytes_[start]);
    header->nlmsg_type = type;
    auto* info = static_cast<ifinfomsg*>(NLMSG_DATA(header));
    info->ifi_index = ifindex;
    uint32_t mtu = 1500;
    AddAttr(IFLA_MTU, &mtu, sizeof(mtu));
    if (name != nullptr) AddAttr(IFLA_IFNAME, name, strlen(name) + 1);
    reinterpret_cast<nlmsghdr*>(&bytes_[start])->nlmsg_len =
        bytes_.size() - start;
  }
  // A message of another type (an address notification's header).
  void AddOther() {
    const size_t start = bytes_.size();
    Grow(NLMSG_HDRLEN + 8);
    auto* header = reinterpret_cast<nlmsghdr*>(&bytes_[start]);
    header->nlmsg_type = RTM_NEWADDR;
    header->nlmsg_len = bytes_.size() - start;
  }
  const std::vector<char>& bytes() const { return bytes_; }

 private:
  void Grow(size_t n) { bytes_.resize(bytes_.size() + NLMSG_ALIGN(n), 0); }
  void AddAttr(uint16_t type, const void* data, size_t length) {
    const size_t start = bytes_.size();
    Grow(RTA_SPACE(length));
    auto* attr = reinterpret_cast<rtattr*>(&bytes_[start]);
    attr->rta_type = type;
    attr->rta_len = RTA_LENGTH(length);
    memcpy(RTA_DATA(attr), data, length);
  }
  std::vector<char> bytes_;
};

TEST(LinkEvents, ParsesEveryLinkMessageOfADatagram) {
  Datagram d;
  d.AddLink(RTM_NEWLINK, 7, "vethab12");
  d.AddOther();
  d.AddLink(RTM_DELLINK, 5, "vethold");
  d.AddLink(RTM_NEWLINK, 9, nullptr);
  std::vector<LinkEvent> events =
      ParseLinkMessages(d.bytes().data(), d.bytes().size());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].ifindex, 7);
  EXPECT_EQ(events[0].name, "vethab12");
  EXPECT_FALSE(events[0].removed);
  EXPECT_EQ(events[1].ifindex, 5);
  EXPECT_EQ(events[1].name, "vethold");
  EXPECT_TRUE(events[1].removed);
  EXPECT_EQ(events[2].ifindex, 9);
  EXPECT_EQ(events[2].name, "");
}

TEST(LinkEvents, ATruncatedDatagramYieldsWhatIsWhole) {
  Datagram d;
  d.AddLink(RTM_NEWLINK, 3, "veth0");
  d.AddLink(RTM_NEWLINK, 4, "veth1");
  std::vector<LinkEvent> events =
      ParseLinkMessages(d.bytes().data(), d.bytes().size() - 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].name, "veth0");
  EXPECT_TRUE(ParseLinkMessages(d.bytes().data(), 3).empty());
}

}  // namespace
}  // namespace switchyard::kernel
