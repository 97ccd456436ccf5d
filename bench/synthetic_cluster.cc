// SPDX-License-Identifier: Apache-2.0
#include "bench/synthetic_cluster.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "control/translate/lb_policy.h"

namespace switchyard::bench {
namespace {

std::string Ip(uint32_t host) {
  return absl::StrCat(host >> 24, ".", (host >> 16) & 255, ".",
                      (host >> 8) & 255, ".", host & 255);
}

}  // namespace

v1::Object SyntheticCluster::Service(int i) const {
  v1::Object o;
  v1::Service* s = o.mutable_service();
  s->mutable_metadata()->set_name(absl::StrCat(prefix_, i));
  s->mutable_metadata()->set_namespace_(ns_);
  if (!lb_policy_.empty()) {
    (*s->mutable_metadata()
          ->mutable_annotations())[translate::kLbPolicyAnnotation] = lb_policy_;
  }
  s->mutable_spec()->set_type("ClusterIP");
  v1::ServicePort* p = s->mutable_spec()->add_ports();
  p->set_name("http");
  p->set_port(80);
  p->set_protocol("TCP");
  p->mutable_target_port()->set_number(8080);
  return o;
}

v1::Object SyntheticCluster::Slice(int i, int endpoints, int shift) const {
  v1::Object o;
  v1::EndpointSlice* e = o.mutable_endpoint_slice();
  e->mutable_metadata()->set_name(absl::StrCat(prefix_, i, "-0"));
  e->mutable_metadata()->set_namespace_(ns_);
  (*e->mutable_metadata()->mutable_labels())["kubernetes.io/service-name"] =
      absl::StrCat(prefix_, i);
  e->set_address_type("IPv4");
  v1::EndpointPort* port = e->add_ports();
  port->set_name("http");
  port->set_port(8080);
  port->set_protocol("TCP");
  for (int k = 0; k < endpoints; ++k) {
    uint32_t host = 0x0a800000u + static_cast<uint32_t>(i) * 16 + k;
    if (k == 0 && shift > 0) host = 0x0b000000u + shift;
    v1::Endpoint* ep = e->add_endpoints();
    ep->add_addresses(Ip(host));
    ep->mutable_conditions()->set_ready(true);
    ep->set_node_name("elsewhere");
  }
  return o;
}

}  // namespace switchyard::bench
