// SPDX-License-Identifier: Apache-2.0
#include "control/ctl/format.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/manifest/manifest.h"
#include "control/manifest/object.h"

namespace switchyard::ctl {
namespace {

constexpr absl::string_view kNone = "<none>";

std::string OrNone(std::string s) {
  return s.empty() ? std::string(kNone) : std::move(s);
}

std::string Protocol(const std::string& protocol) {
  return protocol.empty() ? "TCP" : protocol;
}

}  // namespace

absl::StatusOr<v1::Kind> ParseResourceType(absl::string_view name) {
  static const std::map<absl::string_view, v1::Kind>* const kNames =
      new std::map<absl::string_view, v1::Kind>{
          {"services", v1::KIND_SERVICE},
          {"service", v1::KIND_SERVICE},
          {"svc", v1::KIND_SERVICE},
          {"endpointslices", v1::KIND_ENDPOINT_SLICE},
          {"endpointslice", v1::KIND_ENDPOINT_SLICE},
          {"endpointslices.discovery.k8s.io", v1::KIND_ENDPOINT_SLICE},
          {"endpointslice.discovery.k8s.io", v1::KIND_ENDPOINT_SLICE},
          {"eps", v1::KIND_ENDPOINT_SLICE},
          {"nodes", v1::KIND_NODE},
          {"node", v1::KIND_NODE},
          {"no", v1::KIND_NODE},
      };
  if (auto it = kNames->find(name); it != kNames->end()) return it->second;
  return absl::InvalidArgumentError(absl::StrCat(
      "the server doesn't have a resource type \"", name,
      "\" (yard-controller holds services (svc), endpointslices (eps) and "
      "nodes (no))"));
}

absl::string_view ResourceName(v1::Kind kind) {
  switch (kind) {
    case v1::KIND_SERVICE:
      return "service";
    case v1::KIND_ENDPOINT_SLICE:
      return "endpointslice.discovery.k8s.io";
    case v1::KIND_NODE:
      return "node";
    default:
      return "unknown";
  }
}

std::string ObjectName(const v1::ObjectRef& ref) {
  return absl::StrCat(ResourceName(ref.kind()), "/", ref.name());
}

std::string ObjectName(const v1::Object& object) {
  return ObjectName(manifest::RefOf(object));
}

absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view name) {
  if (name.empty()) return OutputFormat::kTable;
  if (name == "wide") return OutputFormat::kWide;
  if (name == "json") return OutputFormat::kJson;
  if (name == "yaml") return OutputFormat::kYaml;
  if (name == "name") return OutputFormat::kName;
  return absl::InvalidArgumentError(
      absl::StrCat("unable to match a printer for output format \"", name,
                   "\"; allowed formats are: json, name, wide, yaml"));
}

std::string ServiceType(const v1::Service& service) {
  return service.spec().type().empty() ? "ClusterIP" : service.spec().type();
}

std::string ServiceClusterIp(const v1::Service& service) {
  return OrNone(service.spec().cluster_ip());
}

std::string ServiceExternalIp(const v1::Service& service) {
  const v1::ServiceSpec& spec = service.spec();
  std::string type = ServiceType(service);
  if (type == "ClusterIP" || type == "NodePort") {
    return OrNone(absl::StrJoin(spec.external_ips(), ","));
  }
  if (type == "LoadBalancer") {
    std::vector<std::string> ips;
    for (const v1::LoadBalancerIngress& ingress :
         service.status().load_balancer_ingress()) {
      if (!ingress.ip().empty()) {
        ips.push_back(ingress.ip());
      } else if (!ingress.hostname().empty()) {
        ips.push_back(ingress.hostname());
      }
    }
    ips.insert(ips.end(), spec.external_ips().begin(),
               spec.external_ips().end());
    // No address yet: the load balancer is still being provisioned.
    return ips.empty() ? "<pending>" : absl::StrJoin(ips, ",");
  }
  if (type == "ExternalName") return spec.external_name();
  return "<unknown>";
}

std::string ServicePorts(const v1::Service& service) {
  std::vector<std::string> ports;
  for (const v1::ServicePort& port : service.spec().ports()) {
    if (port.node_port() != 0) {
      ports.push_back(absl::StrCat(port.port(), ":", port.node_port(), "/",
                                   Protocol(port.protocol())));
    } else {
      ports.push_back(
          absl::StrCat(port.port(), "/", Protocol(port.protocol())));
    }
  }
  return OrNone(absl::StrJoin(ports, ","));
}

std::string ServiceSelector(const v1::Service& service) {
  std::map<std::string, std::string> sorted(service.spec().selector().begin(),
                                            service.spec().selector().end());
  return OrNone(absl::StrJoin(sorted, ",", absl::PairFormatter("=")));
}

std::string EndpointSlicePorts(const v1::EndpointSlice& slice) {
  if (slice.ports().empty()) return "<unset>";
  std::vector<std::string> ports;
  for (const v1::EndpointPort& port : slice.ports()) {
    ports.push_back(port.port() == 0 ? "<unset>" : absl::StrCat(port.port()));
  }
  return absl::StrJoin(ports, ",");
}

std::string EndpointSliceEndpoints(const v1::EndpointSlice& slice) {
  constexpr int kShown = 3;
  std::vector<std::string> shown;
  int total = 0;
  for (const v1::Endpoint& endpoint : slice.endpoints()) {
    for (const std::string& address : endpoint.addresses()) {
      if (total++ < kShown) shown.push_back(address);
    }
  }
  if (total == 0) return "<unset>";
  std::string text = absl::StrJoin(shown, ",");
  if (total > kShown) absl::StrAppend(&text, " + ", total - kShown, " more...");
  return text;
}

std::string NodeAddressOfType(const v1::Node& node, absl::string_view type) {
  for (const v1::NodeAddress& address : node.addresses()) {
    if (address.type() == type) return address.address();
  }
  return std::string(kNone);
}

std::string NodePodCidrs(const v1::Node& node) {
  if (!node.pod_cidrs().empty()) return absl::StrJoin(node.pod_cidrs(), ",");
  return OrNone(node.pod_cidr());
}

std::string FormatColumns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) {
        size_t width = std::max<size_t>(widths[i] + 3, 6);
        out.append(width - row[i].size(), ' ');
      }
    }
    out += '\n';
  }
  return out;
}

namespace {

std::vector<std::string> Header(v1::Kind kind, bool wide) {
  switch (kind) {
    case v1::KIND_SERVICE: {
      std::vector<std::string> h = {"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP",
                                    "PORT(S)"};
      if (wide) h.push_back("SELECTOR");
      return h;
    }
    case v1::KIND_ENDPOINT_SLICE:
      return {"NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS"};
    case v1::KIND_NODE: {
      std::vector<std::string> h = {"NAME", "INTERNAL-IP", "POD-CIDRS"};
      if (wide) h.push_back("EXTERNAL-IP");
      return h;
    }
    default:
      return {"NAME"};
  }
}

std::vector<std::string> Row(const v1::Object& object, bool wide) {
  switch (object.kind_case()) {
    case v1::Object::kService: {
      const v1::Service& s = object.service();
      std::vector<std::string> row = {s.metadata().name(), ServiceType(s),
                                      ServiceClusterIp(s), ServiceExternalIp(s),
                                      ServicePorts(s)};
      if (wide) row.push_back(ServiceSelector(s));
      return row;
    }
    case v1::Object::kEndpointSlice: {
      const v1::EndpointSlice& e = object.endpoint_slice();
      return {e.metadata().name(), e.address_type(), EndpointSlicePorts(e),
              EndpointSliceEndpoints(e)};
    }
    case v1::Object::kNode: {
      const v1::Node& n = object.node();
      std::vector<std::string> row = {n.metadata().name(),
                                      NodeAddressOfType(n, "InternalIP"),
                                      NodePodCidrs(n)};
      if (wide) row.push_back(NodeAddressOfType(n, "ExternalIP"));
      return row;
    }
    case v1::Object::KIND_NOT_SET:
      break;
  }
  return {""};
}

}  // namespace

std::string FormatObjects(v1::Kind kind, absl::Span<const v1::Object> objects,
                          const PrintOptions& options) {
  switch (options.format) {
    case OutputFormat::kJson:
      if (options.single && objects.size() == 1) {
        return manifest::ObjectToJson(objects[0]);
      }
      return manifest::ObjectsToJson(objects, options.resource_version);
    case OutputFormat::kYaml:
      if (options.single && objects.size() == 1) {
        return manifest::ObjectToYaml(objects[0]);
      }
      return manifest::ObjectsToYaml(objects, options.resource_version);
    case OutputFormat::kName: {
      std::string out;
      for (const v1::Object& object : objects) {
        absl::StrAppend(&out, ObjectName(object), "\n");
      }
      return out;
    }
    case OutputFormat::kTable:
    case OutputFormat::kWide:
      break;
  }
  if (objects.empty()) return "";
  bool wide = options.format == OutputFormat::kWide;
  // Nodes have no namespace to show.
  bool with_namespace = options.all_namespaces && manifest::IsNamespaced(kind);
  std::vector<std::vector<std::string>> rows;
  rows.push_back(Header(kind, wide));
  if (with_namespace) rows.back().insert(rows.back().begin(), "NAMESPACE");
  for (const v1::Object& object : objects) {
    rows.push_back(Row(object, wide));
    if (with_namespace) {
      rows.back().insert(rows.back().begin(),
                         manifest::RefOf(object).namespace_());
    }
  }
  return FormatColumns(rows);
}

}  // namespace switchyard::ctl
