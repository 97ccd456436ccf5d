// SPDX-License-Identifier: Apache-2.0
// The contents of yard_svc_addrs (bpf/include/yard_abi.h), kept beside the
// frontends map: which 64-bit words change as frontends seen by pods come
// and go. Pure bookkeeping, no map access: DatapathMaps writes the words it
// returns, set bits before the frontends that need them, cleared ones after
// the last such frontend is gone, so a packet to a frontend never finds
// its bit clear.
#ifndef SWITCHYARD_CONTROL_KERNEL_SERVICE_ADDRESS_BITS_H_
#define SWITCHYARD_CONTROL_KERNEL_SERVICE_ADDRESS_BITS_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/types/span.h"
#include "control/kernel/abi.h"

namespace switchyard::kernel {

class ServiceAddressBits {
 public:
  // (word index, the word's new value), each word once, in index order.
  using Words = std::vector<std::pair<uint32_t, uint64_t>>;

  ServiceAddressBits();

  // Starts over from the frontend keys the map holds: every word, to be
  // written whole. Words written before this describe only the keys seen
  // since construction, so a writer resets from the map first.
  Words Reset(absl::Span<const yard_svc4_key> present);

  // Keys about to be written (new or overwritten; any scope: only
  // YARD_SCOPE_INTERNAL counts): the words whose bits they set.
  Words Added(absl::Span<const yard_svc4_key> keys);

  // Keys deleted: the words whose last key is gone.
  Words Removed(absl::Span<const yard_svc4_key> keys);

  bool Test(uint32_t addr_be) const;

 private:
  static uint64_t Packed(const yard_svc4_key& key);
  static Words Sorted(const absl::flat_hash_set<uint32_t>& words,
                      const std::vector<uint64_t>& image);

  absl::flat_hash_set<uint64_t> keys_;               // internal keys present
  absl::flat_hash_map<uint32_t, uint32_t> per_bit_;  // bit -> keys
  std::vector<uint64_t> image_;                      // the map's words
};

}  // namespace switchyard::kernel

#endif  // SWITCHYARD_CONTROL_KERNEL_SERVICE_ADDRESS_BITS_H_
