// SPDX-License-Identifier: Apache-2.0
// API-server responses -> what the reflector acts on: a page of a list, one
// watch event, or the Status of a failure. JSON is decoded by protobuf's
// parser into the Kubernetes-shaped messages of kubejson/objects.proto
// (unknown fields ignored, as any client of a newer server must), then
// converted by kube_objects.h.
#ifndef SWITCHYARD_CONTROL_KUBE_API_DECODE_H_
#define SWITCHYARD_CONTROL_KUBE_API_DECODE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "control/kube/kube_objects.h"
#include "switchyard/v1/cluster.pb.h"

namespace switchyard::kube {

struct ListPage {
  std::vector<Converted> items;
  std::string resource_version;  // the list's, to watch from
  std::string continue_token;    // "" on the last page
};

// A list response body for `kind` ("ServiceList" for services).
absl::StatusOr<ListPage> DecodeList(v1::Kind kind, absl::string_view body,
                                    const ServingRules& rules);

struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark, kError };
  Type type = Type::kError;
  Converted item;  // ADDED, MODIFIED, DELETED
  // The version to resume from after this event (the object's, or the
  // bookmark's); "" for ERROR.
  std::string resource_version;
  // ERROR: the Status' code (410 when the version was compacted) and text.
  int error_code = 0;
  std::string error_message;
};

// One line of a watch stream for `kind`. An event of an unknown type or a
// line that is not JSON is an error (InvalidArgument, quoting the start of
// the line).
absl::StatusOr<WatchEvent> DecodeWatchEvent(v1::Kind kind,
                                            absl::string_view line,
                                            const ServingRules& rules);

// A failure's body: the Status' message and reason ("Expired"), or the
// start of the body when it is not a Status (a proxy's HTML page).
std::string DescribeFailure(int http_status, absl::string_view body);

}  // namespace switchyard::kube

#endif  // SWITCHYARD_CONTROL_KUBE_API_DECODE_H_
