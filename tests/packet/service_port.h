// SPDX-License-Identifier: Apache-2.0
// One service port written into a datapath's maps the way the programmer
// adds it (slots, reverse NAT, then the frontend that makes them
// reachable), for the packet-table tests that set maps up by hand.
#ifndef SWITCHYARD_TESTS_PACKET_SERVICE_PORT_H_
#define SWITCHYARD_TESTS_PACKET_SERVICE_PORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "control/kernel/datapath_maps.h"
#include "yard_abi.h"

namespace switchyard::packet {

struct ServicePortWrite {
  std::string addr;  // frontend address, dotted quad
  uint16_t port = 0;
  uint8_t proto = 0;
  uint32_t id = 0;                 // svc_id and rev_nat_id
  std::vector<uint32_t> backends;  // slot i+1 names backends[i]
  std::optional<uint16_t> count;   // default: backends.size()
  uint8_t scope = YARD_SCOPE_INTERNAL;
  uint8_t flags = 0;
  uint8_t policy = YARD_POLICY_RANDOM;
};

absl::Status WriteServicePort(kernel::DatapathMaps& maps,
                              const ServicePortWrite& write);

}  // namespace switchyard::packet

#endif  // SWITCHYARD_TESTS_PACKET_SERVICE_PORT_H_
