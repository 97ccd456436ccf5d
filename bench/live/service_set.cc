// SPDX-License-Identifier: Apache-2.0
#include "bench/live/service_set.h"

#include <netinet/in.h>

#include "absl/strings/str_cat.h"
#include "bench/live/live_gen_abi.h"
#include "bench/live/topology.h"

namespace switchyard::bench::live {

// The backends' sinks count frames to the UDP target port.
static_assert(kTargetPort == YBL_TARGET_PORT);

std::string IpText(uint32_t a) {
  return absl::StrCat(a >> 24, ".", (a >> 16) & 0xff, ".", (a >> 8) & 0xff, ".",
                      a & 0xff);
}

absl::StatusOr<std::vector<ServicePort>> BuildServices(int services,
                                                       int endpoints,
                                                       int backends,
                                                       uint8_t proto) {
  if (services < 1 || services > (1 << 20) - 2 || endpoints < 1 ||
      backends < 1) {
    return absl::InvalidArgumentError("services, endpoints, backends >= 1");
  }
  // Each backend owns a /16: host numbers 1..65534.
  const int64_t per_backend =
      (static_cast<int64_t>(services) * endpoints + backends - 1) / backends;
  if (per_backend > 65534) {
    return absl::InvalidArgumentError(
        absl::StrCat(services, " x ", endpoints, " endpoints do not fit ",
                     backends, " backends' /16 ranges; add backends"));
  }
  const uint32_t service_base = (10u << 24) | (96u << 16);
  std::vector<ServicePort> out;
  out.reserve(services);
  for (int s = 0; s < services; ++s) {
    ServicePort sp;
    sp.name = absl::StrCat("bench/svc-", s);
    sp.port_name = "p80";
    sp.cluster_ip = service_base + static_cast<uint32_t>(s) + 1;
    sp.port = kServicePort;
    sp.proto = proto;
    if (s <= kMaxNodePort - kNodePortBase) {
      sp.node_port = static_cast<uint16_t>(kNodePortBase + s);
    }
    for (int e = 0; e < endpoints; ++e) {
      const int64_t n = static_cast<int64_t>(s) * endpoints + e;
      const int b = static_cast<int>(n % backends);
      const uint32_t host = static_cast<uint32_t>(n / backends) + 1;
      sp.endpoints.push_back({Topology::EndpointBase(b) + host, kTargetPort});
    }
    out.push_back(std::move(sp));
  }
  return out;
}

}  // namespace switchyard::bench::live
