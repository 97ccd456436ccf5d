// SPDX-License-Identifier: Apache-2.0
#include "control/kernel/service_address_bits.h"

#include <arpa/inet.h>

#include <cstdint>
#include <vector>

#include "control/kernel/datapath_maps.h"
#include "gtest/gtest.h"

namespace switchyard::kernel {
namespace {

uint32_t Ip(const char* text) {
  in_addr a = {};
  EXPECT_EQ(inet_pton(AF_INET, text, &a), 1) << text;
  return a.s_addr;
}

yard_svc4_key Port(const char* addr, uint16_t port,
                   uint8_t scope = YARD_SCOPE_INTERNAL) {
  return ServiceKey(Ip(addr), htons(port), 6, scope);
}

// The word and bit an address sets.
uint32_t WordOf(const char* addr) { return yard_svc_addr_bit(Ip(addr)) / 64; }
uint64_t MaskOf(const char* addr) {
  return uint64_t{1} << (yard_svc_addr_bit(Ip(addr)) % 64);
}

TEST(ServiceAddressBitsTest, FirstKeyOfAnAddressSetsItsBitOnce) {
  ServiceAddressBits bits;
  bits.Reset({});
  ServiceAddressBits::Words w = bits.Added({Port("10.96.0.10", 53)});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].first, WordOf("10.96.0.10"));
  EXPECT_EQ(w[0].second & MaskOf("10.96.0.10"), MaskOf("10.96.0.10"));
  EXPECT_TRUE(bits.Test(Ip("10.96.0.10")));
  // More keys of the address, or the same key again: nothing to write.
  EXPECT_TRUE(bits.Added({Port("10.96.0.10", 53), WildcardKey(Ip("10.96.0.10")),
                          Port("10.96.0.10", 9153)})
                  .empty());
}

TEST(ServiceAddressBitsTest, BitClearsOnlyAfterTheAddressLastKeyGoes) {
  ServiceAddressBits bits;
  bits.Reset({});
  const yard_svc4_key dns = Port("10.96.0.10", 53);
  const yard_svc4_key wild = WildcardKey(Ip("10.96.0.10"));
  bits.Added({dns, wild});
  EXPECT_TRUE(bits.Removed({dns}).empty());
  EXPECT_TRUE(bits.Test(Ip("10.96.0.10")));
  ServiceAddressBits::Words w = bits.Removed({wild});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].second & MaskOf("10.96.0.10"), 0u);
  EXPECT_FALSE(bits.Test(Ip("10.96.0.10")));
  // A key deleted twice, or never added, changes nothing.
  EXPECT_TRUE(bits.Removed({wild, Port("10.96.0.11", 80)}).empty());
}

TEST(ServiceAddressBitsTest, OutsideScopeKeysAreNotPods) {
  ServiceAddressBits bits;
  bits.Reset({});
  // A NodePort seen from outside: pods do not reach it through this key.
  EXPECT_TRUE(
      bits.Added({Port("192.168.1.5", 30080, YARD_SCOPE_EXTERNAL)}).empty());
  EXPECT_FALSE(bits.Test(Ip("192.168.1.5")));
}

TEST(ServiceAddressBitsTest, AddressesSharingABitKeepItUntilBothGo) {
  // Two addresses on one bit: found by trying, the table is 2^20 bits.
  const uint32_t a = Ip("10.96.0.1");
  uint32_t b = 0;
  for (uint32_t host = 2; host < (1u << 24) && b == 0; ++host) {
    const uint32_t candidate = htonl(0x0a000000u | host);
    if (yard_svc_addr_bit(candidate) == yard_svc_addr_bit(a)) b = candidate;
  }
  ASSERT_NE(b, 0u);
  ServiceAddressBits bits;
  bits.Reset({});
  bits.Added({ServiceKey(a, htons(443), 6), ServiceKey(b, htons(80), 6)});
  EXPECT_TRUE(bits.Removed({ServiceKey(a, htons(443), 6)}).empty());
  EXPECT_TRUE(bits.Test(b));
  EXPECT_EQ(bits.Removed({ServiceKey(b, htons(80), 6)}).size(), 1u);
  EXPECT_FALSE(bits.Test(a));
}

TEST(ServiceAddressBitsTest, ResetGivesEveryWordFromWhatIsPresent) {
  ServiceAddressBits bits;
  bits.Added({Port("10.96.0.99", 80)});  // before: forgotten by Reset
  ServiceAddressBits::Words all =
      bits.Reset({Port("10.96.0.10", 53), Port("10.96.5.7", 80)});
  ASSERT_EQ(all.size(), YARD_SVC_ADDR_WORDS);
  int set = 0;
  for (const auto& [index, word] : all) set += __builtin_popcountll(word);
  EXPECT_EQ(set, 2);
  EXPECT_FALSE(bits.Test(Ip("10.96.0.99")));
  EXPECT_TRUE(bits.Test(Ip("10.96.5.7")));
}

TEST(ServiceAddressBitsTest, ServiceAddressesSpreadOverTheTable) {
  // 10,000 consecutive ClusterIPs: the hash must not pile them up.
  ServiceAddressBits bits;
  bits.Reset({});
  std::vector<yard_svc4_key> keys;
  for (uint32_t i = 0; i < 10000; ++i) {
    keys.push_back(ServiceKey(htonl(0x0a600000u + i), htons(80), 6));
  }
  int set = 0;
  for (const auto& [index, word] : bits.Added(keys)) {
    set += __builtin_popcountll(word);
  }
  EXPECT_GT(set, 9800);
  // Pod addresses next to them mostly find their bit clear.
  int maybe = 0;
  for (uint32_t i = 0; i < 10000; ++i) {
    maybe += bits.Test(htonl(0x0af40000u + i)) ? 1 : 0;
  }
  EXPECT_LT(maybe, 500);
}

}  // namespace
}  // namespace switchyard::kernel
