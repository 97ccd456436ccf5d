// SPDX-License-Identifier: Apache-2.0
// How an EndpointSlice relates to the Service it names (its
// kubernetes.io/service-name label, in its own namespace), and which of
// its parts the dataplane will not use. The store's rules (see
// cluster_store.h) follow Kubernetes: a slice may be written before or
// without its Service and with port names its Service lacks; such parts are
// stored and left unused rather than refused, and the store says why.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_SLICE_RELATIONS_H_
#define SWITCHYARD_CONTROL_CONTROLLER_SLICE_RELATIONS_H_

#include <string>
#include <vector>

#include "control/controller/objects.h"
#include "switchyard/v1/cluster.pb.h"

namespace switchyard::controller {

// The key of the Service `slice` (stored under `slice_key`) belongs to.
// The slice must have passed validation, which requires the label.
ObjectKey ServiceKeyOf(const ObjectKey& slice_key,
                       const v1::EndpointSlice& slice);

// One line per part of `slice` the dataplane leaves unused, naming the
// slice, the part and why: its Service does not exist (`service` is null;
// nothing of the slice is used), or a port's name matches no port of the
// Service (that port's endpoints are not used for any Service port, which
// is how kube-proxy treats it too). Empty when all of it is used.
std::vector<std::string> UnusedSliceParts(const ObjectKey& slice_key,
                                          const v1::EndpointSlice& slice,
                                          const v1::Service* service);

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_SLICE_RELATIONS_H_
