// SPDX-License-Identifier: Apache-2.0
// Which fields Kubernetes knows for each kind yardctl reads, so a field
// it does not know (a typo such as `protocoll`, or `sessionAfinity`) is
// reported instead of dropped with its meaning. The decoder reads only the
// fields Switchyard carries; this list is Kubernetes' whole v1 schema for
// the three kinds, since `kubectl get -o yaml` output (uid, managedFields,
// conditions, ...) must load without a warning. Free-form maps (labels,
// annotations, selector) and subtrees Switchyard never reads (a Node's
// status, managedFields) are not looked into.
#ifndef SWITCHYARD_CONTROL_MANIFEST_KNOWN_FIELDS_H_
#define SWITCHYARD_CONTROL_MANIFEST_KNOWN_FIELDS_H_

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "switchyard/v1/cluster.pb.h"

namespace switchyard::manifest {

struct UnknownField {
  std::string path;  // spec.ports[0].protocoll
  YAML::Mark mark;   // of the field's key
};

// Every unknown field of `doc`, an object of `kind`, in document order.
std::vector<UnknownField> FindUnknownFields(v1::Kind kind,
                                            const YAML::Node& doc);

// The same for a List's own fields (apiVersion, kind, metadata, items);
// its items are checked one by one as objects.
std::vector<UnknownField> FindUnknownListFields(const YAML::Node& doc);

}  // namespace switchyard::manifest

#endif  // SWITCHYARD_CONTROL_MANIFEST_KNOWN_FIELDS_H_
