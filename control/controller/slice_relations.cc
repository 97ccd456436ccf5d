// SPDX-License-Identifier: Apache-2.0
#include "control/controller/slice_relations.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "control/controller/validation.h"

namespace switchyard::controller {

ObjectKey ServiceKeyOf(const ObjectKey& slice_key,
                       const v1::EndpointSlice& slice) {
  auto label = slice.metadata().labels().find(kServiceNameLabel);
  std::string name =
      label != slice.metadata().labels().end() ? label->second : "";
  return {v1::KIND_SERVICE, slice_key.ns, std::move(name)};
}

std::vector<std::string> UnusedSliceParts(const ObjectKey& slice_key,
                                          const v1::EndpointSlice& slice,
                                          const v1::Service* service) {
  std::vector<std::string> out;
  const std::string slice_name = Describe(slice_key.ToRef());
  const std::string service_name =
      Describe(ServiceKeyOf(slice_key, slice).ToRef());
  if (service == nullptr) {
    out.push_back(absl::StrCat(slice_name, ": ", service_name,
                               " does not exist; the slice is kept and used "
                               "once the Service is created"));
    return out;
  }
  for (int i = 0; i < slice.ports_size(); ++i) {
    const std::string& name = slice.ports(i).name();
    const auto& ports = service->spec().ports();
    bool found =
        std::any_of(ports.begin(), ports.end(),
                    [&](const v1::ServicePort& p) { return p.name() == name; });
    if (found) continue;
    out.push_back(absl::StrCat(
        slice_name, ": ports[", i, "].name: ", service_name, " has no ",
        name.empty() ? "unnamed port"
                     : absl::StrCat("port named \"", name, "\""),
        "; this slice port is not used"));
  }
  return out;
}

}  // namespace switchyard::controller
