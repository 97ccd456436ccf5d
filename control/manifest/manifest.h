// SPDX-License-Identifier: Apache-2.0
// Kubernetes manifests <-> switchyard.v1.Object.
//
// Reading takes what `kubectl apply -f` takes: multi-document YAML or JSON,
// camelCase field names, `kind: List` (and typed lists such as ServiceList)
// with items. Fields Switchyard does not carry are ignored, since real
// manifests and `kubectl get -o yaml` output are full of them (uid,
// creationTimestamp, managedFields, conditions, ...). Kinds other than
// Service, EndpointSlice and Node are skipped with a warning: manifests mix
// Deployments and ConfigMaps in with the Services.
//
// Only types are checked here (an integer where an integer belongs);
// whether a port is in range or an address parses is the controller's
// call, so there is one validator and one set of rules.
#ifndef SWITCHYARD_CONTROL_MANIFEST_MANIFEST_H_
#define SWITCHYARD_CONTROL_MANIFEST_MANIFEST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "switchyard/v1/cluster.pb.h"

namespace switchyard::manifest {

struct ManifestSet {
  // In document order (files in name order for a directory).
  std::vector<v1::Object> objects;
  // One line each, naming source and document: skipped kinds and the like.
  std::vector<std::string> warnings;
};

// Parses `text`; `source` names it in messages ("web.yaml", "<stdin>").
// Errors are INVALID_ARGUMENT and read like
//   web.yaml: document 2 (Service default/web): spec.ports[0].port: "http"
//   is not an integer (line 14)
// and a YAML syntax error gives the line and column instead.
absl::StatusOr<ManifestSet> ParseManifests(absl::string_view text,
                                           absl::string_view source);

// A file, or a directory's *.yaml, *.yml and *.json files (not its
// subdirectories) in name order, so a numbered directory applies in a
// predictable order. Every message names the file.
absl::StatusOr<ManifestSet> LoadManifestPath(const std::string& path);

// Kubernetes-style YAML (`kubectl get -o yaml` layout: apiVersion, kind,
// metadata, spec, status; camelCase; empty fields omitted; keys sorted).
// ParseManifests reads it back to an equal message.
std::string ObjectToYaml(const v1::Object& object);

// Kubernetes-style JSON (`kubectl get -o json` layout: fields in the order
// Kubernetes declares them, four-space indent).
std::string ObjectToJson(const v1::Object& object);

// A `kind: List` holding `objects`, as kubectl prints several objects.
// `resource_version`, when not empty, goes to metadata.resourceVersion.
std::string ObjectsToYaml(absl::Span<const v1::Object> objects,
                          absl::string_view resource_version = "");
std::string ObjectsToJson(absl::Span<const v1::Object> objects,
                          absl::string_view resource_version = "");

}  // namespace switchyard::manifest

#endif  // SWITCHYARD_CONTROL_MANIFEST_MANIFEST_H_
