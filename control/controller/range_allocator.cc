// SPDX-License-Identifier: Apache-2.0
#include "control/controller/range_allocator.h"

#include <bit>

namespace switchyard::controller {

RangeAllocator::RangeAllocator(uint32_t first, uint32_t size)
    : first_(first), size_(size), words_((size_t{size} + 63) / 64, 0) {
  if (size % 64 != 0) words_.back() = ~uint64_t{0} << (size % 64);
}

bool RangeAllocator::IsTaken(uint32_t value) const {
  if (!Contains(value)) return false;
  uint32_t bit = value - first_;
  return (words_[bit / 64] >> (bit % 64)) & 1;
}

void RangeAllocator::Take(uint32_t value) {
  if (!Contains(value) || IsTaken(value)) return;
  uint32_t bit = value - first_;
  words_[bit / 64] |= uint64_t{1} << (bit % 64);
  ++taken_;
  while (first_maybe_free_word_ < words_.size() &&
         words_[first_maybe_free_word_] == ~uint64_t{0}) {
    ++first_maybe_free_word_;
  }
}

void RangeAllocator::Release(uint32_t value) {
  if (!IsTaken(value)) return;
  uint32_t bit = value - first_;
  words_[bit / 64] &= ~(uint64_t{1} << (bit % 64));
  --taken_;
  if (bit / 64 < first_maybe_free_word_) first_maybe_free_word_ = bit / 64;
}

std::optional<uint32_t> RangeAllocator::LowestFree() const {
  for (size_t w = first_maybe_free_word_; w < words_.size(); ++w) {
    if (words_[w] != ~uint64_t{0}) {
      return first_ +
             static_cast<uint32_t>(w * 64 + std::countr_one(words_[w]));
    }
  }
  return std::nullopt;
}

}  // namespace switchyard::controller
