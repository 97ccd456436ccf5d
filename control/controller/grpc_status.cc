// SPDX-License-Identifier: Apache-2.0
#include "control/controller/grpc_status.h"

#include <string>

namespace switchyard::controller {

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbers (0-16), and code()
  // already folds any other raw code into kUnknown.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace switchyard::controller
