// SPDX-License-Identifier: Apache-2.0
// yardctl's one door to yard-controller: ClusterState calls with a
// deadline, their failures turned into messages a person can act on.
#ifndef SWITCHYARD_CONTROL_CTL_CLIENT_H_
#define SWITCHYARD_CONTROL_CTL_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "control/tls/tls_files.h"
#include "switchyard/v1/controller.grpc.pb.h"

namespace switchyard::ctl {

inline constexpr absl::string_view kDefaultController =
    "unix:///run/switchyard/controller.sock";

// The gRPC target for --controller: unix:..., dns:..., host:port pass as
// they are; a bare path (/run/x.sock) is taken for a unix socket, since
// gRPC would otherwise read it as a DNS name.
std::string ChannelTarget(absl::string_view controller);

// A channel to the controller at `controller` (the flag as given) that
// sends and receives messages as large as the controller does: gRPC's
// default 4 MiB receive limit would fail a `get` of a large namespace
// that the controller answers willingly.
// With `tls` set, a TCP controller is reached with mutual TLS (a writer's
// certificate: CN=yard-writer:<who>); unix sockets stay plain.
std::shared_ptr<grpc::Channel> ControllerChannel(absl::string_view controller,
                                                 const tls::TlsFiles& tls = {});

// A failed call as a Status with the same code. UNAVAILABLE and
// DEADLINE_EXCEEDED say where yardctl was trying to reach; the
// controller's own refusals (INVALID_ARGUMENT, NOT_FOUND, ...) pass its
// message through untouched, since it already names object and field.
absl::Status StatusFromGrpc(const grpc::Status& status,
                            absl::string_view address, absl::Duration timeout,
                            absl::string_view method);

class ClusterClient {
 public:
  // `address` is what messages call the controller (the flag as given).
  // A zero `timeout` sets no deadline.
  ClusterClient(std::shared_ptr<grpc::ChannelInterface> channel,
                std::string address, absl::Duration timeout);

  absl::StatusOr<v1::ApplyResponse> Apply(const v1::ApplyRequest& request);
  absl::StatusOr<v1::DeleteResponse> Delete(const v1::DeleteRequest& request);
  absl::StatusOr<v1::GetResponse> Get(const v1::ObjectRef& ref);
  // One page of a listing; ListAll (list_all.h) reads them all.
  absl::StatusOr<v1::ListResponse> List(const v1::ListRequest& request);
  // Every node's last acknowledged and rejected version (yardctl status).
  absl::StatusOr<v1::ListNodeSyncResponse> ListNodeSync();
  // The same, once every connected node has acked or rejected `version`
  // or later, or after `wait` (the controller's longest is a minute); the
  // call's own deadline is later, so the table comes back either way. A
  // controller older than the field answers at once.
  absl::StatusOr<v1::ListNodeSyncResponse> WaitNodeSync(uint64_t version,
                                                        absl::Duration wait);
  // --timeout; zero: none.
  absl::Duration timeout() const { return timeout_; }

  const std::string& address() const { return address_; }

 private:
  void SetDeadline(grpc::ClientContext* context) const;

  std::unique_ptr<v1::ClusterState::Stub> stub_;
  std::string address_;
  absl::Duration timeout_;
};

}  // namespace switchyard::ctl

#endif  // SWITCHYARD_CONTROL_CTL_CLIENT_H_
