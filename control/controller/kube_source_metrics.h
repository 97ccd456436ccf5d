// SPDX-License-Identifier: Apache-2.0
// What the controller's Kubernetes source is doing, at scrape time: per
// resource whether it is synced, its resourceVersion, and how many lists,
// relists (after 410 Gone), watch requests, events and failures it has
// seen; objects not served and objects refused. The watch count is how an
// operator checks that the API server's load is three watches per
// controller whatever the number of nodes.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_KUBE_SOURCE_METRICS_H_
#define SWITCHYARD_CONTROL_CONTROLLER_KUBE_SOURCE_METRICS_H_

#include "control/controller/kube_source.h"
#include "control/metrics/registry.h"

namespace switchyard::controller {

// `source` must outlive the registry's last Render().
void AddKubeSourceCollector(metrics::Registry& registry,
                            const KubeSource* source);

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_KUBE_SOURCE_METRICS_H_
