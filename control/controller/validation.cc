// SPDX-License-Identifier: Apache-2.0
#include "control/controller/validation.h"

#include <arpa/inet.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "control/common/apply_limits.h"
#include "control/common/ipv4.h"
#include "control/controller/metadata_rules.h"
#include "control/controller/objects.h"

namespace switchyard::controller {
namespace {

constexpr int kMaxEndpointsPerSlice = 1000;  // Kubernetes' limit
constexpr int kMaxAddressesPerEndpoint = 100;
constexpr int kMaxPortsPerSlice = 100;

bool IsAlnum(char c) {
  return absl::ascii_isdigit(c) || absl::ascii_islower(c);
}

std::string Quote(absl::string_view text) {
  return absl::StrCat("\"", text, "\"");
}

// Errors about one object, all prefixed with its name.
class ObjectErrors {
 public:
  ObjectErrors(v1::Kind kind, const v1::ObjectMeta& meta) {
    ref_.set_kind(kind);
    ref_.set_namespace_(meta.namespace_());
    ref_.set_name(meta.name().empty() ? "<no name>" : meta.name());
  }
  absl::Status Invalid(absl::string_view field,
                       absl::string_view problem) const {
    return FieldError(ref_, field, problem);
  }
  // `value` as a port number, 1-65535.
  absl::Status Port(absl::string_view field, int64_t value) const {
    if (value >= 1 && value <= 65535) return absl::OkStatus();
    return Invalid(field, absl::StrCat(value, " is outside 1-65535"));
  }
  // `text` as an IPv4 address (host order).
  absl::StatusOr<uint32_t> Ipv4(absl::string_view field,
                                absl::string_view text) const {
    absl::StatusOr<uint32_t> addr = ParseIpv4(text);
    if (!addr.ok()) return Invalid(field, addr.status().message());
    return ntohl(*addr);
  }
  // Any IP address, v4 or v6: nodes may be dual-stack even though the
  // dataplane serves IPv4 only, and their addresses are informational.
  absl::Status AnyIp(absl::string_view field, absl::string_view text) const {
    std::string copy(text);
    unsigned char buf[16];
    if (inet_pton(AF_INET, copy.c_str(), buf) == 1 ||
        inet_pton(AF_INET6, copy.c_str(), buf) == 1) {
      return absl::OkStatus();
    }
    return Invalid(field, absl::StrCat("'", text, "' is not an IP address"));
  }
  absl::Status AnyCidr(absl::string_view field, absl::string_view text) const {
    size_t slash = text.find('/');
    int prefix = -1;
    if (slash != text.npos) {
      absl::string_view len = text.substr(slash + 1);
      if (!len.empty() && len.size() <= 3 &&
          len.find_first_not_of("0123456789") == len.npos) {
        (void)absl::SimpleAtoi(len, &prefix);
      }
      std::string addr(text.substr(0, slash));
      unsigned char buf[16];
      if (inet_pton(AF_INET, addr.c_str(), buf) == 1 && prefix >= 0 &&
          prefix <= 32) {
        return absl::OkStatus();
      }
      if (inet_pton(AF_INET6, addr.c_str(), buf) == 1 && prefix >= 0 &&
          prefix <= 128) {
        return absl::OkStatus();
      }
    }
    return Invalid(field, absl::StrCat("'", text, "' is not a CIDR"));
  }
  absl::Status Protocol(absl::string_view field, std::string& protocol) const {
    if (protocol.empty()) protocol = "TCP";
    if (protocol == "TCP" || protocol == "UDP" || protocol == "SCTP") {
      return absl::OkStatus();
    }
    return Invalid(
        field, absl::StrCat(Quote(protocol), " is not one of TCP, UDP, SCTP"));
  }
  const v1::ObjectRef& ref() const { return ref_; }

 private:
  v1::ObjectRef ref_;
};

// Kubernetes refuses these as endpoint and external IPs: traffic to them
// would stay on the node that handles it (loopback), never leave the link
// (link-local) or mean "any" (unspecified). An endpoint there would let a
// slice writer point a service at the node itself.
std::optional<const char*> SpecialAddress(uint32_t host) {
  if (host == 0) return "the unspecified address";
  if (host >> 24 == 127) return "a loopback address";
  if (host >> 16 == 0xa9fe) return "a link-local address";
  if (host >> 8 == 0xe00000) return "a link-local multicast address";
  return std::nullopt;
}

// `field` makes the field's name, called only on error: slices carry
// thousands of addresses and naming each one up front was most of the cost
// of validating them.
template <typename FieldFn>
absl::Status CheckUsableIpv4(const ObjectErrors& errors, FieldFn field,
                             absl::string_view text) {
  absl::StatusOr<uint32_t> addr = ParseIpv4(text);
  if (!addr.ok()) return errors.Invalid(field(), addr.status().message());
  if (std::optional<const char*> special = SpecialAddress(ntohl(*addr))) {
    return errors.Invalid(field(), absl::StrCat(text, " is ", *special,
                                                ", which cannot be used here"));
  }
  return absl::OkStatus();
}

// metadata: name, namespace, labels, annotations. Service names are
// DNS-1035 labels because they become DNS labels (web.default.svc), which
// start with a letter; other kinds allow dotted subdomains.
absl::Status CheckMeta(const ObjectErrors& errors, const v1::ObjectMeta& meta,
                       bool namespaced, bool name_is_label) {
  if (meta.name().empty())
    return errors.Invalid("metadata.name", "is required");
  if (name_is_label ? !IsDns1035Label(meta.name())
                    : !IsDns1123Subdomain(meta.name())) {
    return errors.Invalid(
        "metadata.name",
        absl::StrCat(Quote(meta.name()), " is not a valid name (",
                     name_is_label ? "DNS-1035 label" : "DNS-1123 subdomain",
                     ": lowercase letters, digits and '-'",
                     name_is_label ? ", at most 63" : " and '.', at most 253",
                     " characters, starting with a ",
                     name_is_label ? "letter" : "letter or digit",
                     " and ending alphanumeric)"));
  }
  if (namespaced && !IsDns1123Label(meta.namespace_())) {
    return errors.Invalid(
        "metadata.namespace",
        absl::StrCat(Quote(meta.namespace_()),
                     " is not a valid namespace (DNS-1123 label)"));
  }
  if (absl::Status s =
          CheckLabels(errors.ref(), "metadata.labels", meta.labels());
      !s.ok()) {
    return s;
  }
  return CheckAnnotations(errors.ref(), meta.annotations());
}

absl::Status CheckNodePortRange(const ServiceRules& rules,
                                const ObjectErrors& errors,
                                absl::string_view field, int value) {
  if (absl::Status s = errors.Port(field, value); !s.ok()) return s;
  if (value < rules.node_port_min || value > rules.node_port_max) {
    return errors.Invalid(
        field, absl::StrCat(value, " is outside the node port range ",
                            rules.node_port_min, "-", rules.node_port_max));
  }
  return absl::OkStatus();
}

absl::Status NormalizeClusterIP(const ServiceRules& rules,
                                const ObjectErrors& errors,
                                v1::ServiceSpec& spec) {
  const std::string& type = spec.type();
  // Kubernetes accepts the address in either field; clusterIPs is the
  // dual-stack list whose first entry is clusterIP.
  if (spec.cluster_ip().empty() && spec.cluster_ips_size() > 0) {
    spec.set_cluster_ip(spec.cluster_ips(0));
  }
  if (spec.cluster_ips_size() > 1) {
    return errors.Invalid("spec.clusterIPs",
                          "dual-stack services are not supported yet");
  }
  if (spec.cluster_ips_size() == 1 &&
      spec.cluster_ips(0) != spec.cluster_ip()) {
    return errors.Invalid(
        "spec.clusterIPs[0]",
        absl::StrCat(Quote(spec.cluster_ips(0)), " must equal spec.clusterIP ",
                     Quote(spec.cluster_ip())));
  }
  const std::string& ip = spec.cluster_ip();
  if (type == kTypeExternalName) {
    if (!ip.empty()) {
      return errors.Invalid("spec.clusterIP",
                            "must not be set for ExternalName services");
    }
    return absl::OkStatus();
  }
  if (ip.empty()) return absl::OkStatus();  // the store allocates one
  if (ip == kClusterIPNone) {
    if (type != kTypeClusterIP) {
      return errors.Invalid(
          "spec.clusterIP",
          absl::StrCat("\"None\" (headless) is not allowed for ", type,
                       " services"));
    }
    return absl::OkStatus();
  }
  absl::StatusOr<uint32_t> host = errors.Ipv4("spec.clusterIP", ip);
  if (!host.ok()) return host.status();
  // The network and broadcast addresses are never handed out, as in
  // Kubernetes' allocator, so they are refused when asked for as well.
  const Ipv4Cidr& cidr = rules.service_cidr;
  uint32_t first = cidr.network() + 1;
  uint32_t last = static_cast<uint32_t>(cidr.network() + cidr.size() - 2);
  if (*host < first || *host > last) {
    return errors.Invalid(
        "spec.clusterIP",
        absl::StrCat(ip, " is not a usable address of the service CIDR ",
                     rules.service_cidr_text));
  }
  return absl::OkStatus();
}

absl::Status NormalizeIpFamilies(const ObjectErrors& errors,
                                 v1::ServiceSpec& spec) {
  if (spec.ip_families_size() > 1) {
    return errors.Invalid("spec.ipFamilies",
                          "dual-stack services are not supported yet");
  }
  for (int i = 0; i < spec.ip_families_size(); ++i) {
    const std::string& family = spec.ip_families(i);
    std::string field = absl::StrCat("spec.ipFamilies[", i, "]");
    if (family == "IPv6") {
      return errors.Invalid(field, "IPv6 services are not supported yet");
    }
    if (family != "IPv4") {
      return errors.Invalid(
          field, absl::StrCat(Quote(family), " is not IPv4 or IPv6"));
    }
  }
  const std::string& policy = spec.ip_family_policy();
  if (policy == "RequireDualStack") {
    return errors.Invalid("spec.ipFamilyPolicy",
                          "dual-stack services are not supported yet");
  }
  if (!policy.empty() && policy != "SingleStack" &&
      policy != "PreferDualStack") {
    return errors.Invalid(
        "spec.ipFamilyPolicy",
        absl::StrCat(Quote(policy),
                     " is not one of SingleStack, PreferDualStack, "
                     "RequireDualStack"));
  }
  if (spec.type() != kTypeExternalName) {
    if (spec.ip_families_size() == 0) spec.add_ip_families("IPv4");
    if (policy.empty()) spec.set_ip_family_policy("SingleStack");
  }
  return absl::OkStatus();
}

absl::Status NormalizePorts(const ServiceRules& rules,
                            const ObjectErrors& errors, v1::ServiceSpec& spec) {
  const std::string& type = spec.type();
  bool node_port_type = type == kTypeNodePort || type == kTypeLoadBalancer;
  if (spec.ports_size() == 0 && type != kTypeExternalName &&
      spec.cluster_ip() != kClusterIPNone) {
    return errors.Invalid(
        "spec.ports",
        "at least one port is required (only headless and ExternalName "
        "services may have none)");
  }
  absl::flat_hash_map<std::string, int> names;
  absl::flat_hash_map<std::pair<int, std::string>, int> ports;
  absl::flat_hash_map<std::pair<int, std::string>, int> node_ports;
  for (int i = 0; i < spec.ports_size(); ++i) {
    v1::ServicePort& port = *spec.mutable_ports(i);
    std::string field = absl::StrCat("spec.ports[", i, "]");
    if (port.name().empty()) {
      // Kubernetes' rule: EndpointSlices match service ports by name, so
      // with several ports every one needs a name.
      if (spec.ports_size() > 1) {
        return errors.Invalid(absl::StrCat(field, ".name"),
                              "is required when a service has several ports");
      }
    } else {
      if (!IsDns1123Label(port.name())) {
        return errors.Invalid(
            absl::StrCat(field, ".name"),
            absl::StrCat(Quote(port.name()),
                         " is not a valid port name (DNS-1123 label)"));
      }
      auto [it, inserted] = names.try_emplace(port.name(), i);
      if (!inserted) {
        return errors.Invalid(
            absl::StrCat(field, ".name"),
            absl::StrCat("duplicate name ", Quote(port.name()),
                         " (also spec.ports[", it->second, "])"));
      }
    }
    if (absl::Status s = errors.Protocol(absl::StrCat(field, ".protocol"),
                                         *port.mutable_protocol());
        !s.ok()) {
      return s;
    }
    if (absl::Status s = errors.Port(absl::StrCat(field, ".port"), port.port());
        !s.ok()) {
      return s;
    }
    v1::IntOrString& target = *port.mutable_target_port();
    if (target.value_case() == v1::IntOrString::kName) {
      if (!IsIanaServiceName(target.name())) {
        return errors.Invalid(
            absl::StrCat(field, ".targetPort"),
            absl::StrCat(Quote(target.name()),
                         " is not a valid port name (IANA service name: at "
                         "most 15 lowercase letters, digits and '-')"));
      }
    } else if (target.number() == 0) {
      target.set_number(port.port());  // Kubernetes' default
    } else if (absl::Status s = errors.Port(absl::StrCat(field, ".targetPort"),
                                            target.number());
               !s.ok()) {
      return s;
    }
    auto [it, inserted] =
        ports.try_emplace(std::make_pair(port.port(), port.protocol()), i);
    if (!inserted) {
      return errors.Invalid(
          field,
          absl::StrCat("duplicate port ", port.port(), "/", port.protocol(),
                       " (also spec.ports[", it->second, "])"));
    }
    if (port.node_port() != 0) {
      std::string np_field = absl::StrCat(field, ".nodePort");
      if (absl::Status s = errors.Port(np_field, port.node_port()); !s.ok()) {
        return s;
      }
      if (!node_port_type) {
        return errors.Invalid(
            np_field, absl::StrCat("may not be set when type is ", type));
      }
      if (absl::Status s =
              CheckNodePortRange(rules, errors, np_field, port.node_port());
          !s.ok()) {
        return s;
      }
      // One nodePort may serve TCP and UDP, but not one protocol twice.
      auto [np_it, np_inserted] = node_ports.try_emplace(
          std::make_pair(port.node_port(), port.protocol()), i);
      if (!np_inserted) {
        return errors.Invalid(
            np_field, absl::StrCat("duplicate nodePort ", port.node_port(), "/",
                                   port.protocol(), " (also spec.ports[",
                                   np_it->second, "])"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status NormalizePolicies(const ServiceRules& rules,
                               const ObjectErrors& errors,
                               v1::ServiceSpec& spec) {
  const std::string& type = spec.type();
  bool node_port_type = type == kTypeNodePort || type == kTypeLoadBalancer;
  bool externally_accessible = node_port_type || spec.external_ips_size() > 0;
  for (auto [field, policy] :
       {std::make_pair("spec.externalTrafficPolicy",
                       spec.mutable_external_traffic_policy()),
        std::make_pair("spec.internalTrafficPolicy",
                       spec.mutable_internal_traffic_policy())}) {
    if (!policy->empty() && *policy != "Cluster" && *policy != kPolicyLocal) {
      return errors.Invalid(
          field, absl::StrCat(Quote(*policy), " is not Cluster or Local"));
    }
  }
  std::string& etp = *spec.mutable_external_traffic_policy();
  if (externally_accessible) {
    if (etp.empty()) etp = "Cluster";
  } else if (etp == kPolicyLocal) {
    return errors.Invalid("spec.externalTrafficPolicy",
                          "Local may only be set for NodePort and "
                          "LoadBalancer services or services with externalIPs");
  } else {
    // "Cluster" left over from when the service was externally reachable:
    // a default, meaningless now, and Kubernetes drops it the same way.
    etp.clear();
  }
  if (type != kTypeExternalName && spec.internal_traffic_policy().empty()) {
    spec.set_internal_traffic_policy("Cluster");
  }
  if (spec.health_check_node_port() != 0) {
    const char* field = "spec.healthCheckNodePort";
    if (absl::Status s = errors.Port(field, spec.health_check_node_port());
        !s.ok()) {
      return s;
    }
    // Only load balancers probe nodes, so only they get one (Kubernetes
    // refuses it on a NodePort Service too).
    if (type != kTypeLoadBalancer || etp != kPolicyLocal) {
      return errors.Invalid(field,
                            "may only be set when type is LoadBalancer and "
                            "externalTrafficPolicy is Local");
    }
    if (absl::Status s = CheckNodePortRange(rules, errors, field,
                                            spec.health_check_node_port());
        !s.ok()) {
      return s;
    }
  }

  if (spec.session_affinity().empty()) spec.set_session_affinity("None");
  const std::string& affinity = spec.session_affinity();
  if (affinity == "ClientIP") {
    // Unset means Kubernetes' default; a given 0 is refused as it is there
    // (it used to become the default silently).
    v1::SessionAffinityConfig& config = *spec.mutable_session_affinity_config();
    if (!config.has_client_ip_timeout_seconds()) {
      config.set_client_ip_timeout_seconds(kDefaultAffinityTimeoutSeconds);
    }
    int32_t timeout = config.client_ip_timeout_seconds();
    if (timeout < 1 || timeout > kMaxAffinityTimeoutSeconds) {
      return errors.Invalid(
          "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
          absl::StrCat(timeout, " is outside 1-", kMaxAffinityTimeoutSeconds));
    }
  } else if (affinity == "None") {
    if (spec.has_session_affinity_config()) {
      return errors.Invalid("spec.sessionAffinityConfig",
                            "may only be set when sessionAffinity is ClientIP");
    }
  } else {
    return errors.Invalid(
        "spec.sessionAffinity",
        absl::StrCat(Quote(affinity), " is not None or ClientIP"));
  }
  return absl::OkStatus();
}

absl::Status NormalizeExternalAddresses(const ObjectErrors& errors,
                                        v1::Service& service) {
  v1::ServiceSpec& spec = *service.mutable_spec();
  for (int i = 0; i < spec.external_ips_size(); ++i) {
    if (absl::Status s = CheckUsableIpv4(
            errors, [i] { return absl::StrCat("spec.externalIPs[", i, "]"); },
            spec.external_ips(i));
        !s.ok()) {
      return s;
    }
  }
  if (!spec.load_balancer_ip().empty()) {
    if (absl::StatusOr<uint32_t> ip =
            errors.Ipv4("spec.loadBalancerIP", spec.load_balancer_ip());
        !ip.ok()) {
      return ip.status();
    }
  }
  if (spec.load_balancer_source_ranges_size() > 0 &&
      spec.type() != kTypeLoadBalancer) {
    return errors.Invalid("spec.loadBalancerSourceRanges",
                          "may only be set when type is LoadBalancer");
  }
  for (int i = 0; i < spec.load_balancer_source_ranges_size(); ++i) {
    std::string& range = *spec.mutable_load_balancer_source_ranges(i);
    // Kubernetes trims these; people paste them with spaces.
    absl::StripAsciiWhitespace(&range);
    if (absl::StatusOr<Ipv4Cidr> cidr = ParseIpv4Cidr(range); !cidr.ok()) {
      return errors.Invalid(
          absl::StrCat("spec.loadBalancerSourceRanges[", i, "]"),
          cidr.status().message());
    }
  }
  for (int i = 0; i < service.status().load_balancer_ingress_size(); ++i) {
    const v1::LoadBalancerIngress& ingress =
        service.status().load_balancer_ingress(i);
    if (ingress.ip().empty()) continue;
    if (absl::StatusOr<uint32_t> ip =
            errors.Ipv4(absl::StrCat("status.loadBalancer.ingress[", i, "].ip"),
                        ingress.ip());
        !ip.ok()) {
      return ip.status();
    }
  }
  return absl::OkStatus();
}

template <typename Objects>
absl::Status CheckWriteLimitsOf(const Objects& objects) {
  if (objects.size() > static_cast<size_t>(kMaxObjectsPerApply)) {
    return absl::InvalidArgumentError(absl::StrCat(
        objects.size(), " objects in one apply exceed the limit of ",
        kMaxObjectsPerApply, " objects per apply; apply them in parts"));
  }
  int64_t bytes = 0;
  for (const v1::Object& object : objects) {
    bytes += static_cast<int64_t>(object.ByteSizeLong());
    if (bytes > kMaxApplyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("the objects of one apply exceed the limit of ",
                       kMaxApplyBytes, " bytes per apply (encoded) at ",
                       Describe(RefOf(object)), "; apply them in parts"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsDns1123Label(absl::string_view text) {
  if (text.empty() || text.size() > 63) return false;
  if (!IsAlnum(text.front()) || !IsAlnum(text.back())) return false;
  for (char c : text) {
    if (!IsAlnum(c) && c != '-') return false;
  }
  return true;
}

bool IsDns1123Subdomain(absl::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = text.find('.', start);
    absl::string_view label = text.substr(start, dot - start);
    // Subdomain labels follow the label rules except the 63 limit, which
    // Kubernetes does not apply per label here.
    if (label.empty() || !IsAlnum(label.front()) || !IsAlnum(label.back())) {
      return false;
    }
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
    }
    if (dot == text.npos) return true;
    start = dot + 1;
  }
}

bool IsIanaServiceName(absl::string_view text) {
  if (text.empty() || text.size() > 15) return false;
  if (text.front() == '-' || text.back() == '-') return false;
  if (text.find("--") != text.npos) return false;
  bool has_letter = false;
  for (char c : text) {
    if (!IsAlnum(c) && c != '-') return false;
    has_letter |= absl::ascii_islower(c);
  }
  return has_letter;
}

absl::Status FieldError(const v1::ObjectRef& ref, absl::string_view field,
                        absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(Describe(ref), ": ", field, ": ", problem));
}

absl::Status NormalizeService(const ServiceRules& rules, v1::Service& service) {
  v1::ObjectMeta& meta = *service.mutable_metadata();
  if (meta.namespace_().empty()) meta.set_namespace_(kDefaultNamespace);
  ObjectErrors errors(v1::KIND_SERVICE, meta);
  if (absl::Status s = CheckMeta(errors, meta, /*namespaced=*/true,
                                 /*name_is_label=*/true);
      !s.ok()) {
    return s;
  }
  v1::ServiceSpec& spec = *service.mutable_spec();
  if (absl::Status s =
          CheckLabels(errors.ref(), "spec.selector", spec.selector());
      !s.ok()) {
    return s;
  }
  if (spec.type().empty()) spec.set_type(kTypeClusterIP);
  const std::string& type = spec.type();
  if (type != kTypeClusterIP && type != kTypeNodePort &&
      type != kTypeLoadBalancer && type != kTypeExternalName) {
    return errors.Invalid(
        "spec.type",
        absl::StrCat(Quote(type),
                     " is not one of ClusterIP, NodePort, LoadBalancer, "
                     "ExternalName"));
  }
  if (type == kTypeExternalName) {
    std::string name = spec.external_name();
    if (name.empty()) {
      return errors.Invalid("spec.externalName",
                            "is required for ExternalName services");
    }
    if (name.back() == '.') name.pop_back();  // fully qualified form
    if (!IsDns1123Subdomain(name)) {
      return errors.Invalid(
          "spec.externalName",
          absl::StrCat(Quote(spec.external_name()), " is not a DNS name"));
    }
  }
  for (auto step : {NormalizeClusterIP, NormalizePorts, NormalizePolicies}) {
    if (absl::Status s = step(rules, errors, spec); !s.ok()) return s;
  }
  if (absl::Status s = NormalizeIpFamilies(errors, spec); !s.ok()) return s;
  return NormalizeExternalAddresses(errors, service);
}

absl::Status NormalizeEndpointSlice(v1::EndpointSlice& slice) {
  v1::ObjectMeta& meta = *slice.mutable_metadata();
  if (meta.namespace_().empty()) meta.set_namespace_(kDefaultNamespace);
  ObjectErrors errors(v1::KIND_ENDPOINT_SLICE, meta);
  if (absl::Status s = CheckMeta(errors, meta, /*namespaced=*/true,
                                 /*name_is_label=*/false);
      !s.ok()) {
    return s;
  }
  const std::string label_field =
      absl::StrCat("metadata.labels[", kServiceNameLabel, "]");
  auto label = meta.labels().find(kServiceNameLabel);
  if (label == meta.labels().end() || label->second.empty()) {
    return errors.Invalid(label_field,
                          "is required: it names the slice's Service");
  }
  if (!IsDns1123Label(label->second)) {
    return errors.Invalid(label_field, absl::StrCat(Quote(label->second),
                                                    " is not a Service name"));
  }
  const std::string& type = slice.address_type();
  if (type.empty()) {
    return errors.Invalid("addressType", "is required (IPv4, IPv6 or FQDN)");
  }
  if (type == "IPv6" || type == "FQDN") {
    return errors.Invalid(
        "addressType", absl::StrCat(type, " endpoints are not supported yet"));
  }
  if (type != "IPv4") {
    return errors.Invalid(
        "addressType",
        absl::StrCat(Quote(type), " is not one of IPv4, IPv6, FQDN"));
  }
  if (slice.endpoints_size() > kMaxEndpointsPerSlice) {
    return errors.Invalid(
        "endpoints", absl::StrCat(slice.endpoints_size(),
                                  " endpoints exceed Kubernetes' limit of ",
                                  kMaxEndpointsPerSlice, " per slice"));
  }
  for (int i = 0; i < slice.endpoints_size(); ++i) {
    const v1::Endpoint& endpoint = slice.endpoints(i);
    auto field = [i] { return absl::StrCat("endpoints[", i, "].addresses"); };
    if (endpoint.addresses_size() == 0) {
      return errors.Invalid(field(), "at least one address is required");
    }
    if (endpoint.addresses_size() > kMaxAddressesPerEndpoint) {
      return errors.Invalid(
          field(),
          absl::StrCat("more than ", kMaxAddressesPerEndpoint, " addresses"));
    }
    for (int j = 0; j < endpoint.addresses_size(); ++j) {
      if (absl::Status s = CheckUsableIpv4(
              errors, [&] { return absl::StrCat(field(), "[", j, "]"); },
              endpoint.addresses(j));
          !s.ok()) {
        return s;
      }
    }
  }
  if (slice.ports_size() > kMaxPortsPerSlice) {
    return errors.Invalid(
        "ports", absl::StrCat("more than ", kMaxPortsPerSlice, " ports"));
  }
  absl::flat_hash_map<std::string, int> names;
  for (int i = 0; i < slice.ports_size(); ++i) {
    v1::EndpointPort& port = *slice.mutable_ports(i);
    std::string field = absl::StrCat("ports[", i, "]");
    if (!port.name().empty() && !IsDns1123Label(port.name())) {
      return errors.Invalid(
          absl::StrCat(field, ".name"),
          absl::StrCat(Quote(port.name()),
                       " is not a valid port name (DNS-1123 label)"));
    }
    auto [it, inserted] = names.try_emplace(port.name(), i);
    if (!inserted) {
      return errors.Invalid(absl::StrCat(field, ".name"),
                            absl::StrCat("duplicate name ", Quote(port.name()),
                                         " (also ports[", it->second, "])"));
    }
    if (absl::Status s = errors.Protocol(absl::StrCat(field, ".protocol"),
                                         *port.mutable_protocol());
        !s.ok()) {
      return s;
    }
    if (absl::Status s = errors.Port(absl::StrCat(field, ".port"), port.port());
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status NormalizeNode(v1::Node& node) {
  v1::ObjectMeta& meta = *node.mutable_metadata();
  meta.clear_namespace_();  // cluster-scoped: Kubernetes ignores it too
  ObjectErrors errors(v1::KIND_NODE, meta);
  if (absl::Status s = CheckMeta(errors, meta, /*namespaced=*/false,
                                 /*name_is_label=*/false);
      !s.ok()) {
    return s;
  }
  if (!node.pod_cidr().empty()) {
    if (absl::Status s = errors.AnyCidr("spec.podCIDR", node.pod_cidr());
        !s.ok()) {
      return s;
    }
  }
  for (int i = 0; i < node.pod_cidrs_size(); ++i) {
    if (absl::Status s = errors.AnyCidr(absl::StrCat("spec.podCIDRs[", i, "]"),
                                        node.pod_cidrs(i));
        !s.ok()) {
      return s;
    }
  }
  // Kubernetes keeps podCIDR == podCIDRs[0]; fill whichever is missing.
  if (node.pod_cidr().empty() && node.pod_cidrs_size() > 0) {
    node.set_pod_cidr(node.pod_cidrs(0));
  } else if (!node.pod_cidr().empty() && node.pod_cidrs_size() == 0) {
    node.add_pod_cidrs(node.pod_cidr());
  } else if (!node.pod_cidr().empty() && node.pod_cidrs(0) != node.pod_cidr()) {
    return errors.Invalid(
        "spec.podCIDRs[0]",
        absl::StrCat(Quote(node.pod_cidrs(0)), " must equal spec.podCIDR ",
                     Quote(node.pod_cidr())));
  }
  for (int i = 0; i < node.addresses_size(); ++i) {
    const v1::NodeAddress& address = node.addresses(i);
    std::string field = absl::StrCat("status.addresses[", i, "]");
    const std::string& type = address.type();
    if (type != "InternalIP" && type != "ExternalIP" && type != "Hostname" &&
        type != "InternalDNS" && type != "ExternalDNS") {
      return errors.Invalid(
          absl::StrCat(field, ".type"),
          absl::StrCat(Quote(type),
                       " is not one of InternalIP, ExternalIP, Hostname, "
                       "InternalDNS, ExternalDNS"));
    }
    if (address.address().empty()) {
      return errors.Invalid(absl::StrCat(field, ".address"), "is required");
    }
    if (type == "InternalIP" || type == "ExternalIP") {
      if (absl::Status s =
              errors.AnyIp(absl::StrCat(field, ".address"), address.address());
          !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckWriteLimits(absl::Span<const v1::Object> objects) {
  return CheckWriteLimitsOf(objects);
}

absl::Status CheckWriteLimits(
    const google::protobuf::RepeatedPtrField<v1::Object>& objects) {
  return CheckWriteLimitsOf(objects);
}

absl::Status NormalizeObject(const ServiceRules& rules, v1::Object& object) {
  switch (object.kind_case()) {
    case v1::Object::kService:
      return NormalizeService(rules, *object.mutable_service());
    case v1::Object::kEndpointSlice:
      return NormalizeEndpointSlice(*object.mutable_endpoint_slice());
    case v1::Object::kNode:
      return NormalizeNode(*object.mutable_node());
    case v1::Object::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "no object set (service, endpoint_slice or node)");
}

}  // namespace switchyard::controller
