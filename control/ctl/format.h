// SPDX-License-Identifier: Apache-2.0
// What yardctl prints, from v1 messages to text: kubectl's resource names,
// table columns and -o formats. No gRPC here, so all of it is tested
// without a server.
#ifndef SWITCHYARD_CONTROL_CTL_FORMAT_H_
#define SWITCHYARD_CONTROL_CTL_FORMAT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "switchyard/v1/cluster.pb.h"

namespace switchyard::ctl {

// services|service|svc, endpointslices|endpointslice|eps, nodes|node|no,
// and the full kubectl spellings (endpointslices.discovery.k8s.io).
absl::StatusOr<v1::Kind> ParseResourceType(absl::string_view name);

// What kubectl prints before the slash: "service",
// "endpointslice.discovery.k8s.io", "node".
absl::string_view ResourceName(v1::Kind kind);

// "service/web", as in `service/web created`.
std::string ObjectName(const v1::Object& object);
std::string ObjectName(const v1::ObjectRef& ref);

enum class OutputFormat { kTable, kWide, kJson, kYaml, kName };

// "" is the table; otherwise json, yaml, wide or name.
absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view name);

// Table cells, kubectl's rules and placeholders (<none>, <pending>,
// <unset>) included, so people read them as they would kubectl's.
std::string ServiceType(const v1::Service& service);
std::string ServiceClusterIp(const v1::Service& service);
std::string ServiceExternalIp(const v1::Service& service);
std::string ServicePorts(const v1::Service& service);  // 80/TCP,443:30443/TCP
std::string ServiceSelector(const v1::Service& service);
std::string EndpointSlicePorts(const v1::EndpointSlice& slice);
// At most three addresses, then "+ N more...".
std::string EndpointSliceEndpoints(const v1::EndpointSlice& slice);
// The first address of `type` (InternalIP, ExternalIP), or <none>.
std::string NodeAddressOfType(const v1::Node& node, absl::string_view type);
std::string NodePodCidrs(const v1::Node& node);

// Rows (the first one the header) aligned as kubectl's tabwriter does
// (padding 3, minimum width 6): each column but the last padded to its
// widest cell plus three, and to at least six.
std::string FormatColumns(const std::vector<std::vector<std::string>>& rows);

struct PrintOptions {
  OutputFormat format = OutputFormat::kTable;
  bool all_namespaces = false;  // table: a NAMESPACE column first
  // json/yaml: print the object itself, not a List (kubectl does so for
  // `get TYPE NAME`).
  bool single = false;
  std::string resource_version;  // json/yaml List metadata; "" to omit
};

// `objects`, all of `kind`, as -o asks. A table of no objects is empty;
// the caller says "No resources found" where it fits.
std::string FormatObjects(v1::Kind kind, absl::Span<const v1::Object> objects,
                          const PrintOptions& options);

}  // namespace switchyard::ctl

#endif  // SWITCHYARD_CONTROL_CTL_FORMAT_H_
