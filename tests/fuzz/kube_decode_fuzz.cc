// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: control/kube's decoding of API-server responses. The
// bytes come from the network (a list page or one watch line), so any of
// them must decode or fail with a status, never crash. Every kind is tried
// on every input, with and without a service-proxy name, and the failure
// text (what the reflector logs) is made too.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "control/common/log.h"
#include "control/kube/api_decode.h"
#include "google/protobuf/stubs/logging.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  switchyard::log_internal::SetMinSeverity(
      switchyard::log_internal::Severity::kError);
  // protobuf logs each string field that is not UTF-8; parsing fails
  // either way, and the log is noise at this rate.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace kube = switchyard::kube;
  namespace v1 = switchyard::v1;
  absl::string_view body(reinterpret_cast<const char*>(data), size);
  const kube::ServingRules rules[] = {{""}, {"other-proxy"}};
  for (v1::Kind kind :
       {v1::KIND_SERVICE, v1::KIND_ENDPOINT_SLICE, v1::KIND_NODE}) {
    for (const kube::ServingRules& rule : rules) {
      absl::StatusOr<kube::ListPage> page = kube::DecodeList(kind, body, rule);
      absl::StatusOr<kube::WatchEvent> event =
          kube::DecodeWatchEvent(kind, body, rule);
      // A converted object must be of the kind asked for.
      if (page.ok()) {
        for (const kube::Converted& item : page->items) {
          if (item.ref.kind() != kind) __builtin_trap();
        }
      }
      if (event.ok() && event->item.object.has_value() &&
          event->item.ref.kind() != kind) {
        __builtin_trap();
      }
    }
  }
  (void)kube::DescribeFailure(500, body);
  return 0;
}
