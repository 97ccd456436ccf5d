// SPDX-License-Identifier: Apache-2.0
// The index behind ClusterIP and nodePort allocation: which values of a
// contiguous range are taken, and the lowest free one.
#ifndef SWITCHYARD_CONTROL_CONTROLLER_RANGE_ALLOCATOR_H_
#define SWITCHYARD_CONTROL_CONTROLLER_RANGE_ALLOCATOR_H_

#include <cstdint>
#include <optional>
#include <vector>

namespace switchyard::controller {

// A bitmap over [first, first + size). A /12 service CIDR is 2^20 values,
// 128 KiB of bits, so both a lookup and "lowest free" stay cheap however
// many services exist; "lowest free" resumes from the lowest word that may
// have a free bit, so allocating n values in a row costs O(n) overall, not
// O(n^2) as a scan from the start would.
class RangeAllocator {
 public:
  RangeAllocator(uint32_t first, uint32_t size);

  uint32_t first() const { return first_; }
  uint32_t size() const { return size_; }
  bool Contains(uint32_t value) const {
    return value >= first_ && value - first_ < size_;
  }
  // Callers check Contains first; values outside the range are never taken.
  bool IsTaken(uint32_t value) const;
  void Take(uint32_t value);
  void Release(uint32_t value);
  // The lowest value not taken, or nullopt when the range is full.
  std::optional<uint32_t> LowestFree() const;
  uint32_t taken() const { return taken_; }

 private:
  uint32_t first_;
  uint32_t size_;
  uint32_t taken_ = 0;
  // Bit set = taken. Bits past size_ in the last word are set so that a
  // full word is simply ~0.
  std::vector<uint64_t> words_;
  // Every word below this index is full.
  size_t first_maybe_free_word_ = 0;
};

}  // namespace switchyard::controller

#endif  // SWITCHYARD_CONTROL_CONTROLLER_RANGE_ALLOCATOR_H_
