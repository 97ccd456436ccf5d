// SPDX-License-Identifier: Apache-2.0
// The packet library (control/packet) checked against vectors computed by
// hand, so the BPF tests' expected packets rest on something other than
// themselves.
#include "control/packet/packet_builder.h"

#include <string>

#include "control/packet/checksum.h"
#include "control/packet/packet_decoder.h"
#include "gtest/gtest.h"

namespace switchyard::packet {
namespace {

TEST(ChecksumTest, Rfc1071Example) {
  // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2.
  const Bytes data = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(OnesSum(data), 0x00001 + 0xf203 + 0xf4f5 + 0xf6f7);
  EXPECT_EQ(InternetChecksum(data), 0x220d);
}

TEST(ChecksumTest, OddLengthPadsWithZero) {
  const Bytes odd = {0x12, 0x34, 0x56};
  const Bytes padded = {0x12, 0x34, 0x56, 0x00};
  EXPECT_EQ(InternetChecksum(odd), InternetChecksum(padded));
  EXPECT_EQ(InternetChecksum(odd), static_cast<uint16_t>(~(0x1234 + 0x5600)));
}

TEST(ChecksumTest, CarriesFoldBack) {
  // 0xffff + 0x0002 = 0x10001 -> 0x0002 after folding, complemented 0xfffd.
  const Bytes data = {0xff, 0xff, 0x00, 0x02};
  EXPECT_EQ(InternetChecksum(data), 0xfffd);
}

TEST(ChecksumTest, KnownIpv4Header) {
  // A widely published header: 192.168.0.1 -> 192.168.0.199, UDP, DF,
  // TTL 64, total length 115; its checksum is 0xb861.
  const Bytes header = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
                        0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
                        0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(InternetChecksum(header), 0xb861);
  const Bytes frame = PacketBuilder()
                          .Ipv4("192.168.0.1", "192.168.0.199")
                          .DontFragment()
                          .Udp(1, 2)
                          .Payload(Bytes(115 - 28, 0))
                          .Build();
  const DecodedFrame d = Decode(frame);
  ASSERT_TRUE(d.ip.has_value());
  EXPECT_EQ(d.ip->tot_len, 115);
  EXPECT_EQ(d.ip->check, 0xb861);
}

// 10.0.0.1:1234 -> 10.0.0.2:80, SYN, seq 1, window 65535, DF, TTL 64.
// Hand-computed: IP header sum 0xd931 -> check 0x26ce; TCP pseudo-header
// 0x141d plus header 0x5525 (with carry) -> 0x6942 -> check 0x96bd.
TEST(PacketBuilderTest, TcpSynMatchesHandComputedFrame) {
  const Bytes want = {
      // Ethernet: dst, src, type.
      0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
      0x08, 0x00,
      // IPv4.
      0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x26, 0xce,
      0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
      // TCP.
      0x04, 0xd2, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
      0x50, 0x02, 0xff, 0xff, 0x96, 0xbd, 0x00, 0x00};
  const Bytes got = PacketBuilder()
                        .Ipv4("10.0.0.1", "10.0.0.2")
                        .DontFragment()
                        .Tcp(1234, 80)
                        .Flags(kTcpSyn)
                        .Seq(1)
                        .Build();
  EXPECT_EQ(got, want) << DiffFrames(want, got);
  EXPECT_TRUE(VerifyChecksums(got).ok());
}

// 10.0.0.1:1234 -> 10.0.0.2:80, "hi". Pseudo-header and header words sum
// to 0x81b3 without carry -> check 0x7e4c. IP: no DF -> check 0x66cd.
TEST(PacketBuilderTest, UdpMatchesHandComputedFrame) {
  const Bytes want = {
      0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
      0x08, 0x00,
      // IPv4: 4500 001e 0000 0000 4011 + addresses -> 0x9932 -> 0x66cd.
      0x45, 0x00, 0x00, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x40, 0x11, 0x66, 0xcd,
      0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
      // UDP.
      0x04, 0xd2, 0x00, 0x50, 0x00, 0x0a, 0x7e, 0x4c, 'h', 'i'};
  const Bytes got = PacketBuilder()
                        .Ipv4("10.0.0.1", "10.0.0.2")
                        .Udp(1234, 80)
                        .Payload("hi")
                        .Build();
  EXPECT_EQ(got, want) << DiffFrames(want, got);
  EXPECT_TRUE(VerifyChecksums(got).ok());
}

TEST(PacketBuilderTest, IcmpEchoMatchesHandComputedChecksum) {
  // 0800 0000 0001 0001 6162 6364 sums to 0xccc8 -> check 0x3337.
  const Bytes frame = PacketBuilder()
                          .Ipv4("10.0.0.1", "10.0.0.2")
                          .Icmp(kIcmpEcho, 0, 0x00010001)
                          .Payload("abcd")
                          .Build();
  const DecodedFrame d = Decode(frame);
  ASSERT_TRUE(d.icmp.has_value());
  EXPECT_EQ(d.icmp->check, 0x3337);
  EXPECT_EQ(d.ip->protocol, kProtoIcmp);
  EXPECT_TRUE(VerifyChecksums(frame).ok());
}

TEST(PacketBuilderTest, UdpChecksumZeroIsSentAsAllOnes) {
  // With payload word w the sum is S + w; choosing w = ~S (the checksum
  // of the frame with w = 0) makes the sum 0xffff, whose complement 0
  // must go on the wire as 0xffff.
  PacketBuilder b;
  b.Ipv4("10.1.2.3", "10.4.5.6").Udp(5000, 53);
  const uint16_t w = Decode(b.Payload(Bytes{0, 0}).Build()).udp->check;
  const Bytes frame =
      b.Payload(Bytes{static_cast<uint8_t>(w >> 8), static_cast<uint8_t>(w)})
          .Build();
  EXPECT_EQ(Decode(frame).udp->check, 0xffff);
  EXPECT_TRUE(VerifyChecksums(frame).ok());
}

TEST(PacketBuilderTest, NoUdpChecksumLeavesZero) {
  const Bytes frame = PacketBuilder()
                          .Ipv4("10.0.0.1", "10.0.0.2")
                          .Udp(1, 2)
                          .NoUdpChecksum()
                          .Payload("x")
                          .Build();
  EXPECT_EQ(Decode(frame).udp->check, 0);
  EXPECT_TRUE(VerifyChecksums(frame).ok());
}

TEST(PacketBuilderTest, OptionsAndFlags) {
  const Bytes frame = PacketBuilder()
                          .Ipv4("10.0.0.1", "10.0.0.2")
                          .IpOptions({0x01, 0x01, 0x01, 0x00})
                          .Id(0x1234)
                          .Ttl(7)
                          .Tos(0x10)
                          .MoreFragments()
                          .FragmentOffset(3)
                          .Tcp(1, 2)
                          .TcpOptions({0x02, 0x04, 0x05, 0xb4})
                          .Flags(kTcpSyn | kTcpAck)
                          .Payload("data")
                          .Build();
  const DecodedFrame d = Decode(frame);
  ASSERT_TRUE(d.ip.has_value());
  EXPECT_EQ(d.ip->ihl, 6);
  EXPECT_EQ(d.ip->tot_len, 24 + 24 + 4);
  EXPECT_EQ(d.ip->id, 0x1234);
  EXPECT_EQ(d.ip->ttl, 7);
  EXPECT_EQ(d.ip->tos, 0x10);
  EXPECT_TRUE(d.ip->mf);
  EXPECT_FALSE(d.ip->df);
  EXPECT_EQ(d.ip->frag_offset, 3);
  EXPECT_EQ(d.ip->options, (Bytes{0x01, 0x01, 0x01, 0x00}));
  // A later fragment carries no L4 header: the decoder leaves it payload.
  EXPECT_FALSE(d.tcp.has_value());
  EXPECT_EQ(d.payload.size(), 28u);

  const Bytes first = PacketBuilder()
                          .Ipv4("10.0.0.1", "10.0.0.2")
                          .IpOptions({0x01, 0x01, 0x01, 0x00})
                          .Tcp(1, 2)
                          .TcpOptions({0x02, 0x04, 0x05, 0xb4})
                          .Flags(kTcpSyn | kTcpAck)
                          .Payload("data")
                          .Build();
  const DecodedFrame f = Decode(first);
  ASSERT_TRUE(f.tcp.has_value());
  EXPECT_EQ(f.tcp->doff, 6);
  EXPECT_EQ(f.tcp->flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(f.payload, (Bytes{'d', 'a', 't', 'a'}));
  EXPECT_TRUE(VerifyChecksums(first).ok());
}

TEST(PacketBuilderTest, VlanTagAndOtherEtherTypes) {
  const Bytes tagged =
      PacketBuilder().Vlan(100).Ipv4("10.0.0.1", "10.0.0.2").Udp(1, 2).Build();
  EXPECT_EQ(tagged[12], 0x81);
  EXPECT_EQ(tagged[13], 0x00);
  EXPECT_EQ(tagged[14], 0x00);
  EXPECT_EQ(tagged[15], 100);
  EXPECT_EQ(tagged[16], 0x08);
  EXPECT_EQ(tagged[17], 0x00);
  const DecodedFrame d = Decode(tagged);
  ASSERT_TRUE(d.vlan.has_value());
  ASSERT_TRUE(d.udp.has_value());
  EXPECT_TRUE(VerifyChecksums(tagged).ok());

  const Bytes arp =
      PacketBuilder().EtherType(kEthArp).Payload(Bytes(28, 0xaa)).Build();
  EXPECT_EQ(arp.size(), 14u + 28u);
  EXPECT_FALSE(Decode(arp).ip.has_value());
}

TEST(PacketBuilderTest, OverridesAndTruncation) {
  const Bytes bad = PacketBuilder()
                        .Ipv4("10.0.0.1", "10.0.0.2")
                        .Ihl(4)
                        .TotalLength(10)
                        .Tcp(1, 2)
                        .Build();
  EXPECT_EQ(bad[14], 0x44);
  EXPECT_EQ(bad[17], 10);
  // The header checksum is still right for the bytes as written.
  EXPECT_EQ(InternetChecksum(absl::MakeConstSpan(bad).subspan(14, 20)), 0);

  const Bytes cut = PacketBuilder()
                        .Ipv4("10.0.0.1", "10.0.0.2")
                        .Tcp(1, 2)
                        .TruncateTo(14 + 20 + 10)
                        .Build();
  EXPECT_EQ(cut.size(), 44u);
  EXPECT_EQ(Decode(cut).incomplete, "ipv4 datagram, tcp header");
  const Bytes short_l4 = PacketBuilder()
                             .Ipv4("10.0.0.1", "10.0.0.2")
                             .TotalLength(30)
                             .Tcp(1, 2)
                             .TruncateTo(44)
                             .Build();
  EXPECT_EQ(Decode(short_l4).incomplete, "tcp header");

  const Bytes padded = PacketBuilder()
                           .Ipv4("10.0.0.1", "10.0.0.2")
                           .Udp(1, 2)
                           .Trailer(Bytes(18, 0))
                           .Build();
  EXPECT_EQ(padded.size(), 60u);
  EXPECT_EQ(Decode(padded).trailer.size(), 18u);
  EXPECT_TRUE(VerifyChecksums(padded).ok());
}

TEST(PacketDecoderTest, DiffNamesFieldsNotBytes) {
  const Bytes want = PacketBuilder()
                         .Ipv4("10.244.0.5", "10.244.1.2")
                         .Tcp(40000, 8080)
                         .Flags(kTcpSyn)
                         .Build();
  const Bytes got = PacketBuilder()
                        .Ipv4("10.244.0.5", "10.96.0.10")
                        .Tcp(40000, 8080)
                        .Flags(kTcpSyn)
                        .Build();
  EXPECT_EQ(DiffFrames(want, want), "");
  const std::string diff = DiffFrames(want, got);
  EXPECT_NE(diff.find("ip.daddr: expected 10.244.1.2 got 10.96.0.10\n"),
            std::string::npos)
      << diff;
  EXPECT_NE(diff.find("ip.check: expected 0x"), std::string::npos) << diff;
  EXPECT_NE(diff.find("tcp.check: expected 0x"), std::string::npos) << diff;
  EXPECT_EQ(diff.find("tcp.sport"), std::string::npos) << diff;
}

TEST(PacketDecoderTest, DiffShowsPayloadAndLengthChanges) {
  const Bytes want = PacketBuilder()
                         .Ipv4("10.0.0.1", "10.0.0.2")
                         .Udp(1, 2)
                         .Payload("abcd")
                         .Build();
  const Bytes got = PacketBuilder()
                        .Ipv4("10.0.0.1", "10.0.0.2")
                        .Udp(1, 2)
                        .Payload("abXd")
                        .Build();
  const std::string diff = DiffFrames(want, got);
  EXPECT_NE(diff.find("first difference at payload byte 2"), std::string::npos)
      << diff;
  const std::string vs_arp =
      DiffFrames(want, PacketBuilder().EtherType(kEthArp).Payload("x").Build());
  EXPECT_NE(vs_arp.find("ip.saddr: expected 10.0.0.1 got (absent)"),
            std::string::npos)
      << vs_arp;
}

TEST(PacketDecoderTest, IcmpErrorQuoteIsDecoded) {
  const Bytes request = PacketBuilder()
                            .Ipv4("10.244.0.5", "10.96.0.20")
                            .Udp(5353, 53)
                            .Payload("query")
                            .Build();
  const Bytes quote(request.begin() + 14, request.begin() + 14 + 28);
  const Bytes error = PacketBuilder()
                          .Ipv4("10.96.0.20", "10.244.0.5")
                          .Icmp(kIcmpDestUnreach, kIcmpPortUnreach)
                          .Payload(quote)
                          .Build();
  bool saw_dport = false;
  for (const auto& [name, value] : Fields(error)) {
    if (name == "icmp.quote.udp.dport") {
      EXPECT_EQ(value, "53");
      saw_dport = true;
    }
  }
  EXPECT_TRUE(saw_dport) << Describe(error);
  EXPECT_TRUE(VerifyChecksums(error).ok());
}

TEST(PacketDecoderTest, VerifyChecksumsNamesTheBadField) {
  Bytes frame = PacketBuilder()
                    .Ipv4("10.0.0.1", "10.0.0.2")
                    .Tcp(1, 2)
                    .Payload("abc")
                    .Build();
  frame.back() ^= 0xff;  // payload byte: only the TCP checksum goes wrong
  absl::Status s = VerifyChecksums(frame);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("tcp.check: stored 0x"), absl::string_view::npos)
      << s;
  EXPECT_EQ(s.message().find("ip.check"), absl::string_view::npos) << s;

  frame[14 + 8] ^= 1;  // TTL: the header checksum goes wrong too
  s = VerifyChecksums(frame);
  EXPECT_NE(s.message().find("ip.check: stored 0x"), absl::string_view::npos)
      << s;
}

}  // namespace
}  // namespace switchyard::packet
