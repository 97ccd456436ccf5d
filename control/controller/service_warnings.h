// SPDX-License-Identifier: Apache-2.0
// What a valid Service asks for that Switchyard accepts but does not do
// yet: said to the person who applied it (ApplyResponse.warnings, printed
// by yardctl) and logged by the controller, never silently ignored.
// Warnings, not errors: the rest of the Service is served, and refusing
// it would break manifests that work under kube-proxy.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_SERVICE_WARNINGS_H_
#define SWITCHYARD_CONTROL_CONTROLLER_SERVICE_WARNINGS_H_

#include <string>
#include <vector>

#include "switchyard/v1/cluster.pb.h"

namespace switchyard::controller {

// One line per unimplemented part, each starting "Service ns/name: field:".
// Empty for a Service Switchyard serves as written.
std::vector<std::string> ServiceWarnings(const v1::Service& service);

// The same for every Service among `objects`, in order.
std::vector<std::string> ServiceWarnings(
    const std::vector<v1::Object>& objects);

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_SERVICE_WARNINGS_H_
