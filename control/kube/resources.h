// SPDX-License-Identifier: Apache-2.0
// The three Kubernetes resources Switchyard follows and where the API
// server serves them, in one table so paths are spelled once.
#ifndef SWITCHYARD_CONTROL_KUBE_RESOURCES_H_
#define SWITCHYARD_CONTROL_KUBE_RESOURCES_H_

#include <array>

#include "absl/strings/string_view.h"
#include "switchyard/v1/cluster.pb.h"

namespace switchyard::kube {

struct Resource {
  v1::Kind kind;
  // Every namespace's objects: list and watch go here.
  absl::string_view collection_path;
  // Plural resource name, for logs and metrics labels.
  absl::string_view plural;
};

inline constexpr std::array<Resource, 3> kResources = {{
    {v1::KIND_SERVICE, "/api/v1/services", "services"},
    {v1::KIND_ENDPOINT_SLICE, "/apis/discovery.k8s.io/v1/endpointslices",
     "endpointslices"},
    {v1::KIND_NODE, "/api/v1/nodes", "nodes"},
}};

}  // namespace switchyard::kube

#endif  // SWITCHYARD_CONTROL_KUBE_RESOURCES_H_
