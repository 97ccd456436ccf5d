// SPDX-License-Identifier: Apache-2.0
#include "control/ctl/client.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/common/message_limits.h"

namespace switchyard::ctl {

std::string ChannelTarget(absl::string_view controller) {
  if (absl::StartsWith(controller, "/")) {
    return absl::StrCat("unix:", controller);
  }
  return std::string(controller);
}

std::shared_ptr<grpc::Channel> ControllerChannel(absl::string_view controller,
                                                 const tls::TlsFiles& tls) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxControlMessageBytes);
  args.SetMaxSendMessageSize(kMaxControlMessageBytes);
  std::string target = ChannelTarget(controller);
  const bool use_tls = !tls.empty() && !absl::StartsWith(target, "unix:");
  return grpc::CreateCustomChannel(target,
                                   use_tls ? tls::ChannelCredentials(tls)
                                           : grpc::InsecureChannelCredentials(),
                                   args);
}

absl::Status StatusFromGrpc(const grpc::Status& status,
                            absl::string_view address, absl::Duration timeout,
                            absl::string_view method) {
  if (status.ok()) return absl::OkStatus();
  // gRPC's and absl's codes share their numbering.
  auto code = static_cast<absl::StatusCode>(status.error_code());
  const std::string& message = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return absl::Status(
          code, absl::StrCat(
                    "cannot reach yard-controller at ", address, ": ", message,
                    " (is it running? --controller sets the address)"));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::Status(
          code, absl::StrCat("yard-controller at ", address, " did not answer ",
                             method, " within ", absl::FormatDuration(timeout),
                             " (--timeout sets the limit)"));
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::Status(
          code,
          absl::StrCat("yard-controller at ", address, " does not implement ",
                       method, " (is yardctl newer than the controller?)"));
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::Status(code, absl::StrCat("yard-controller at ", address,
                                             " refused access: ", message));
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::OUT_OF_RANGE:
      return absl::Status(code, message);
    default:
      // An empty message once read "ClusterState.Apply: " and nothing
      // more; the code at least says which kind of failure it was.
      return absl::Status(
          code, absl::StrCat("yard-controller at ", address, ": ", method, ": ",
                             message.empty()
                                 ? absl::StrCat(absl::StatusCodeToString(code),
                                                " (no message)")
                                 : message));
  }
}

ClusterClient::ClusterClient(std::shared_ptr<grpc::ChannelInterface> channel,
                             std::string address, absl::Duration timeout)
    : stub_(v1::ClusterState::NewStub(std::move(channel))),
      address_(std::move(address)),
      timeout_(timeout) {}

void ClusterClient::SetDeadline(grpc::ClientContext* context) const {
  if (timeout_ > absl::ZeroDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  }
}

absl::StatusOr<v1::ApplyResponse> ClusterClient::Apply(
    const v1::ApplyRequest& request) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::ApplyResponse response;
  grpc::Status status = stub_->Apply(&context, request, &response);
  if (!status.ok()) {
    return StatusFromGrpc(status, address_, timeout_, "ClusterState.Apply");
  }
  return response;
}

absl::StatusOr<v1::DeleteResponse> ClusterClient::Delete(
    const v1::DeleteRequest& request) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::DeleteResponse response;
  grpc::Status status = stub_->Delete(&context, request, &response);
  if (!status.ok()) {
    return StatusFromGrpc(status, address_, timeout_, "ClusterState.Delete");
  }
  return response;
}

absl::StatusOr<v1::GetResponse> ClusterClient::Get(const v1::ObjectRef& ref) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::GetRequest request;
  *request.mutable_ref() = ref;
  v1::GetResponse response;
  grpc::Status status = stub_->Get(&context, request, &response);
  if (!status.ok()) {
    return StatusFromGrpc(status, address_, timeout_, "ClusterState.Get");
  }
  return response;
}

absl::StatusOr<v1::ListResponse> ClusterClient::List(
    const v1::ListRequest& request) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::ListResponse response;
  grpc::Status status = stub_->List(&context, request, &response);
  if (!status.ok()) {
    return StatusFromGrpc(status, address_, timeout_, "ClusterState.List");
  }
  return response;
}

absl::StatusOr<v1::ListNodeSyncResponse> ClusterClient::WaitNodeSync(
    uint64_t version, absl::Duration wait) {
  grpc::ClientContext context;
  // Room for the reply after the controller's wait ends.
  const absl::Duration deadline = wait + absl::Seconds(5);
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  v1::ListNodeSyncRequest request;
  request.set_wait_for_version(version);
  request.set_wait_timeout_ms(absl::ToInt64Milliseconds(wait));
  v1::ListNodeSyncResponse response;
  grpc::Status status = stub_->ListNodeSync(&context, request, &response);
  if (!status.ok()) {
    return StatusFromGrpc(status, address_, deadline,
                          "ClusterState.ListNodeSync");
  }
  return response;
}

absl::StatusOr<v1::ListNodeSyncResponse> ClusterClient::ListNodeSync() {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::ListNodeSyncResponse response;
  grpc::Status status =
      stub_->ListNodeSync(&context, v1::ListNodeSyncRequest(), &response);
  if (!status.ok()) {
    return StatusFromGrpc(status, address_, timeout_,
                          "ClusterState.ListNodeSync");
  }
  return response;
}

}  // namespace switchyard::ctl
