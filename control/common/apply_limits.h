// SPDX-License-Identifier: Apache-2.0
// How much one apply may carry. yardctl checks these before it sends (so
// the message names the file), the controller again when a write arrives
// (other clients exist); both read them from here so they cannot drift.
// Each protects memory: a write is validated whole, in memory, under the
// store's lock, and a bigger one is better split than half-refused later.
#ifndef SWITCHYARD_CONTROL_COMMON_APPLY_LIMITS_H_
#define SWITCHYARD_CONTROL_COMMON_APPLY_LIMITS_H_

#include <cstdint>

namespace switchyard {

// Objects in one ApplyRequest. 20,000 EndpointSlices (a large namespace)
// fit in one apply with room to spare.
inline constexpr int kMaxObjectsPerApply = 50000;

// Encoded size of the objects of one ApplyRequest. 20,000 slices of 10
// endpoints encode to about 10 MB.
inline constexpr int64_t kMaxApplyBytes = int64_t{32} << 20;

// Kubernetes' TotalAnnotationSizeLimitB: keys and values of one object's
// annotations together.
inline constexpr int64_t kMaxAnnotationBytes = 256 << 10;

}  // namespace switchyard

#endif  // SWITCHYARD_CONTROL_COMMON_APPLY_LIMITS_H_
