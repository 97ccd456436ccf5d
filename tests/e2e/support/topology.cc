// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/support/topology.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace switchyard::e2e {

absl::Status EnableForwarding(const netns::Namespace& node) {
  for (auto [key, value] : {std::pair{"net.ipv4.ip_forward", "1"},
                            {"net.ipv4.conf.all.rp_filter", "0"},
                            {"net.ipv4.conf.default.rp_filter", "0"}}) {
    if (absl::Status s = node.Sysctl(key, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status WirePod(const netns::Namespace& node, const std::string& host_dev,
                     const netns::Namespace& pod, absl::string_view pod_ip,
                     absl::string_view gateway) {
  const std::string gateway_address = absl::StrCat(gateway, "/32");
  const std::string pod_address = absl::StrCat(pod_ip, "/32");
  // One step at a time: a later step needs the earlier ones (a route needs
  // its device), and the first error is the one worth reporting.
  if (absl::Status s = netns::CreateVeth(node, host_dev, pod, "eth0");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = node.AddAddress(host_dev, gateway_address); !s.ok()) {
    return s;
  }
  if (absl::Status s =
          node.AddRoute(absl::StrCat(pod_address, " dev ", host_dev));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = pod.AddAddress("eth0", pod_address); !s.ok()) return s;
  if (absl::Status s =
          pod.AddRoute(absl::StrCat(gateway_address, " dev eth0 scope link"));
      !s.ok()) {
    return s;
  }
  return pod.AddRoute(absl::StrCat("default via ", gateway, " dev eth0"));
}

absl::StatusOr<std::unique_ptr<netns::Namespace>> CreateNode(
    absl::string_view name) {
  absl::StatusOr<std::unique_ptr<netns::Namespace>> node =
      netns::Namespace::Create(name);
  if (!node.ok()) return node.status();
  if (absl::Status s = EnableForwarding(**node); !s.ok()) return s;
  return node;
}

absl::StatusOr<std::unique_ptr<netns::Namespace>> CreatePod(
    const netns::Namespace& node, absl::string_view name,
    const std::string& host_dev, absl::string_view pod_ip,
    absl::string_view gateway) {
  absl::StatusOr<std::unique_ptr<netns::Namespace>> pod =
      netns::Namespace::Create(name);
  if (!pod.ok()) return pod.status();
  if (absl::Status s = WirePod(node, host_dev, **pod, pod_ip, gateway);
      !s.ok()) {
    return s;
  }
  return pod;
}

}  // namespace switchyard::e2e
