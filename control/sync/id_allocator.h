// SPDX-License-Identifier: Apache-2.0
// Ids 1..limit-1 for map entries (0 means "none" in the datapath).
#ifndef SWITCHYARD_CONTROL_SYNC_ID_ALLOCATOR_H_
#define SWITCHYARD_CONTROL_SYNC_ID_ALLOCATOR_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace switchyard::sync {

// Freed ids are reused oldest-first: a backend id that was just freed may
// still be named by connection-tracking entries, and the longer it rests
// the fewer such entries survive. (The datapath also checks the backend's
// address, so a reuse can never misdirect a flow, only end it.)
class IdAllocator {
 public:
  explicit IdAllocator(uint32_t limit)
      : limit_(limit), used_(limit > 0 ? limit : 1, false) {
    used_[0] = true;  // never handed out
  }

  std::optional<uint32_t> Allocate() {
    // Never-used ids first, then the oldest freed one.
    while (next_ < limit_) {
      uint32_t id = next_++;
      if (!used_[id]) return Take(id);
    }
    while (!freed_.empty()) {
      uint32_t id = freed_.front();
      freed_.pop_front();
      if (!used_[id]) return Take(id);
    }
    return std::nullopt;
  }

  // For adoption: marks an id found in the maps as taken.
  bool Claim(uint32_t id) {
    if (id == 0 || id >= limit_ || used_[id]) return false;
    Take(id);
    return true;
  }

  void Free(uint32_t id) {
    if (id == 0 || id >= limit_ || !used_[id]) return;
    used_[id] = false;
    --in_use_;
    freed_.push_back(id);
  }

  // How many more ids Allocate() can hand out.
  uint32_t available() const { return limit_ > 0 ? limit_ - 1 - in_use_ : 0; }

 private:
  uint32_t Take(uint32_t id) {
    used_[id] = true;
    ++in_use_;
    return id;
  }

  uint32_t limit_;
  uint32_t next_ = 1;
  uint32_t in_use_ = 0;
  std::vector<bool> used_;  // a bit per id: 32 KiB for 262,144 backends
  std::deque<uint32_t> freed_;
};

}  // namespace switchyard::sync

#endif  // SWITCHYARD_CONTROL_SYNC_ID_ALLOCATOR_H_
