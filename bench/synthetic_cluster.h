// SPDX-License-Identifier: Apache-2.0
// The services and EndpointSlices the control-plane benches write: one
// ClusterIP service per index (port 80 -> 8080/TCP) and one slice of ready
// endpoints on another node, with distinct addresses per service.
#ifndef SWITCHYARD_BENCH_SYNTHETIC_CLUSTER_H_
#define SWITCHYARD_BENCH_SYNTHETIC_CLUSTER_H_

#include <string>
#include <utility>

#include "switchyard/v1/cluster.pb.h"

namespace switchyard::bench {

class SyntheticCluster {
 public:
  // Objects are named "<prefix><i>" in namespace `ns`. A non-empty
  // `lb_policy` is every service's switchyard.io/lb-policy annotation
  // (maglev, least-conn); empty leaves the default, random.
  SyntheticCluster(std::string ns, std::string prefix,
                   std::string lb_policy = "")
      : ns_(std::move(ns)),
        prefix_(std::move(prefix)),
        lb_policy_(std::move(lb_policy)) {}

  v1::Object Service(int i) const;
  // Endpoints of service i in 10.128.0.0/10; `shift` > 0 moves the first
  // one to a fresh address in 11.0.0.0/8 (an endpoint change).
  v1::Object Slice(int i, int endpoints, int shift) const;

 private:
  std::string ns_;
  std::string prefix_;
  std::string lb_policy_;
};

}  // namespace switchyard::bench

#endif  // SWITCHYARD_BENCH_SYNTHETIC_CLUSTER_H_
