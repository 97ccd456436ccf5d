// SPDX-License-Identifier: Apache-2.0
// Jittered exponential backoff for reconnecting: an agent to its
// controller, the controller to the Kubernetes API server.
#ifndef SWITCHYARD_CONTROL_COMMON_BACKOFF_H_
#define SWITCHYARD_CONTROL_COMMON_BACKOFF_H_

#include <algorithm>
#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace switchyard {

// Each delay doubles up to `max`, and is spread by +-20% so that agents
// cut off together by a controller restart do not reconnect in lockstep.
// Reset only after a good message, not after a mere connect: a controller
// that accepts and then fails must not be hammered.
class Backoff {
 public:
  Backoff(absl::Duration initial, absl::Duration max)
      : Backoff(initial, max, std::random_device{}()) {}
  // A fixed seed gives a repeatable sequence of delays (for tests).
  Backoff(absl::Duration initial, absl::Duration max, uint32_t seed)
      : initial_(initial), max_(max), next_(initial), rng_(seed) {}

  absl::Duration Next() {
    absl::Duration base = next_;
    next_ = std::min(next_ * 2, max_);
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    return base * jitter(rng_);
  }
  void Reset() { next_ = initial_; }

 private:
  absl::Duration initial_;
  absl::Duration max_;
  absl::Duration next_;
  std::mt19937 rng_;
};

}  // namespace switchyard

#endif  // SWITCHYARD_CONTROL_COMMON_BACKOFF_H_
