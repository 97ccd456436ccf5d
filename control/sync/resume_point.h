// SPDX-License-Identifier: Apache-2.0
// Where an agent's watch resumes: what its hello tells the controller.
#ifndef SWITCHYARD_CONTROL_SYNC_RESUME_POINT_H_
#define SWITCHYARD_CONTROL_SYNC_RESUME_POINT_H_

#include <cstdint>
#include <string>

namespace switchyard::sync {

struct ResumePoint {
  // The last version applied; 0 asks for a snapshot.
  uint64_t version = 0;
  // The controller state (history) that version belongs to, as its
  // response named it. A controller with another id sends a snapshot.
  std::string state_id;
};

}  // namespace switchyard::sync

#endif  // SWITCHYARD_CONTROL_SYNC_RESUME_POINT_H_
