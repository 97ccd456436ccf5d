// SPDX-License-Identifier: Apache-2.0
// Reads the small files the Kubernetes client is configured from: a
// kubeconfig, a token, a PEM bundle. One place for the errno handling and
// for the size cap that keeps a wrong path (/dev/zero) from eating memory.
#ifndef SWITCHYARD_CONTROL_KUBE_READ_FILE_H_
#define SWITCHYARD_CONTROL_KUBE_READ_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace switchyard::kube {

// Far above any kubeconfig or certificate bundle.
inline constexpr size_t kMaxConfigFileBytes = 16 << 20;

// The whole file. Errors read "<path>: <strerror>" (NotFound for a missing
// file, PermissionDenied...), or InvalidArgument past kMaxConfigFileBytes.
absl::StatusOr<std::string> ReadConfigFile(const std::string& path);

}  // namespace switchyard::kube

#endif  // SWITCHYARD_CONTROL_KUBE_READ_FILE_H_
