// SPDX-License-Identifier: Apache-2.0
#include "tests/fakes/fake_map_writer.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace switchyard::testing {

absl::Status FakeMapWriter::Before(std::string what) {
  if (fail_at_ >= 0 && seen_++ == fail_at_) {
    return absl::UnavailableError(absl::StrCat("injected failure: ", what));
  }
  log_.push_back(std::move(what));
  return absl::OkStatus();
}

void FakeMapWriter::Check() {
  if (!violation_.empty()) return;
  auto backend_ok = [&](uint32_t id) {
    auto it = entries_.backends.find(id);
    return it != entries_.backends.end() &&
           it->second.state != YARD_BACKEND_EMPTY;
  };
  for (const auto& [key, value] : entries_.slots) {
    if (!backend_ok(value.backend_id)) {
      violation_ =
          absl::StrCat("after '", log_.back(), "': slot ", key.svc_id, "/",
                       key.slot, " names missing backend ", value.backend_id);
      return;
    }
  }
  for (const auto& [svc_id, table] : entries_.maglev_tables) {
    if (table.empty() || table[0] + 1 != table.size()) {
      violation_ = absl::StrCat("after '", log_.back(), "': Maglev table ",
                                svc_id, " does not hold its size first");
      return;
    }
    for (size_t i = 1; i < table.size(); ++i) {
      if (!backend_ok(table[i])) {
        violation_ =
            absl::StrCat("after '", log_.back(), "': Maglev table ", svc_id,
                         " entry ", i, " names missing backend ", table[i]);
        return;
      }
    }
  }
  for (const auto& [key, fe] : entries_.frontends) {
    if (fe.flags & YARD_SVC_F_WILDCARD) continue;
    if (fe.policy == YARD_POLICY_MAGLEV && fe.count > 0 &&
        !entries_.maglev_tables.contains(fe.svc_id)) {
      violation_ =
          absl::StrCat("after '", log_.back(), "': Maglev frontend ", "port ",
                       key.port, " but set ", fe.svc_id, " has no table");
      return;
    }
    for (uint32_t slot = 1; slot <= fe.count; ++slot) {
      if (!entries_.slots.contains({fe.svc_id, slot})) {
        violation_ = absl::StrCat("after '", log_.back(), "': frontend port ",
                                  key.port, " count ", fe.count, " but slot ",
                                  slot, " of set ", fe.svc_id, " is missing");
        return;
      }
    }
    if (fe.flags & YARD_SVC_F_SOURCE_RANGES) {
      bool any = false;
      for (const yard_lb_src4_key& r : entries_.source_ranges) {
        any = any || ntohl(r.rev_nat_id) == fe.rev_nat_id;
      }
      if (!any) {
        violation_ =
            absl::StrCat("after '", log_.back(), "': frontend port ", key.port,
                         " admits by source range but has none");
        return;
      }
    }
    auto rnat = entries_.rev_nat.find(fe.rev_nat_id);
    if (rnat == entries_.rev_nat.end() || rnat->second.addr != key.addr ||
        rnat->second.port != key.port) {
      violation_ =
          absl::StrCat("after '", log_.back(), "': frontend port ", key.port,
                       " has no reverse NAT entry ", fe.rev_nat_id);
      return;
    }
  }
}

absl::Status FakeMapWriter::PutBackend(uint32_t id, const yard_backend4& v) {
  if (absl::Status s = Before(absl::StrCat("put-backend ", id)); !s.ok()) {
    return s;
  }
  entries_.backends[id] = v;
  Check();
  return absl::OkStatus();
}

absl::Status FakeMapWriter::ClearBackend(uint32_t id) {
  if (absl::Status s = Before(absl::StrCat("clear-backend ", id)); !s.ok()) {
    return s;
  }
  entries_.backends.erase(id);
  Check();
  return absl::OkStatus();
}

absl::Status FakeMapWriter::PutSlot(const yard_slot_key& key,
                                    const yard_slot_value& v) {
  if (absl::Status s = Before(absl::StrCat("put-slot ", key.svc_id, "/",
                                           key.slot, "=", v.backend_id));
      !s.ok()) {
    return s;
  }
  entries_.slots[key] = v;
  Check();
  return absl::OkStatus();
}

absl::Status FakeMapWriter::DeleteSlot(const yard_slot_key& key) {
  if (absl::Status s =
          Before(absl::StrCat("delete-slot ", key.svc_id, "/", key.slot));
      !s.ok()) {
    return s;
  }
  if (entries_.slots.erase(key) == 0) {
    return absl::NotFoundError("no such slot");
  }
  Check();
  return absl::OkStatus();
}

absl::Status FakeMapWriter::PutFrontend(const yard_svc4_key& key,
                                        const yard_svc_value& v) {
  if (absl::Status s = Before(absl::StrCat("put-frontend ", key.port, "/",
                                           key.proto, " count=", v.count));
      !s.ok()) {
    return s;
  }
  entries_.frontends[key] = v;
  Check();
  return absl::OkStatus();
}

absl::Status FakeMapWriter::DeleteFrontend(const yard_svc4_key& key) {
  if (absl::Status s =
          Before(absl::StrCat("delete-frontend ", key.port, "/", key.proto));
      !s.ok()) {
    return s;
  }
  if (entries_.frontends.erase(key) == 0) {
    return absl::NotFoundError("no such frontend");
  }
  Check();
  return absl::OkStatus();
}

absl::Status FakeMapWriter::PutRevNat(uint32_t id, const yard_rnat4& v) {
  if (absl::Status s = Before(absl::StrCat("put-revnat ", id)); !s.ok()) {
    return s;
  }
  entries_.rev_nat[id] = v;
  Check();
  return absl::OkStatus();
}

absl::Status FakeMapWriter::ClearRevNat(uint32_t id) {
  if (absl::Status s = Before(absl::StrCat("clear-revnat ", id)); !s.ok()) {
    return s;
  }
  entries_.rev_nat.erase(id);
  Check();
  return absl::OkStatus();
}

absl::Status FakeMapWriter::PutSourceRange(const yard_lb_src4_key& key) {
  if (absl::Status s = Before(absl::StrCat("put-range ", ntohl(key.rev_nat_id),
                                           "/", key.prefixlen - 32));
      !s.ok()) {
    return s;
  }
  auto same = [&](const yard_lb_src4_key& r) {
    return r.prefixlen == key.prefixlen && r.rev_nat_id == key.rev_nat_id &&
           r.addr == key.addr;
  };
  auto& ranges = entries_.source_ranges;
  if (std::find_if(ranges.begin(), ranges.end(), same) == ranges.end()) {
    ranges.push_back(key);
  }
  Check();
  return absl::OkStatus();
}

absl::Status FakeMapWriter::DeleteSourceRange(const yard_lb_src4_key& key) {
  if (absl::Status s = Before(absl::StrCat(
          "delete-range ", ntohl(key.rev_nat_id), "/", key.prefixlen - 32));
      !s.ok()) {
    return s;
  }
  auto& ranges = entries_.source_ranges;
  auto it = std::find_if(ranges.begin(), ranges.end(), [&](const auto& r) {
    return r.prefixlen == key.prefixlen && r.rev_nat_id == key.rev_nat_id &&
           r.addr == key.addr;
  });
  if (it == ranges.end()) return absl::NotFoundError("no such range");
  ranges.erase(it);
  Check();
  return absl::OkStatus();
}

absl::Status FakeMapWriter::PutMaglevTable(uint32_t svc_id,
                                           const std::vector<uint32_t>& table) {
  if (absl::Status s = Before(absl::StrCat(
          "put-maglev ", svc_id, " size=", table.empty() ? 0 : table[0]));
      !s.ok()) {
    return s;
  }
  entries_.maglev_tables[svc_id] = table;
  Check();
  return absl::OkStatus();
}

absl::Status FakeMapWriter::DeleteMaglevTable(uint32_t svc_id) {
  if (absl::Status s = Before(absl::StrCat("delete-maglev ", svc_id));
      !s.ok()) {
    return s;
  }
  if (entries_.maglev_tables.erase(svc_id) == 0) {
    return absl::NotFoundError("no such table");
  }
  Check();
  return absl::OkStatus();
}

}  // namespace switchyard::testing
