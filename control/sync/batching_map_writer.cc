// SPDX-License-Identifier: Apache-2.0
#include "control/sync/batching_map_writer.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "control/common/log.h"

namespace switchyard::sync {
namespace {

using Map = MapBatches::Map;

struct Layout {
  size_t key_size;
  size_t value_size;
};

Layout LayoutOf(Map map) {
  switch (map) {
    case Map::kBackends:
      return {sizeof(uint32_t), sizeof(yard_backend4)};
    case Map::kSlots:
      return {sizeof(yard_slot_key), sizeof(yard_slot_value)};
    case Map::kFrontends:
      return {sizeof(yard_svc4_key), sizeof(yard_svc_value)};
    case Map::kRevNat:
      return {sizeof(uint32_t), sizeof(yard_rnat4)};
    case Map::kSourceRanges:
      return {sizeof(yard_lb_src4_key), sizeof(uint8_t)};
  }
  return {0, 0};
}

// Scratch above this is given back after a batch: a cold sync's buffers
// would otherwise stay with the agent for good.
constexpr size_t kKeepBytes = 64 << 10;

template <typename T>
void Release(std::vector<T>& v) {
  if (v.capacity() * sizeof(T) > kKeepBytes) {
    std::vector<T>().swap(v);
  } else {
    v.clear();
  }
}

}  // namespace

const char* MapName(Map map) {
  switch (map) {
    case Map::kBackends:
      return "backends";
    case Map::kSlots:
      return "slots";
    case Map::kFrontends:
      return "frontends";
    case Map::kRevNat:
      return "reverse NAT";
    case Map::kSourceRanges:
      return "source ranges";
  }
  return "?";
}

Map BatchingMapWriter::MapOf(Call call) {
  switch (call) {
    case Call::kPutBackend:
    case Call::kClearBackend:
      return Map::kBackends;
    case Call::kPutSlot:
    case Call::kDeleteSlot:
      return Map::kSlots;
    case Call::kPutFrontend:
    case Call::kDeleteFrontend:
      return Map::kFrontends;
    case Call::kPutRevNat:
    case Call::kClearRevNat:
      return Map::kRevNat;
    case Call::kPutSourceRange:
    case Call::kDeleteSourceRange:
      return Map::kSourceRanges;
  }
  return Map::kBackends;
}

// Clearing an array entry is an update (to zeroes), so puts and clears of
// one array go in one batch.
bool BatchingMapWriter::IsDelete(Call call) {
  return call == Call::kDeleteSlot || call == Call::kDeleteFrontend ||
         call == Call::kDeleteSourceRange;
}

absl::Status BatchingMapWriter::PutBackend(uint32_t id,
                                           const yard_backend4& value) {
  Held h = {Call::kPutBackend, {}, {}};
  h.key.id = id;
  h.value.backend = value;
  return Hold(h);
}

absl::Status BatchingMapWriter::ClearBackend(uint32_t id) {
  Held h = {Call::kClearBackend, {}, {}};
  h.key.id = id;
  h.value.backend = {};
  return Hold(h);
}

absl::Status BatchingMapWriter::PutSlot(const yard_slot_key& key,
                                        const yard_slot_value& value) {
  Held h = {Call::kPutSlot, {}, {}};
  h.key.slot = key;
  h.value.slot = value;
  return Hold(h);
}

absl::Status BatchingMapWriter::DeleteSlot(const yard_slot_key& key) {
  Held h = {Call::kDeleteSlot, {}, {}};
  h.key.slot = key;
  return Hold(h);
}

absl::Status BatchingMapWriter::PutFrontend(const yard_svc4_key& key,
                                            const yard_svc_value& value) {
  Held h = {Call::kPutFrontend, {}, {}};
  h.key.frontend = key;
  h.value.frontend = value;
  return Hold(h);
}

absl::Status BatchingMapWriter::DeleteFrontend(const yard_svc4_key& key) {
  Held h = {Call::kDeleteFrontend, {}, {}};
  h.key.frontend = key;
  return Hold(h);
}

absl::Status BatchingMapWriter::PutRevNat(uint32_t id,
                                          const yard_rnat4& value) {
  Held h = {Call::kPutRevNat, {}, {}};
  h.key.id = id;
  h.value.rev_nat = value;
  return Hold(h);
}

absl::Status BatchingMapWriter::ClearRevNat(uint32_t id) {
  Held h = {Call::kClearRevNat, {}, {}};
  h.key.id = id;
  h.value.rev_nat = {};
  return Hold(h);
}

absl::Status BatchingMapWriter::PutSourceRange(const yard_lb_src4_key& key) {
  Held h = {Call::kPutSourceRange, {}, {}};
  h.key.range = key;
  h.value.admitted = 1;
  return Hold(h);
}

absl::Status BatchingMapWriter::DeleteSourceRange(const yard_lb_src4_key& key) {
  Held h = {Call::kDeleteSourceRange, {}, {}};
  h.key.range = key;
  return Hold(h);
}

absl::Status BatchingMapWriter::PutMaglevTable(
    uint32_t svc_id, const std::vector<uint32_t>& table) {
  if (!failed_.ok()) return failed_;
  // Held entries, or held deletes of tables, go first.
  if (!held_.empty() || (HoldsTables() && tables_.empty())) {
    if (absl::Status s = Flush(); !s.ok()) return s;
  }
  table_ids_.push_back(svc_id);
  tables_.push_back(table);
  return absl::OkStatus();
}

absl::Status BatchingMapWriter::DeleteMaglevTable(uint32_t svc_id) {
  if (!failed_.ok()) return failed_;
  if (!held_.empty() || !tables_.empty()) {
    if (absl::Status s = Flush(); !s.ok()) return s;
  }
  table_ids_.push_back(svc_id);
  return absl::OkStatus();
}

absl::Status BatchingMapWriter::Hold(const Held& held) {
  if (!failed_.ok()) return failed_;
  if (HoldsTables() || (!held_.empty() &&
                        (MapOf(held_.back().call) != MapOf(held.call) ||
                         IsDelete(held_.back().call) != IsDelete(held.call)))) {
    if (absl::Status s = Flush(); !s.ok()) return s;
  }
  held_.push_back(held);
  return absl::OkStatus();
}

absl::Status BatchingMapWriter::Flush() {
  if (!failed_.ok()) return failed_;
  // Tables and entries are never held at once: each kind flushes the
  // other before it is held.
  if (HoldsTables()) return FlushTables();
  size_t from = 0;
  absl::Status s;
  while (s.ok() && from < held_.size()) {
    s = one_by_one_[static_cast<size_t>(MapOf(held_[from].call))]
            ? WriteOneByOne(from)
            : WriteBatch(from);
  }
  if (!s.ok()) {
    failed_ = absl::Status(
        s.code(), absl::StrCat(Describe(from), ": ", s.message(), " (", from,
                               " of ", held_.size(), " held writes made)"));
  }
  Release(held_);
  Release(keys_);
  Release(values_);
  return failed_;
}

absl::Status BatchingMapWriter::WriteBatch(size_t& from) {
  const Map map = MapOf(held_[from].call);
  const Layout layout = LayoutOf(map);
  const size_t count = held_.size() - from;
  keys_.resize(count * layout.key_size);
  values_.resize(count * layout.value_size);
  for (size_t i = 0; i < count; ++i) {
    std::memcpy(&keys_[i * layout.key_size], &held_[from + i].key,
                layout.key_size);
    std::memcpy(&values_[i * layout.value_size], &held_[from + i].value,
                layout.value_size);
  }
  uint32_t done = 0;
  ++batch_calls_;
  const bool deleting = IsDelete(held_[from].call);
  absl::Status s = deleting ? batches_->Delete(map, keys_.data(), count, done)
                            : batches_->Update(map, keys_.data(),
                                               values_.data(), count, done);
  if (absl::IsUnimplemented(s) && done == 0) {
    one_by_one_[static_cast<size_t>(map)] = true;
    LOG(INFO) << "map " << MapName(map)
              << " has no batch calls here: written one entry per call ("
              << s.message() << ")";
    return absl::OkStatus();  // the caller's loop goes on one by one
  }
  from += std::min<size_t>(done, count);
  // An absent entry's delete is done already: skip it, write the rest.
  if (deleting && absl::IsNotFound(s) && from < held_.size()) {
    ++from;
    return absl::OkStatus();
  }
  return s;
}

absl::Status BatchingMapWriter::FlushTables() {
  const bool deleting = tables_.empty();
  size_t from = 0;
  absl::Status s;
  while (s.ok() && from < table_ids_.size()) {
    s = tables_one_by_one_ ? WriteTablesOneByOne(from) : WriteTableBatch(from);
  }
  if (!s.ok()) {
    failed_ = absl::Status(
        s.code(),
        absl::StrCat(deleting ? "delete" : "write", " Maglev table of set ",
                     from < table_ids_.size() ? table_ids_[from] : 0, ": ",
                     s.message(), " (", from, " of ", table_ids_.size(),
                     " held table writes made)"));
  }
  Release(table_ids_);
  Release(tables_);
  return failed_;
}

absl::Status BatchingMapWriter::WriteTableBatch(size_t& from) {
  const bool deleting = tables_.empty();
  const absl::Span<const uint32_t> ids =
      absl::MakeConstSpan(table_ids_).subspan(from);
  uint32_t done = 0;
  ++batch_calls_;
  absl::Status s =
      deleting ? batches_->DeleteMaglevTables(ids, done)
               : batches_->PutMaglevTables(
                     ids, absl::MakeConstSpan(tables_).subspan(from), done);
  if (absl::IsUnimplemented(s) && done == 0) {
    tables_one_by_one_ = true;
    LOG(INFO) << "Maglev tables have no batch calls here: written one per "
                 "call ("
              << s.message() << ")";
    return absl::OkStatus();  // the caller's loop goes on one by one
  }
  from += std::min<size_t>(done, ids.size());
  if (deleting && absl::IsNotFound(s) && from < table_ids_.size()) {
    ++from;
    return absl::OkStatus();
  }
  return s;
}

absl::Status BatchingMapWriter::WriteTablesOneByOne(size_t& from) {
  const bool deleting = tables_.empty();
  for (; from < table_ids_.size(); ++from) {
    absl::Status s =
        deleting ? entries_->DeleteMaglevTable(table_ids_[from])
                 : entries_->PutMaglevTable(table_ids_[from], tables_[from]);
    if (!s.ok() && !(deleting && absl::IsNotFound(s))) return s;
  }
  return absl::OkStatus();
}

absl::Status BatchingMapWriter::WriteOneByOne(size_t& from) {
  const Map map = MapOf(held_[from].call);
  for (; from < held_.size() && MapOf(held_[from].call) == map; ++from) {
    absl::Status s = WriteOne(held_[from]);
    if (!s.ok() && !(IsDelete(held_[from].call) && absl::IsNotFound(s))) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status BatchingMapWriter::WriteOne(const Held& h) {
  switch (h.call) {
    case Call::kPutBackend:
      return entries_->PutBackend(h.key.id, h.value.backend);
    case Call::kClearBackend:
      return entries_->ClearBackend(h.key.id);
    case Call::kPutSlot:
      return entries_->PutSlot(h.key.slot, h.value.slot);
    case Call::kDeleteSlot:
      return entries_->DeleteSlot(h.key.slot);
    case Call::kPutFrontend:
      return entries_->PutFrontend(h.key.frontend, h.value.frontend);
    case Call::kDeleteFrontend:
      return entries_->DeleteFrontend(h.key.frontend);
    case Call::kPutRevNat:
      return entries_->PutRevNat(h.key.id, h.value.rev_nat);
    case Call::kClearRevNat:
      return entries_->ClearRevNat(h.key.id);
    case Call::kPutSourceRange:
      return entries_->PutSourceRange(h.key.range);
    case Call::kDeleteSourceRange:
      return entries_->DeleteSourceRange(h.key.range);
  }
  return absl::InternalError("unknown held write");
}

std::string BatchingMapWriter::Describe(size_t index) const {
  if (index >= held_.size()) return "batch";
  const Held& h = held_[index];
  const char* verb = IsDelete(h.call) ? "delete from " : "write to ";
  switch (MapOf(h.call)) {
    case Map::kBackends:
    case Map::kRevNat:
      return absl::StrCat(verb, MapName(MapOf(h.call)), " at ", h.key.id);
    case Map::kSlots:
      return absl::StrCat(verb, "slots at ", h.key.slot.svc_id, "/",
                          h.key.slot.slot);
    case Map::kFrontends:
      return absl::StrCat(verb, "frontends at ", h.key.frontend.addr, ":",
                          h.key.frontend.port, "/", int{h.key.frontend.proto});
    case Map::kSourceRanges:
      return absl::StrCat(verb, "source ranges of ", h.key.range.rev_nat_id,
                          " at ", h.key.range.addr, "/", h.key.range.prefixlen);
  }
  return "batch";
}

absl::StatusOr<ProgrammedEntries> BatchingMapWriter::ReadBack() {
  Release(held_);
  Release(table_ids_);
  Release(tables_);
  absl::StatusOr<ProgrammedEntries> entries = entries_->ReadBack();
  // Writing again is safe only once the caller knows what is there.
  if (entries.ok()) failed_ = absl::OkStatus();
  return entries;
}

}  // namespace switchyard::sync
