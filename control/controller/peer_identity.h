// SPDX-License-Identifier: Apache-2.0
// Who is calling the controller, and what they may do.
//
// Over the TLS listener every client has a certificate (the handshake
// refuses others); its Common Name says its role:
//   CN=yard-writer:<who>   writes and reads: Apply, Delete, Get, List,
//                          ListNodeSync (people, CI, yardctl)
//   CN=yard-node:<node>    watches and acknowledges as node <node> only
// Anything else is authenticated but may do nothing. The unix socket
// (owner-only by default) and a plaintext listener asked for by name
// (--insecure_listen, for labs) are trusted with everything: whoever can
// open them is already on the machine as the controller's user.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_PEER_IDENTITY_H_
#define SWITCHYARD_CONTROL_CONTROLLER_PEER_IDENTITY_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace switchyard::controller {

inline constexpr absl::string_view kWriterPrefix = "yard-writer:";
inline constexpr absl::string_view kNodePrefix = "yard-node:";

enum class Role {
  kTrusted,  // unix socket or a plaintext listener
  kWriter,
  kNode,
  kNone,  // a valid certificate without a role
};

struct Peer {
  Role role = Role::kNone;
  std::string name;  // the writer's or node's name from the CN
  // "certificate CN=yard-node:node-1 (ipv4:10.0.0.5:41234)", for logs.
  std::string description;
};

// From the call's auth context: a peer without a verified certificate came
// in over a trusted transport.
Peer IdentifyPeer(const grpc::ServerContext& context);
// The same from a certificate's Common Name (for tests).
Peer PeerFromCommonName(absl::string_view common_name,
                        absl::string_view address);

// OK when `peer` may call `method` ("Apply", "Watch"...); for Watch,
// `node` is the node the hello names. PermissionDenied otherwise, saying
// who, what and why; the caller logs it.
absl::Status Authorize(const Peer& peer, absl::string_view method,
                       absl::string_view node = "");

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_PEER_IDENTITY_H_
