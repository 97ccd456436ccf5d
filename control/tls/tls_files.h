// SPDX-License-Identifier: Apache-2.0
// TLS for the control plane's gRPC (controller, agents, yardctl): mutual
// TLS from PEM files that are watched, so certificates are rotated by
// replacing the files (atomically: write the new ones elsewhere, then
// rename) with no restart. Only this library knows gRPC's TLS API.
#ifndef SWITCHYARD_CONTROL_TLS_TLS_FILES_H_
#define SWITCHYARD_CONTROL_TLS_TLS_FILES_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace switchyard::tls {

// How often the files are read again for a rotated certificate, unless
// TlsFiles says otherwise: a minute, the same order as the kubelet's
// certificate rotation checks and far below any certificate's lifetime.
inline constexpr unsigned int kReloadSeconds = 60;

struct TlsFiles {
  std::string cert;  // this side's certificate chain (PEM)
  std::string key;   // its private key (PEM)
  std::string ca;    // the CA that signs the other side's certificates
  // Seconds between two reads of the files (tests that rotate set 1).
  unsigned int reload_seconds = kReloadSeconds;
  bool empty() const { return cert.empty() && key.empty() && ca.empty(); }
};

// All three set and readable. `flags` names them in the message
// ("--tls_cert, --tls_key and --tls_ca").
absl::Status CheckTlsFiles(const TlsFiles& files, absl::string_view flags);

// A server that requires a client certificate signed by `files.ca`.
std::shared_ptr<grpc::ServerCredentials> ServerCredentials(
    const TlsFiles& files);

// A client presenting `files.cert`, trusting servers signed by `files.ca`
// (and checking the server's name or address against its certificate).
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(
    const TlsFiles& files);

}  // namespace switchyard::tls

#endif  // SWITCHYARD_CONTROL_TLS_TLS_FILES_H_
