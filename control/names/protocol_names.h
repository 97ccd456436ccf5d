// SPDX-License-Identifier: Apache-2.0
// IP protocol numbers as Kubernetes spells them ("TCP", "UDP"), for every
// table, JSON document, metric label and log line that shows one.
#ifndef SWITCHYARD_CONTROL_NAMES_PROTOCOL_NAMES_H_
#define SWITCHYARD_CONTROL_NAMES_PROTOCOL_NAMES_H_

#include <cstdint>
#include <string>

namespace switchyard::names {

// "TCP", "UDP", "ICMP"; any other protocol as its number ("132"), since a
// number is still exact where a made-up word would not be.
std::string ProtoName(uint8_t proto);

}  // namespace switchyard::names

#endif  // SWITCHYARD_CONTROL_NAMES_PROTOCOL_NAMES_H_
