// SPDX-License-Identifier: Apache-2.0
// Kubernetes manifests <-> switchyard.v1.Object.
//
// Reading takes what `kubectl apply -f` takes: multi-document YAML or JSON,
// camelCase field names, `kind: List` (and typed lists such as ServiceList)
// with items. Kubernetes fields Switchyard does not carry are ignored,
// since real manifests and `kubectl get -o yaml` output are full of them
// (uid, creationTimestamp, managedFields, conditions, ...); fields
// Kubernetes does not know either (typos) are warned about, or refused
// with UnknownFields::kStrict, as kubectl's --validate does. Kinds other
// than Service, EndpointSlice and Node are skipped with a warning:
// manifests mix Deployments and ConfigMaps in with the Services.
//
// Limits that keep a hostile file from costing memory (nesting depth,
// alias expansion, file size; see yaml_limits.h) and a check that the text
// is UTF-8 run before anything is built from the text.
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

// What to do about a field Kubernetes does not know: kubectl's
// --validate=ignore, warn (its default) and strict.
enum class UnknownFields { kIgnore, kWarn, kStrict };

struct DecodeOptions {
  UnknownFields unknown_fields = UnknownFields::kWarn;
};

struct ManifestSet {
  // In document order (files in name order for a directory).
  std::vector<v1::Object> objects;
  // Where each object came from, parallel to `objects`: "web.yaml:
  // document 2" (and ": items[3]" in a List), so a refusal from the
  // controller, which names only the object, can name the file too.
  std::vector<std::string> origins;
  // One line each, naming source and document: skipped kinds and the like.
  std::vector<std::string> warnings;
};

// Parses `text`; `source` names it in messages ("web.yaml", "<stdin>").
// Errors are INVALID_ARGUMENT and read like
//   web.yaml: document 2 (Service default/web): spec.ports[0].port: "http"
//   is not an integer (line 14, column 11)
// and a YAML syntax error or a crossed limit gives the line and column
// instead. An unknown field warns (or, strict, fails) with
//   web.yaml: document 1 (Service default/web): unknown field
//   "spec.ports[0].protocoll" (line 12, column 7)
absl::StatusOr<ManifestSet> ParseManifests(absl::string_view text,
                                           absl::string_view source,
                                           const DecodeOptions& options = {});

// A file, or a directory's *.yaml, *.yml and *.json files (not its
// subdirectories) in name order, so a numbered directory applies in a
// predictable order. Every message names the file.
absl::StatusOr<ManifestSet> LoadManifestPath(const std::string& path,
                                             const DecodeOptions& options = {});

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
