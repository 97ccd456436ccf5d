// SPDX-License-Identifier: Apache-2.0
// A whole listing read page by page, as kubectl's --chunk-size does: each
// request asks for a bounded number of objects, so no reply is large and
// each call's deadline covers one page, not the whole cluster.
#ifndef SWITCHYARD_CONTROL_CTL_LIST_ALL_H_
#define SWITCHYARD_CONTROL_CTL_LIST_ALL_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/ctl/client.h"
#include "switchyard/v1/cluster.pb.h"

namespace switchyard::ctl {

// How often a listing is started again when the controller says it
// changed under it (ABORTED) before the error is reported: a second try
// almost always succeeds, a third covers a busy moment.
inline constexpr int kListAttempts = 3;

struct Listing {
  std::vector<v1::Object> objects;  // in the controller's (key) order
  uint64_t version = 0;             // the one every page reported
};

// Every object of `kind` (KIND_UNSPECIFIED: all) in `namespace_` ("": all),
// `chunk_size` per request (0: no limit; the controller may still split a
// reply that would outgrow a message). Pages are one consistent listing
// (controller.proto, ListRequest): when the controller answers ABORTED the
// listing starts again from nothing, up to kListAttempts in all.
absl::StatusOr<Listing> ListAll(ClusterClient& client, v1::Kind kind,
                                absl::string_view namespace_,
                                int64_t chunk_size);

}  // namespace switchyard::ctl

#endif  // SWITCHYARD_CONTROL_CTL_LIST_ALL_H_
