// SPDX-License-Identifier: Apache-2.0
#include "tests/packet/map_keys.h"

#include "control/packet/packet_types.h"

namespace switchyard::packet {

yard_ct4_key CtKey(absl::string_view saddr, uint16_t sport,
                   absl::string_view daddr, uint16_t dport, uint8_t proto,
                   yard_ct_dir dir) {
  yard_ct4_key key = {};
  key.saddr = IpBe(saddr);
  key.daddr = IpBe(daddr);
  key.sport = PortBe(sport);
  key.dport = PortBe(dport);
  key.proto = proto;
  key.dir = static_cast<uint8_t>(dir);
  return key;
}

}  // namespace switchyard::packet
