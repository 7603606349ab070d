// Parsing hostile frames: every layer's length fields are checked against the
// bytes present. Frames live in exactly-sized heap buffers, so under ASan a
// read one byte past the end fails the test.
#include "filter/frame_parser.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "test_frames.hpp"

namespace voidbox::net {
namespace {

using namespace testing;

std::expected<ParsedFrame, ParseError> parse_exact(const Bytes& bytes, std::size_t size) {
  // A fresh allocation of exactly `size` bytes: nothing readable beyond it.
  auto copy = std::make_unique<std::uint8_t[]>(size == 0 ? 1 : size);
  std::copy_n(bytes.begin(), size, copy.get());
  auto parsed = parse_frame({copy.get(), size});
  if (parsed && parsed->udp) parsed->udp->payload = {};  // points into `copy`
  return parsed;
}

TEST(FrameParser, TcpSynFields) {
  auto parsed = parse_frame(tcp_frame({.dst = ipv4(93, 184, 216, 34), .dport = 443, .seq = 7}));
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(parsed->ip && parsed->tcp);
  EXPECT_EQ(parsed->ip->source, kGuestAddress);
  EXPECT_EQ(parsed->ip->destination, ipv4(93, 184, 216, 34));
  EXPECT_EQ(parsed->tcp->destination_port, 443);
  EXPECT_EQ(parsed->tcp->source_port, 40000);
  EXPECT_EQ(parsed->tcp->sequence, 7u);
  EXPECT_EQ(parsed->tcp->flags, tcp_flags::syn);
  EXPECT_EQ(parsed->tcp->payload_length, 0u);
}

TEST(FrameParser, EthernetPaddingIsNotPayload) {
  Bytes frame = udp_frame(ipv4(1, 1, 1, 1), 9, {'h', 'i'});
  frame.resize(60, 0xee);  // padded to the Ethernet minimum
  auto parsed = parse_frame(frame);
  ASSERT_TRUE(parsed && parsed->udp);
  ASSERT_EQ(parsed->udp->payload.size(), 2u);
  EXPECT_EQ(parsed->udp->payload[1], 'i');
}

TEST(FrameParser, ArpAndOtherEtherTypes) {
  auto arp = parse_frame(arp_request_frame(kGatewayAddress));
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->ethernet.ether_type, kEtherTypeArp);
  EXPECT_FALSE(arp->ip);
  Bytes ipv6 = ethernet(0x86dd, Bytes(40, 0x60));
  auto v6 = parse_frame(ipv6);
  ASSERT_TRUE(v6);
  EXPECT_FALSE(v6->ip);
}

TEST(FrameParser, EveryTruncationIsRejected) {
  const Bytes frames[] = {
      tcp_frame({.dst = ipv4(1, 2, 3, 4), .payload = {'d', 'a', 't', 'a'}}),
      udp_frame(ipv4(1, 2, 3, 4), 53, dns_query(1, "example.com")),
      icmp_echo_frame(ipv4(1, 2, 3, 4)),
      arp_request_frame(kGatewayAddress),
  };
  for (const Bytes& frame : frames) {
    ASSERT_TRUE(parse_exact(frame, frame.size())) << "frame of " << frame.size();
    for (std::size_t size = 0; size < frame.size(); ++size) {
      auto parsed = parse_exact(frame, size);
      EXPECT_FALSE(parsed) << "prefix of " << size << " of " << frame.size() << " parsed";
      if (parsed) continue;
      if (size < kEthernetHeaderSize) {
        EXPECT_EQ(parsed.error(), ParseError::truncated_ethernet);
      } else if (frame[12] == 0x08 && frame[13] == 0x06) {
        EXPECT_EQ(parsed.error(), ParseError::truncated_arp);
      } else if (size < kL4) {
        EXPECT_EQ(parsed.error(), ParseError::truncated_ipv4);
      } else {
        EXPECT_EQ(parsed.error(), ParseError::bad_ipv4_total_length);
      }
    }
  }
}

void fix_ip_checksum(Bytes& frame) {
  const std::size_t header = std::size_t{frame[kIp] & 0x0fu} * 4;
  put16(frame, kIp + 10, 0);
  if (kIp + header > frame.size()) return;
  put16(frame, kIp + 10,
        checksum_of(
            Bytes(frame.begin() + kIp, frame.begin() + static_cast<std::ptrdiff_t>(kIp + header))));
}

ParseError error_after(Bytes frame, auto&& corrupt) {
  corrupt(frame);
  auto parsed = parse_exact(frame, frame.size());
  EXPECT_FALSE(parsed);
  return parsed ? ParseError::truncated_ethernet : parsed.error();
}

TEST(FrameParser, LyingLengthFieldsAreRejected) {
  const Bytes tcp = tcp_frame({.dst = ipv4(1, 2, 3, 4)});
  const Bytes udp = udp_frame(ipv4(1, 2, 3, 4), 53, {1, 2, 3});
  EXPECT_EQ(error_after(tcp, [](Bytes& f) { f[kIp] = 0x65; }), ParseError::bad_ipv4_version);
  EXPECT_EQ(error_after(tcp, [](Bytes& f) { f[kIp] = 0x44, fix_ip_checksum(f); }),
            ParseError::bad_ipv4_header_length);
  EXPECT_EQ(error_after(tcp, [](Bytes& f) { f[kIp] = 0x4f, fix_ip_checksum(f); }),
            ParseError::bad_ipv4_header_length);  // 60 bytes claimed, 40 present
  EXPECT_EQ(error_after(tcp, [](Bytes& f) { put16(f, kIp + 2, 0xffff), fix_ip_checksum(f); }),
            ParseError::bad_ipv4_total_length);
  EXPECT_EQ(error_after(tcp, [](Bytes& f) { put16(f, kIp + 2, 19), fix_ip_checksum(f); }),
            ParseError::bad_ipv4_total_length);
  EXPECT_EQ(error_after(tcp, [](Bytes& f) { f[kIp + 8] ^= 1; }), ParseError::bad_ipv4_checksum);
  EXPECT_EQ(error_after(tcp, [](Bytes& f) { f[kL4 + 12] = 0xf0; }),
            ParseError::bad_tcp_data_offset);
  EXPECT_EQ(error_after(tcp, [](Bytes& f) { f[kL4 + 12] = 0x40; }),
            ParseError::bad_tcp_data_offset);
  EXPECT_EQ(error_after(udp, [](Bytes& f) { put16(f, kL4 + 4, 12); }), ParseError::bad_udp_length);
  EXPECT_EQ(error_after(udp, [](Bytes& f) { put16(f, kL4 + 4, 7); }), ParseError::bad_udp_length);
  EXPECT_EQ(error_after(arp_request_frame(1), [](Bytes& f) { f[kIp + 4] = 8; }),
            ParseError::bad_arp);
}

TEST(FrameParser, IpOptionsAreSkipped) {
  Bytes frame = udp_frame(ipv4(1, 2, 3, 4), 7, {'x'});
  frame.insert(frame.begin() + kL4, {1, 1, 1, 0});  // NOP NOP NOP EOL
  frame[kIp] = 0x46;
  put16(frame, kIp + 2, get16(frame, kIp + 2) + 4);
  fix_ip_checksum(frame);
  auto parsed = parse_frame(frame);
  ASSERT_TRUE(parsed && parsed->udp);
  EXPECT_EQ(parsed->ip->header_length, 24u);
  EXPECT_EQ(parsed->udp->destination_port, 7);
}

TEST(FrameParser, FragmentsCarryNoTransportHeader) {
  Bytes frame = ethernet(0x0800, ipv4_packet(6, kGuestIp, ipv4(1, 2, 3, 4), Bytes(8, 0), 0x0010));
  auto parsed = parse_frame(frame);
  ASSERT_TRUE(parsed && parsed->ip);
  EXPECT_TRUE(parsed->ip->fragment);
  EXPECT_FALSE(parsed->tcp);
  frame = ethernet(0x0800, ipv4_packet(17, kGuestIp, ipv4(1, 2, 3, 4), Bytes(8, 0), 0x2000));
  parsed = parse_frame(frame);
  ASSERT_TRUE(parsed && parsed->ip);
  EXPECT_TRUE(parsed->ip->fragment);
}

}  // namespace
}  // namespace voidbox::net
