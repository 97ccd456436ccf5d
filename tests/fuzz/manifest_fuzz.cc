// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: control/manifest's reader on arbitrary bytes. It must
// never crash, and whatever it accepts must survive the trip out and back:
// ObjectToYaml and ObjectToJson each parse back to an equal object, as
// manifest.h promises (yardctl's `get -o yaml | apply -f -` relies on it).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "control/common/log.h"
#include "control/manifest/manifest.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"

namespace {

using switchyard::manifest::ManifestSet;
using switchyard::manifest::ParseManifests;

// Reads `text` back and aborts unless it yields exactly `object`.
void CheckRoundTrip(const switchyard::v1::Object& object,
                    const std::string& text, const char* how) {
  absl::StatusOr<ManifestSet> back = ParseManifests(text, how);
  if (!back.ok() || back->objects.size() != 1 ||
      !google::protobuf::util::MessageDifferencer::Equals(back->objects[0],
                                                          object)) {
    std::fprintf(stderr,
                 "%s does not read back equal\nobject: %s\ntext:\n%s\n"
                 "read back: %s\n",
                 how, object.ShortDebugString().c_str(), text.c_str(),
                 back.ok() ? (back->objects.empty()
                                  ? "(nothing)"
                                  : back->objects[0].ShortDebugString().c_str())
                           : back.status().ToString().c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Skipped kinds are logged as warnings: noise at this rate.
  switchyard::log_internal::SetMinSeverity(
      switchyard::log_internal::Severity::kError);
  // protobuf logs each string field that is not UTF-8; parsing fails
  // either way, and the log is noise at this rate.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

// Aliases let a 3 KB input decode into a megabyte of objects (the reader's
// limit on alias expansion is 1 MiB); writing that out twice and reading
// it back under the sanitizers took 4 s and 540 MB for one such input,
// close to the 10 s per-input limit that fails a run. The reader is still
// fuzzed on them; the round trip is checked on objects up to this size.
constexpr size_t kMaxRoundTripBytes = 64 << 10;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ManifestSet> set = ParseManifests(text, "fuzz");
  if (!set.ok()) return 0;
  size_t decoded_bytes = 0;
  for (const switchyard::v1::Object& object : set->objects) {
    decoded_bytes += object.ByteSizeLong();
  }
  if (decoded_bytes > kMaxRoundTripBytes) return 0;
  for (const switchyard::v1::Object& object : set->objects) {
    CheckRoundTrip(object, switchyard::manifest::ObjectToYaml(object),
                   "ObjectToYaml");
    CheckRoundTrip(object, switchyard::manifest::ObjectToJson(object),
                   "ObjectToJson");
  }
  return 0;
}
