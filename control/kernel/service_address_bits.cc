// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/service_address_bits.h"

#include <algorithm>
#include <cstring>

namespace switchyard::kernel {

ServiceAddressBits::ServiceAddressBits() : image_(YARD_SVC_ADDR_WORDS, 0) {}

uint64_t ServiceAddressBits::Packed(const yard_svc4_key& key) {
  static_assert(sizeof(yard_svc4_key) == sizeof(uint64_t));
  uint64_t packed;
  std::memcpy(&packed, &key, sizeof(packed));
  return packed;
}

ServiceAddressBits::Words ServiceAddressBits::Sorted(
    const absl::flat_hash_set<uint32_t>& words,
    const std::vector<uint64_t>& image) {
  Words out;
  out.reserve(words.size());
  for (uint32_t w : words) out.emplace_back(w, image[w]);
  std::sort(out.begin(), out.end());
  return out;
}

ServiceAddressBits::Words ServiceAddressBits::Reset(
    absl::Span<const yard_svc4_key> present) {
  keys_.clear();
  per_bit_.clear();
  std::fill(image_.begin(), image_.end(), 0);
  Added(present);
  Words all;
  all.reserve(image_.size());
  for (uint32_t w = 0; w < image_.size(); ++w) all.emplace_back(w, image_[w]);
  return all;
}

ServiceAddressBits::Words ServiceAddressBits::Added(
    absl::Span<const yard_svc4_key> keys) {
  absl::flat_hash_set<uint32_t> changed;
  for (const yard_svc4_key& key : keys) {
    if (key.scope != YARD_SCOPE_INTERNAL) continue;
    if (!keys_.insert(Packed(key)).second) continue;
    const uint32_t bit = yard_svc_addr_bit(key.addr);
    if (per_bit_[bit]++ > 0) continue;
    image_[bit / 64] |= uint64_t{1} << (bit % 64);
    changed.insert(bit / 64);
  }
  return Sorted(changed, image_);
}

ServiceAddressBits::Words ServiceAddressBits::Removed(
    absl::Span<const yard_svc4_key> keys) {
  absl::flat_hash_set<uint32_t> changed;
  for (const yard_svc4_key& key : keys) {
    if (key.scope != YARD_SCOPE_INTERNAL) continue;
    if (keys_.erase(Packed(key)) == 0) continue;
    const uint32_t bit = yard_svc_addr_bit(key.addr);
    auto it = per_bit_.find(bit);
    if (it == per_bit_.end() || --it->second > 0) continue;
    per_bit_.erase(it);
    image_[bit / 64] &= ~(uint64_t{1} << (bit % 64));
    changed.insert(bit / 64);
  }
  return Sorted(changed, image_);
}

bool ServiceAddressBits::Test(uint32_t addr_be) const {
  const uint32_t bit = yard_svc_addr_bit(addr_be);
  return (image_[bit / 64] >> (bit % 64)) & 1;
}

}  // namespace switchyard::kernel
