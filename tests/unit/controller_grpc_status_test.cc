// SPDX-License-Identifier: Apache-2.0
// The controller's RPC answers: every absl code the store can return comes
// out as the gRPC code of the same meaning (spelled out here pair by pair,
// not by number, so the shared numbering is checked rather than assumed),
// with the message untouched.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "control/controller/grpc_status.h"

namespace switchyard::controller {
namespace {

struct CodePair {
  absl::StatusCode absl_code;
  grpc::StatusCode grpc_code;
};

// Every canonical code but OK, which has its own test (gRPC's OK carries
// no message).
const std::vector<CodePair>& ErrorCodes() {
  static const auto* pairs = new std::vector<CodePair>{
      {absl::StatusCode::kCancelled, grpc::StatusCode::CANCELLED},
      {absl::StatusCode::kUnknown, grpc::StatusCode::UNKNOWN},
      {absl::StatusCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT},
      {absl::StatusCode::kDeadlineExceeded,
       grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::StatusCode::kNotFound, grpc::StatusCode::NOT_FOUND},
      {absl::StatusCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS},
      {absl::StatusCode::kPermissionDenied,
       grpc::StatusCode::PERMISSION_DENIED},
      {absl::StatusCode::kResourceExhausted,
       grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::StatusCode::kFailedPrecondition,
       grpc::StatusCode::FAILED_PRECONDITION},
      {absl::StatusCode::kAborted, grpc::StatusCode::ABORTED},
      {absl::StatusCode::kOutOfRange, grpc::StatusCode::OUT_OF_RANGE},
      {absl::StatusCode::kUnimplemented, grpc::StatusCode::UNIMPLEMENTED},
      {absl::StatusCode::kInternal, grpc::StatusCode::INTERNAL},
      {absl::StatusCode::kUnavailable, grpc::StatusCode::UNAVAILABLE},
      {absl::StatusCode::kDataLoss, grpc::StatusCode::DATA_LOSS},
      {absl::StatusCode::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED},
  };
  return *pairs;
}

TEST(ToGrpc, OkIsOk) {
  grpc::Status status = ToGrpc(absl::OkStatus());
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(status.error_message(), "");
}

TEST(ToGrpc, EveryErrorCodeKeepsItsMeaningAndMessage) {
  ASSERT_EQ(ErrorCodes().size(), 16u);  // all canonical codes but OK
  for (const CodePair& pair : ErrorCodes()) {
    const std::string message =
        "service default/web: port 80 already allocated (" +
        absl::StatusCodeToString(pair.absl_code) + ")";
    grpc::Status status = ToGrpc(absl::Status(pair.absl_code, message));
    EXPECT_FALSE(status.ok()) << absl::StatusCodeToString(pair.absl_code);
    EXPECT_EQ(status.error_code(), pair.grpc_code)
        << absl::StatusCodeToString(pair.absl_code);
    EXPECT_EQ(status.error_message(), message);
  }
}

TEST(ToGrpc, MessageKeptByteForByte) {
  // Quotes, newlines, non-ASCII and an embedded NUL all survive: the text
  // is the user's own object names and values echoed back.
  const std::string message =
      std::string("bad \"name\"\n\xc3\xa9t\xc3\xa9 ") + '\0' + " tail";
  grpc::Status status = ToGrpc(absl::InvalidArgumentError(message));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), message);
}

TEST(ToGrpc, EmptyMessageStaysEmpty) {
  grpc::Status status = ToGrpc(absl::NotFoundError(""));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "");
}

TEST(ToGrpc, NonCanonicalCodeBecomesUnknown) {
  // absl folds a code outside the canonical set into kUnknown, so no
  // number gRPC does not know reaches the wire.
  grpc::Status status =
      ToGrpc(absl::Status(static_cast<absl::StatusCode>(99), "odd"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(status.error_message(), "odd");
}

}  // namespace
}  // namespace switchyard::controller
