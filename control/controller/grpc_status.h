// SPDX-License-Identifier: Apache-2.0
// The controller's answers to RPCs: absl::Status from the store turned into
// a grpc::Status with the same canonical code and the message kept, since
// the message is what a person fixing a rejected write reads.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_GRPC_STATUS_H_
#define SWITCHYARD_CONTROL_CONTROLLER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace switchyard::controller {

// absl -> gRPC status, keeping the message a person acts on.
grpc::Status ToGrpc(const absl::Status& status);

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_GRPC_STATUS_H_
