// SPDX-License-Identifier: Apache-2.0
#include "control/controller/service_warnings.h"

#include "absl/strings/str_cat.h"
#include "control/translate/lb_policy.h"

namespace switchyard::controller {
namespace {

std::string Prefix(const v1::Service& service) {
  const v1::ObjectMeta& meta = service.metadata();
  return absl::StrCat("Service ",
                      meta.namespace_().empty() ? "default" : meta.namespace_(),
                      "/", meta.name(), ": ");
}

// Ports the datapath has no translation for: accepted (the API allows
// them) and given a frontend nowhere.
void WarnProtocols(const v1::Service& service, std::vector<std::string>& out) {
  const auto& ports = service.spec().ports();
  for (int i = 0; i < ports.size(); ++i) {
    if (ports[i].protocol() == "SCTP") {
      out.push_back(absl::StrCat(Prefix(service), "spec.ports[", i,
                                 "].protocol: SCTP is not served yet; port ",
                                 ports[i].port(), " is not reachable"));
    }
  }
}

// PreferClose (topology-aware routing by zone hints) is implemented;
// newer values (PreferSameZone, PreferSameNode) are not.
void WarnTrafficDistribution(const v1::Service& service,
                             std::vector<std::string>& out) {
  const std::string& value = service.spec().traffic_distribution();
  if (value.empty() || value == "PreferClose") return;
  out.push_back(absl::StrCat(Prefix(service),
                             "spec.trafficDistribution: ", value,
                             " is not implemented; only PreferClose is. New "
                             "connections use endpoints in every zone"));
}

// Only IPv4 is served: a Service that would be dual-stack where it can
// is single-stack here.
void WarnFamilies(const v1::Service& service, std::vector<std::string>& out) {
  if (service.spec().ip_family_policy() == "PreferDualStack") {
    out.push_back(absl::StrCat(
        Prefix(service),
        "spec.ipFamilyPolicy: PreferDualStack is served as IPv4 single-stack "
        "(IPv6 is not implemented yet)"));
  }
}

// Affinity remembers the slot a client's flow chose, and Maglev chooses
// no slot: with both, the datapath keeps the affinity and chooses new
// clients' endpoints at random (bpf/lib/lb.h).
void WarnAffinityWithMaglev(const v1::Service& service,
                            std::vector<std::string>& out) {
  const auto& annotations = service.metadata().annotations();
  auto it = annotations.find(translate::kLbPolicyAnnotation);
  if (it == annotations.end() || it->second != "maglev" ||
      service.spec().session_affinity() != "ClientIP") {
    return;
  }
  out.push_back(absl::StrCat(
      Prefix(service), "metadata.annotations[", translate::kLbPolicyAnnotation,
      "]: maglev is not used with sessionAffinity: ClientIP; a new client's "
      "endpoint is chosen at random, then kept by affinity"));
}

}  // namespace

std::vector<std::string> ServiceWarnings(const v1::Service& service) {
  std::vector<std::string> out;
  WarnProtocols(service, out);
  WarnTrafficDistribution(service, out);
  WarnFamilies(service, out);
  WarnAffinityWithMaglev(service, out);
  return out;
}

std::vector<std::string> ServiceWarnings(
    const std::vector<v1::Object>& objects) {
  std::vector<std::string> out;
  for (const v1::Object& object : objects) {
    if (!object.has_service()) continue;
    std::vector<std::string> one = ServiceWarnings(object.service());
    out.insert(out.end(), one.begin(), one.end());
  }
  return out;
}

}  // namespace switchyard::controller
