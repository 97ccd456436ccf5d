// SPDX-License-Identifier: Apache-2.0
#include "bench/kubeproxy/chain_names.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "control/names/protocol_names.h"

namespace switchyard::bench::kubeproxy {
namespace {

// FNV-1a, 64 bits, from a given offset basis.
uint64_t Fnv1a(absl::string_view text, uint64_t basis) {
  uint64_t h = basis;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace

std::string Digest(absl::string_view text, int length) {
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  // Three independent 64-bit digests: 120 bits, enough for 24 characters.
  const uint64_t words[3] = {Fnv1a(text, 0xcbf29ce484222325ull),
                             Fnv1a(text, 0x84222325cbf29ce4ull),
                             Fnv1a(text, 0x9e3779b97f4a7c15ull)};
  std::string out;
  for (int i = 0; i < length && i < 24; ++i) {
    const uint64_t w = words[i / 8];
    out.push_back(kAlphabet[(w >> ((i % 8) * 5)) & 31]);
  }
  return out;
}

std::string RuleProtoName(uint8_t proto) {
  return absl::AsciiStrToLower(names::ProtoName(proto));
}

}  // namespace switchyard::bench::kubeproxy
