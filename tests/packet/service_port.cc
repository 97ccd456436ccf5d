// SPDX-License-Identifier: Apache-2.0
#include "tests/packet/service_port.h"

#include "control/packet/packet_types.h"

namespace switchyard::packet {

absl::Status WriteServicePort(kernel::DatapathMaps& maps,
                              const ServicePortWrite& write) {
  for (size_t i = 0; i < write.backends.size(); ++i) {
    if (absl::Status s = maps.PutSlot({write.id, static_cast<uint32_t>(i + 1)},
                                      {write.backends[i]});
        !s.ok()) {
      return s;
    }
  }
  yard_rnat4 rnat = {};
  rnat.addr = IpBe(write.addr);
  rnat.port = PortBe(write.port);
  if (absl::Status s = maps.PutRevNat(write.id, rnat); !s.ok()) return s;
  yard_svc_value value = {};
  value.svc_id = write.id;
  value.rev_nat_id = write.id;
  value.count =
      write.count.value_or(static_cast<uint16_t>(write.backends.size()));
  value.flags = write.flags;
  value.policy = write.policy;
  return maps.PutFrontend(
      kernel::ServiceKey(IpBe(write.addr), PortBe(write.port), write.proto,
                         write.scope),
      value);
}

}  // namespace switchyard::packet
