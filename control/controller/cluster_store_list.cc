// SPDX-License-Identifier: Apache-2.0
// ClusterStore's reads of many objects: whole lists for the controller's
// own use, pages for clients, counts for metrics.
//
// A paged listing is consistent without keeping old versions of objects:
// the store keeps, per version, which keys changed (the deltas that watch
// resumes use). A later page is served from the current state exactly when
// no key it or the pages after it cover (those after the token's last
// key, in the listing's scope) changed since the first page: that part of
// the state is then still what it was at the first page's version.
#include <google/protobuf/io/coded_stream.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/controller/cluster_store.h"
#include "control/controller/list_continue.h"
#include "control/controller/objects.h"
#include "control/names/kind_names.h"

namespace switchyard::controller {
namespace {

// Which keys one listing covers. Keys sort by kind, namespace, name, so a
// listing of one kind (and one namespace) is one run of the map.
class ListScope {
 public:
  ListScope(v1::Kind kind, std::string ns) : kind_(kind), ns_(std::move(ns)) {}

  // Nodes belong to no namespace: listing nodes ignores `ns`, listing one
  // namespace's objects of every kind leaves nodes out.
  bool Contains(const ObjectKey& key) const {
    if (kind_ != v1::KIND_UNSPECIFIED && key.kind != kind_) return false;
    return ns_.empty() || key.ns == ns_ || kind_ == v1::KIND_NODE;
  }
  // The first key the run can start at.
  ObjectKey Start() const {
    if (kind_ == v1::KIND_UNSPECIFIED) return {};
    return {kind_, NarrowedToNamespace() ? ns_ : "", ""};
  }
  // Whether `key`, at or after Start(), is past the run's end.
  bool Past(const ObjectKey& key) const {
    if (kind_ == v1::KIND_UNSPECIFIED) return false;
    if (key.kind != kind_) return true;
    return NarrowedToNamespace() && key.ns != ns_;
  }
  // "Services in namespace default", "Nodes", "objects of every kind in
  // every namespace": for messages.
  std::string Describe() const {
    if (kind_ == v1::KIND_NODE) return "Nodes";
    std::string what = kind_ == v1::KIND_UNSPECIFIED
                           ? std::string("objects of every kind")
                           : absl::StrCat(names::KindName(kind_), "s");
    if (ns_.empty()) return absl::StrCat(what, " in every namespace");
    return absl::StrCat(what, " in namespace ", ns_);
  }

 private:
  bool NarrowedToNamespace() const {
    return !ns_.empty() && kind_ != v1::KIND_NODE;
  }

  v1::Kind kind_;
  std::string ns_;
};

// What one object adds to a ListResponse: its bytes, the field's tag and
// the length before them.
size_t EncodedEntrySize(const v1::Object& object) {
  size_t size = object.ByteSizeLong();
  return 1 + google::protobuf::io::CodedOutputStream::VarintSize64(size) + size;
}

std::string StartAgain(uint64_t from, uint64_t now, absl::string_view why) {
  return absl::StrCat("continue: the list began at version ", from,
                      " and the store is now at ", now, ": ", why,
                      "; list again from the start (without continue)");
}

}  // namespace

std::vector<v1::Object> ClusterStore::List(v1::Kind kind,
                                           const std::string& ns) const {
  ListScope scope(kind, ns);
  std::vector<v1::Object> out;
  absl::ReaderMutexLock lock(&mu_);
  for (auto it = objects_.lower_bound(scope.Start());
       it != objects_.end() && !scope.Past(it->first); ++it) {
    if (scope.Contains(it->first)) out.push_back(it->second);
  }
  return out;
}

size_t ClusterStore::Count(v1::Kind kind) const {
  ListScope scope(kind, "");
  absl::ReaderMutexLock lock(&mu_);
  size_t count = 0;
  for (auto it = objects_.lower_bound(scope.Start());
       it != objects_.end() && !scope.Past(it->first); ++it) {
    ++count;
  }
  return count;
}

absl::StatusOr<ListPage> ClusterStore::List(const ListQuery& query) const {
  if (query.limit < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "limit: ", query.limit, " is negative (0 asks for no limit)"));
  }
  ListScope scope(query.kind, query.ns);
  std::optional<ListContinue> from;
  if (!query.continue_token.empty()) {
    absl::StatusOr<ListContinue> token =
        DecodeListContinue(query.continue_token);
    if (!token.ok()) return token.status();
    if (token->kind != query.kind || token->ns != query.ns) {
      return absl::InvalidArgumentError(absl::StrCat(
          "continue: the token continues a list of ",
          ListScope(token->kind, token->ns).Describe(), ", not of ",
          scope.Describe(), "; ask for the same kind and namespace"));
    }
    from = *std::move(token);
  }

  absl::ReaderMutexLock lock(&mu_);
  ListPage page;
  page.version = version_;
  if (from.has_value()) {
    if (absl::Status s = CheckContinuable(*from); !s.ok()) return s;
    page.version = from->version;
  }
  const size_t limit =
      query.limit > 0 ? static_cast<size_t>(query.limit) : objects_.size() + 1;
  size_t bytes = 0;
  const ObjectKey* last = nullptr;
  auto it = from.has_value() ? objects_.upper_bound(from->last)
                             : objects_.lower_bound(scope.Start());
  for (; it != objects_.end() && !scope.Past(it->first); ++it) {
    if (!scope.Contains(it->first)) continue;
    if (page.objects.size() == limit) break;
    size_t size = EncodedEntrySize(it->second);
    if (!page.objects.empty() && bytes + size > query.max_bytes) break;
    bytes += size;
    page.objects.push_back(it->second);
    last = &it->first;
  }
  for (; it != objects_.end() && !scope.Past(it->first); ++it) {
    if (scope.Contains(it->first)) ++page.remaining;
  }
  if (page.remaining > 0) {
    page.continue_token = EncodeListContinue({.state_id = state_id_,
                                              .version = page.version,
                                              .kind = query.kind,
                                              .ns = query.ns,
                                              .last = *last});
  }
  return page;
}

absl::Status ClusterStore::CheckContinuable(const ListContinue& token) const {
  if (token.state_id != state_id_) {
    return absl::AbortedError(
        "continue: the list began on another controller state (the "
        "controller restarted without its state, or another controller "
        "answered); list again from the start (without continue)");
  }
  if (token.version > version_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "continue: the token names version ", token.version,
        ", after the store's ", version_, "; list again without one"));
  }
  const uint64_t behind = version_ - token.version;
  if (behind == 0) return absl::OkStatus();
  if (behind > deltas_.size()) {
    return absl::AbortedError(StartAgain(
        token.version, version_,
        "the changes since are no longer kept, so the rest cannot be shown "
        "as it was"));
  }
  ListScope scope(token.kind, token.ns);
  for (size_t i = deltas_.size() - behind; i < deltas_.size(); ++i) {
    for (const auto& [key, existed] : deltas_[i].changes) {
      if (key > token.last && scope.Contains(key)) {
        return absl::AbortedError(StartAgain(
            token.version, version_,
            absl::StrCat(controller::Describe(key.ToRef()),
                         ", which the rest of the list holds, changed at "
                         "version ",
                         deltas_[i].version)));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace switchyard::controller
