// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/features_map.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "control/common/errno_status.h"
#include "control/common/scoped_fd.h"

namespace switchyard::kernel {

absl::StatusOr<std::optional<FeatureSet>> ReadPinnedFeatures(
    absl::string_view pin_dir) {
  const std::string path = absl::StrCat(pin_dir, "/yard_features");
  ScopedFd fd(bpf_obj_get(path.c_str()));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<FeatureSet>();
    return ErrnoStatus(errno, absl::StrCat("open ", path));
  }
  FeatureSet features;
  for (Feature f : AllFeatures()) {
    uint32_t key = static_cast<uint32_t>(f);
    yard_feature_value value = {};
    if (bpf_map_lookup_elem(fd.get(), &key, &value) != 0) {
      return ErrnoStatus(errno, absl::StrCat("read ", path));
    }
    value.why[sizeof(value.why) - 1] = '\0';
    features.Set(f, static_cast<yard_feature_state>(value.state),
                 std::string(value.why, strnlen(value.why, sizeof(value.why))));
  }
  return std::optional<FeatureSet>(std::move(features));
}

}  // namespace switchyard::kernel
