// SPDX-License-Identifier: Apache-2.0
// The continue token of a paged List: where the previous page stopped and
// which listing it belongs to. Opaque to clients (base64url text), so its
// layout can change; the controller refuses any token it cannot read, or
// one that names another kind or namespace than the request.
//
// A token holds the listing's version and the store's state id (versions
// mean something only within one history, state_id.h), the kind and
// namespace asked for, and the key of the last object sent: the next page
// starts after it, in key order.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_LIST_CONTINUE_H_
#define SWITCHYARD_CONTROL_CONTROLLER_LIST_CONTINUE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/controller/objects.h"
#include "switchyard/v1/cluster.pb.h"

namespace switchyard::controller {

struct ListContinue {
  std::string state_id;
  uint64_t version = 0;                  // of the listing's first page
  v1::Kind kind = v1::KIND_UNSPECIFIED;  // the request's, checked on reuse
  std::string ns;
  ObjectKey last;  // the last object sent
};

std::string EncodeListContinue(const ListContinue& token);

// InvalidArgument "continue: ..." for anything EncodeListContinue did not
// make.
absl::StatusOr<ListContinue> DecodeListContinue(absl::string_view token);

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_LIST_CONTINUE_H_
