// SPDX-License-Identifier: Apache-2.0
#include "control/names/protocol_names.h"

#include <netinet/in.h>

#include "absl/strings/str_cat.h"

namespace switchyard::names {

std::string ProtoName(uint8_t proto) {
  // Upper case, as Kubernetes writes a ServicePort's protocol: a frontend
  // shown by yardctl or labelled in a metric reads like the Service that
  // made it. ICMP is never a service's protocol, but traces and ICMP
  // errors carry it.
  switch (proto) {
    case IPPROTO_TCP:
      return "TCP";
    case IPPROTO_UDP:
      return "UDP";
    case IPPROTO_ICMP:
      return "ICMP";
    default:
      return absl::StrCat(proto);
  }
}

}  // namespace switchyard::names
