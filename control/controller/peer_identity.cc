// SPDX-License-Identifier: Apache-2.0
#include "control/controller/peer_identity.h"

#include <grpc/grpc_security_constants.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace switchyard::controller {

Peer PeerFromCommonName(absl::string_view common_name,
                        absl::string_view address) {
  Peer peer;
  peer.description =
      absl::StrCat("certificate CN=", common_name, " (", address, ")");
  if (absl::StartsWith(common_name, kWriterPrefix)) {
    peer.role = Role::kWriter;
    peer.name = std::string(common_name.substr(kWriterPrefix.size()));
  } else if (absl::StartsWith(common_name, kNodePrefix)) {
    peer.role = Role::kNode;
    peer.name = std::string(common_name.substr(kNodePrefix.size()));
  }
  if (peer.role != Role::kNone && peer.name.empty()) peer.role = Role::kNone;
  return peer;
}

Peer IdentifyPeer(const grpc::ServerContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    Peer peer;
    peer.role = Role::kTrusted;
    peer.description =
        absl::StrCat("trusted local peer (", context.peer(), ")");
    return peer;
  }
  std::string common_name;
  for (const grpc::string_ref& value :
       auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME)) {
    common_name.assign(value.data(), value.size());
  }
  return PeerFromCommonName(common_name, context.peer());
}

absl::Status Authorize(const Peer& peer, absl::string_view method,
                       absl::string_view node) {
  const bool watch = method == "Watch";
  switch (peer.role) {
    case Role::kTrusted:
      return absl::OkStatus();
    case Role::kWriter:
      if (!watch) return absl::OkStatus();
      return absl::PermissionDeniedError(absl::StrCat(
          peer.description, " may not ", method,
          ": writers write and read; only a node certificate watches"));
    case Role::kNode:
      if (!watch) {
        return absl::PermissionDeniedError(
            absl::StrCat(peer.description, " may not ", method,
                         ": a node certificate only watches as its own node"));
      }
      if (node != peer.name) {
        return absl::PermissionDeniedError(absl::StrCat(
            peer.description, " may not Watch as node \"", node,
            "\": its certificate is for node \"", peer.name, "\""));
      }
      return absl::OkStatus();
    case Role::kNone:
      break;
  }
  return absl::PermissionDeniedError(
      absl::StrCat(peer.description, " may not ", method,
                   ": the certificate's CN has no "
                   "role (",
                   kWriterPrefix, "<who> or ", kNodePrefix, "<node>)"));
}

}  // namespace switchyard::controller
