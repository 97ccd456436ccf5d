// SPDX-License-Identifier: Apache-2.0
// Kubernetes objects as the API server sends them -> switchyard.v1 objects,
// with the rules that decide which objects this proxy serves:
//   - a Service labelled service.kubernetes.io/service-proxy-name belongs to
//     the proxy it names: served only when that is ours (and, when we have a
//     name, only Services carrying it), as kube-proxy does;
//   - EndpointSlices of headless Services (service.kubernetes.io/headless)
//     and of any address type but IPv4 need no frontend, so are not sent;
//   - dual-stack objects keep their IPv4 half (clusterIPs, externalIPs,
//     load-balancer ingress, node addresses, pod CIDRs); an IPv6-only
//     Service is not served yet (IPv6 is a later issue);
//   - kubectl's last-applied-configuration annotation is dropped: it is the
//     whole object again and would be streamed to every node.
// Pure: no I/O. What the API server allocated (clusterIP, nodePorts) is
// taken as given.
#ifndef SWITCHYARD_CONTROL_KUBE_KUBE_OBJECTS_H_
#define SWITCHYARD_CONTROL_KUBE_KUBE_OBJECTS_H_

#include <optional>
#include <string>
#include <vector>

#include "switchyard/kubejson/objects.pb.h"
#include "switchyard/v1/cluster.pb.h"

namespace switchyard::kube {

inline constexpr char kServiceProxyNameLabel[] =
    "service.kubernetes.io/service-proxy-name";
inline constexpr char kHeadlessLabel[] = "service.kubernetes.io/headless";

struct ServingRules {
  // This proxy's name for the service-proxy-name label; "" serves exactly
  // the Services without that label.
  std::string service_proxy_name;
};

// One object from the API server, converted.
struct Converted {
  v1::ObjectRef ref;
  // Unset when this proxy does not serve the object; `skipped` says why
  // ("labelled for proxy other-proxy").
  std::optional<v1::Object> object;
  std::string skipped;
  std::string resource_version;
  // Parts of a served object left out or marked invalid in conversion (the
  // IPv6 half of a dual-stack Service, a targetPort that is no int32), for
  // the log.
  std::vector<std::string> warnings;
};

Converted Convert(const kubejson::Service& service, const ServingRules& rules);
Converted Convert(const kubejson::EndpointSlice& slice,
                  const ServingRules& rules);
Converted Convert(const kubejson::Node& node, const ServingRules& rules);

}  // namespace switchyard::kube

#endif  // SWITCHYARD_CONTROL_KUBE_KUBE_OBJECTS_H_
