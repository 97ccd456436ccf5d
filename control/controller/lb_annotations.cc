// SPDX-License-Identifier: Apache-2.0
#include "control/controller/lb_annotations.h"

#include "absl/strings/str_cat.h"
#include "control/controller/objects.h"
#include "control/translate/lb_policy.h"

namespace switchyard::controller {

absl::Status CheckLbAnnotations(const v1::Object& object) {
  if (object.kind_case() != v1::Object::kService) return absl::OkStatus();
  const v1::ObjectMeta& meta = object.service().metadata();
  absl::Status s = translate::ParseLbAnnotations(
                       translate::LbAnnotationTextsOf(meta.annotations()))
                       .status();
  if (s.ok()) return s;
  return absl::InvalidArgumentError(
      absl::StrCat(Describe(RefOf(object)), ": ", s.message()));
}

}  // namespace switchyard::controller
