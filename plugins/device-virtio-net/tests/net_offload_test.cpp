// The offload helpers against the byte-wise reference sum of the test
// support: checksums over odd lengths and odd contents, the bounds of a
// partial checksum, and the packets segmentation refuses.
#include "net_offload.hpp"

#include <gtest/gtest.h>

#include <random>

#include "net_test_support.hpp"

namespace voidbox::net {
namespace {

using namespace testing;

TEST(NetOffloadTest, ChecksumMatchesTheReferenceSum) {
  std::mt19937 rng(7);
  for (std::size_t len : {0u, 1u, 2u, 3u, 5u, 63u, 64u, 1499u, 9001u}) {
    Bytes d(len);
    for (auto& b : d) b = static_cast<std::byte>(rng());
    std::uint16_t ours = csum_fold(csum_add(d, 0));
    Bytes stored(2);
    std::memcpy(stored.data(), &ours, 2);
    EXPECT_EQ(get_be16(stored, 0), ref_fold(ref_sum(d))) << "length " << len;
  }
}

TEST(NetOffloadTest, CompletesAPartialChecksum) {
  Bytes udp_payload = pattern(333);
  Bytes f = ipv4_frame(17, 8, udp_payload);
  set_be16(f, 38, 8 + 333);                  // UDP length
  set_be16(f, 40, ref_fold(pseudo_sum(f)));  // what Linux leaves: the pseudo sum
  ASSERT_TRUE(complete_csum(f, 34, 6));
  EXPECT_TRUE(l4_csum_ok(f));
  EXPECT_NE(get_be16(f, 40), 0);
}

TEST(NetOffloadTest, PartialChecksumOutsideTheFrameIsRefused) {
  Bytes f = pattern(100);
  const Bytes before = f;
  EXPECT_FALSE(complete_csum(f, 101, 0));
  EXPECT_FALSE(complete_csum(f, 99, 0));  // the field needs two bytes
  EXPECT_FALSE(complete_csum(f, 90, 9));
  EXPECT_FALSE(complete_csum(f, 0xffff, 0xffff));
  EXPECT_EQ(f, before);
  EXPECT_TRUE(complete_csum(f, 90, 8));
}

void no_sink(void*, std::span<const std::byte>) {}

TEST(NetOffloadTest, SegmentationRefusesWhatIsNotTcpV4) {
  Bytes scratch(1600);
  Bytes tcp = ipv4_frame(6, 20, pattern(4000));
  tcp[34 + 12] = std::byte{0x50};
  ASSERT_TRUE(segment_tcpv4(tcp, 1460, 1500, scratch, no_sink, nullptr));

  Bytes udp = ipv4_frame(17, 8, pattern(4000));
  EXPECT_EQ(segment_tcpv4(udp, 1460, 1500, scratch, no_sink, nullptr).error(), GsoError::kNotTcpV4);
  Bytes v6 = tcp;
  set_be16(v6, 12, 0x86dd);
  EXPECT_EQ(segment_tcpv4(v6, 1460, 1500, scratch, no_sink, nullptr).error(), GsoError::kNotTcpV4);
  Bytes fragment = tcp;
  set_be16(fragment, 20, 0x2000);  // MF
  EXPECT_EQ(segment_tcpv4(fragment, 1460, 1500, scratch, no_sink, nullptr).error(),
            GsoError::kBadHeaders);
  Bytes short_doff = tcp;
  short_doff[34 + 12] = std::byte{0x40};
  EXPECT_EQ(segment_tcpv4(short_doff, 1460, 1500, scratch, no_sink, nullptr).error(),
            GsoError::kBadHeaders);
  Bytes long_ip = tcp;
  set_be16(long_ip, 16, 60000);  // IP total length past the frame
  EXPECT_EQ(segment_tcpv4(long_ip, 1460, 1500, scratch, no_sink, nullptr).error(),
            GsoError::kBadHeaders);
  EXPECT_EQ(segment_tcpv4(tcp, 0, 1500, scratch, no_sink, nullptr).error(), GsoError::kBadMss);
  EXPECT_EQ(segment_tcpv4({tcp.data(), 40}, 1460, 1500, scratch, no_sink, nullptr).error(),
            GsoError::kBadHeaders);
}

}  // namespace
}  // namespace voidbox::net
