// SPDX-License-Identifier: Apache-2.0
#include "control/ctl/list_all.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace switchyard::ctl {
namespace {

// One attempt: first page to last, or the first error.
absl::StatusOr<Listing> ListOnce(ClusterClient& client,
                                 v1::ListRequest request) {
  Listing listing;
  for (bool first = true;; first = false) {
    absl::StatusOr<v1::ListResponse> page = client.List(request);
    if (!page.ok()) return page.status();
    if (first) {
      listing.version = page->version();
    } else if (page->version() != listing.version) {
      // The controller keeps one version across pages or refuses; a
      // mixed listing must never be shown as one.
      return absl::InternalError(absl::StrCat(
          "yard-controller at ", client.address(), " answered a list page at ",
          "version ", page->version(), " after one at ", listing.version));
    }
    if (first && page->remaining_item_count() > 0) {
      listing.objects.reserve(page->objects_size() +
                              page->remaining_item_count());
    }
    for (v1::Object& object : *page->mutable_objects()) {
      listing.objects.push_back(std::move(object));
    }
    if (page->continue_().empty()) return listing;
    if (page->objects_size() == 0 || page->continue_() == request.continue_()) {
      return absl::InternalError(
          absl::StrCat("yard-controller at ", client.address(),
                       " answered a list page that does not move on"));
    }
    request.set_continue_(std::move(*page->mutable_continue_()));
  }
}

}  // namespace

absl::StatusOr<Listing> ListAll(ClusterClient& client, v1::Kind kind,
                                absl::string_view namespace_,
                                int64_t chunk_size) {
  v1::ListRequest request;
  request.set_kind(kind);
  request.set_namespace_(std::string(namespace_));
  request.set_limit(chunk_size);
  absl::StatusOr<Listing> listing;
  for (int attempt = 1; attempt <= kListAttempts; ++attempt) {
    listing = ListOnce(client, request);
    if (listing.status().code() != absl::StatusCode::kAborted) break;
  }
  return listing;
}

}  // namespace switchyard::ctl
