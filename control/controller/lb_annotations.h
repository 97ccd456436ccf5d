// SPDX-License-Identifier: Apache-2.0
// The switchyard.io annotations that choose a Service's endpoint
// selection, checked when the Service is applied: a bad one is refused
// with the field it is in. Only applied Services are checked: a Service
// mirrored from Kubernetes cannot be refused, and its agents serve it
// with the node's defaults and say so (translate/lb_policy.h).
#ifndef SWITCHYARD_CONTROL_CONTROLLER_LB_ANNOTATIONS_H_
#define SWITCHYARD_CONTROL_CONTROLLER_LB_ANNOTATIONS_H_

#include "absl/status/status.h"
#include "switchyard/v1/cluster.pb.h"

namespace switchyard::controller {

// InvalidArgument "Service default/web: metadata.annotations[...]: ..."
// for a Service with a bad annotation; OK for anything else.
absl::Status CheckLbAnnotations(const v1::Object& object);

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_LB_ANNOTATIONS_H_
