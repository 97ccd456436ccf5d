// SPDX-License-Identifier: Apache-2.0
// Datapath map keys as tests write them: dotted quads and host-order ports
// in, the ABI's network-order key out.
#ifndef SWITCHYARD_TESTS_PACKET_MAP_KEYS_H_
#define SWITCHYARD_TESTS_PACKET_MAP_KEYS_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "yard_abi.h"

namespace switchyard::packet {

yard_ct4_key CtKey(absl::string_view saddr, uint16_t sport,
                   absl::string_view daddr, uint16_t dport, uint8_t proto,
                   yard_ct_dir dir);

}  // namespace switchyard::packet

#endif  // SWITCHYARD_TESTS_PACKET_MAP_KEYS_H_
