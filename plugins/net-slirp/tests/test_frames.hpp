// Builds real guest frames for the filter tests, and checks the frames the
// filter sends back. Its checksum code is written separately from the
// library's, so a wrong checksum in a reply cannot pass by agreeing with
// itself.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace voidbox::net::testing {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::array<std::uint8_t, 6> kGuestMac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
inline constexpr std::array<std::uint8_t, 6> kGatewayMac = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
inline constexpr std::uint32_t kGuestIp = 0x0a00020f;  // 10.0.2.15

inline std::uint16_t get16(const Bytes& b, std::size_t at) {
  return static_cast<std::uint16_t>((b.at(at) << 8) | b.at(at + 1));
}
inline std::uint32_t get32(const Bytes& b, std::size_t at) {
  return (std::uint32_t{get16(b, at)} << 16) | get16(b, at + 2);
}
inline void put16(Bytes& b, std::size_t at, std::uint32_t v) {
  b.at(at) = static_cast<std::uint8_t>(v >> 8);
  b.at(at + 1) = static_cast<std::uint8_t>(v);
}
inline void put32(Bytes& b, std::size_t at, std::uint32_t v) {
  put16(b, at, v >> 16);
  put16(b, at + 2, v & 0xffff);
}

// RFC 1071, summing 16-bit words of `words` (zero-padded) into a 32-bit
// accumulator; returns the folded sum (0xffff for data that checks).
inline std::uint16_t folded_sum(const Bytes& words) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < words.size(); i += 2) {
    const std::uint32_t hi = words[i];
    const std::uint32_t lo = i + 1 < words.size() ? words[i + 1] : 0;
    sum += (hi << 8) + lo;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<std::uint16_t>(sum);
}
inline std::uint16_t checksum_of(const Bytes& words) {
  return static_cast<std::uint16_t>(~folded_sum(words));
}

// The pseudo-header followed by the transport bytes, for TCP/UDP sums.
inline Bytes with_pseudo_header(std::uint32_t src, std::uint32_t dst, std::uint8_t protocol,
                                const Bytes& segment) {
  Bytes out(12);
  put32(out, 0, src);
  put32(out, 4, dst);
  out[9] = protocol;
  put16(out, 10, static_cast<std::uint32_t>(segment.size()));
  out.insert(out.end(), segment.begin(), segment.end());
  return out;
}

inline Bytes ipv4_packet(std::uint8_t protocol, std::uint32_t src, std::uint32_t dst,
                         const Bytes& payload, std::uint16_t fragment_field = 0x4000) {
  Bytes ip(20);
  ip[0] = 0x45;
  put16(ip, 2, static_cast<std::uint32_t>(20 + payload.size()));
  put16(ip, 4, 0x1234);
  put16(ip, 6, fragment_field);
  ip[8] = 64;
  ip[9] = protocol;
  put32(ip, 12, src);
  put32(ip, 16, dst);
  put16(ip, 10, checksum_of(ip));
  ip.insert(ip.end(), payload.begin(), payload.end());
  return ip;
}

inline Bytes ethernet(std::uint16_t ether_type, const Bytes& payload) {
  Bytes frame(14 + payload.size());
  std::copy(kGatewayMac.begin(), kGatewayMac.end(), frame.begin());
  std::copy(kGuestMac.begin(), kGuestMac.end(), frame.begin() + 6);
  put16(frame, 12, ether_type);
  std::copy(payload.begin(), payload.end(), frame.begin() + 14);
  return frame;
}

inline constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;

struct Tcp {
  std::uint32_t dst = 0;
  std::uint16_t dport = 80;
  std::uint16_t sport = 40000;
  std::uint8_t flags = kSyn;
  std::uint32_t seq = 1000;
  std::uint32_t ack = 0;
  Bytes payload{};
  std::uint32_t src = kGuestIp;
};

inline Bytes tcp_frame(const Tcp& t) {
  Bytes seg(20);
  put16(seg, 0, t.sport);
  put16(seg, 2, t.dport);
  put32(seg, 4, t.seq);
  put32(seg, 8, t.ack);
  seg[12] = 5 << 4;
  seg[13] = t.flags;
  put16(seg, 14, 64240);
  seg.insert(seg.end(), t.payload.begin(), t.payload.end());
  put16(seg, 16, checksum_of(with_pseudo_header(t.src, t.dst, 6, seg)));
  return ethernet(0x0800, ipv4_packet(6, t.src, t.dst, seg));
}

inline Bytes udp_frame(std::uint32_t dst, std::uint16_t dport, const Bytes& payload,
                       std::uint16_t sport = 50000) {
  Bytes dgram(8);
  put16(dgram, 0, sport);
  put16(dgram, 2, dport);
  put16(dgram, 4, static_cast<std::uint32_t>(8 + payload.size()));
  dgram.insert(dgram.end(), payload.begin(), payload.end());
  put16(dgram, 6, checksum_of(with_pseudo_header(kGuestIp, dst, 17, dgram)));
  return ethernet(0x0800, ipv4_packet(17, kGuestIp, dst, dgram));
}

inline Bytes icmp_echo_frame(std::uint32_t dst) {
  Bytes icmp = {8, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g'};
  put16(icmp, 2, checksum_of(icmp));
  return ethernet(0x0800, ipv4_packet(1, kGuestIp, dst, icmp));
}

inline Bytes arp_request_frame(std::uint32_t target) {
  Bytes arp(28);
  put16(arp, 0, 1);       // Ethernet
  put16(arp, 2, 0x0800);  // IPv4
  arp[4] = 6;
  arp[5] = 4;
  put16(arp, 6, 1);  // request
  std::copy(kGuestMac.begin(), kGuestMac.end(), arp.begin() + 8);
  put32(arp, 14, kGuestIp);
  put32(arp, 24, target);
  Bytes frame = ethernet(0x0806, arp);
  std::fill_n(frame.begin(), 6, 0xff);
  return frame;
}

// A stub resolver's query: RD set, one question, an EDNS OPT record.
inline Bytes dns_query(std::uint16_t id, std::string_view name, std::uint16_t type = 1) {
  Bytes msg(12);
  put16(msg, 0, id);
  put16(msg, 2, 0x0100);
  put16(msg, 4, 1);
  put16(msg, 10, 1);
  std::size_t start = 0;
  while (start <= name.size() && !name.empty()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    msg.push_back(static_cast<std::uint8_t>(dot - start));
    msg.insert(msg.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
               name.begin() + static_cast<std::ptrdiff_t>(dot));
    start = dot + 1;
  }
  msg.push_back(0);
  msg.insert(msg.end(),
             {static_cast<std::uint8_t>(type >> 8), static_cast<std::uint8_t>(type), 0, 1});
  msg.insert(msg.end(), {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0});  // OPT, 4096-byte payload
  return msg;
}

// Offsets in a frame without IP options.
inline constexpr std::size_t kIp = 14, kL4 = 34;

// The IPv4 header checksum and the TCP/UDP checksum of a reply, recomputed
// here: each folds to 0xffff exactly when the stored checksum is right.
inline bool ipv4_checksum_ok(const Bytes& frame) {
  return folded_sum(Bytes(frame.begin() + kIp, frame.begin() + kL4)) == 0xffff;
}
inline bool transport_checksum_ok(const Bytes& frame) {
  const std::size_t total = get16(frame, kIp + 2);
  const Bytes segment(frame.begin() + kL4,
                      frame.begin() + static_cast<std::ptrdiff_t>(kIp + total));
  return folded_sum(with_pseudo_header(get32(frame, kIp + 12), get32(frame, kIp + 16),
                                       frame.at(kIp + 9), segment)) == 0xffff;
}

}  // namespace voidbox::net::testing
