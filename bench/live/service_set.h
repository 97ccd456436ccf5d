// SPDX-License-Identifier: Apache-2.0
// The services every mode is programmed with: S ClusterIP service ports,
// each with E endpoints spread round-robin over the backends' address
// ranges. One description, three programmings (Switchyard's maps,
// kube-proxy's iptables layout, its nftables layout), so the modes are
// compared on exactly the same services.
#ifndef SWITCHYARD_BENCH_LIVE_SERVICE_SET_H_
#define SWITCHYARD_BENCH_LIVE_SERVICE_SET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace switchyard::bench::live {

inline constexpr uint16_t kServicePort = 80;
inline constexpr uint16_t kTargetPort = 8080;
// Service s gets NodePort kNodePortBase + s (beyond Kubernetes' default
// 30000-32767, which holds 2,768: a benchmark needs more), up to
// kMaxNodePort; services past that have none.
inline constexpr uint16_t kNodePortBase = 30000;
inline constexpr uint16_t kMaxNodePort = 39999;

struct Endpoint {
  uint32_t addr = 0;  // host order
  uint16_t port = 0;
};

struct ServicePort {
  std::string name;         // "bench/svc-17", as namespace/name
  std::string port_name;    // "p80"
  uint32_t cluster_ip = 0;  // host order, in 10.96.0.0/12
  uint16_t port = 0;
  uint8_t proto = 0;       // IPPROTO_UDP or IPPROTO_TCP
  uint16_t node_port = 0;  // 0: none (type ClusterIP)
  std::vector<Endpoint> endpoints;
};

// Service s gets ClusterIP 10.96.0.0 + s + 1 and NodePort kNodePortBase + s
// (type NodePort, externalTrafficPolicy Cluster); its endpoint e is number
// s * E + e overall, on backend (number mod backends).
absl::StatusOr<std::vector<ServicePort>> BuildServices(int services,
                                                       int endpoints,
                                                       int backends,
                                                       uint8_t proto);

std::string IpText(uint32_t host_order);

}  // namespace switchyard::bench::live

#endif  // SWITCHYARD_BENCH_LIVE_SERVICE_SET_H_
