#include "filter/frame_parser.hpp"

#include <algorithm>

#include "filter/bytes.hpp"
#include "filter/checksum.hpp"

namespace voidbox::net {
namespace {

constexpr std::size_t kArpSize = 28;  // Ethernet/IPv4 ARP
constexpr std::size_t kIcmpHeaderSize = 8;

std::expected<void, ParseError> parse_arp(std::span<const std::uint8_t> body) {
  if (body.size() < kArpSize) return std::unexpected(ParseError::truncated_arp);
  const bool ethernet_ipv4 = load_be16(&body[0]) == 1 && load_be16(&body[2]) == kEtherTypeIpv4 &&
                             body[4] == 6 && body[5] == 4;
  if (!ethernet_ipv4) return std::unexpected(ParseError::bad_arp);
  return {};
}

std::expected<TcpHeader, ParseError> parse_tcp(std::span<const std::uint8_t> segment) {
  if (segment.size() < kTcpHeaderSize) return std::unexpected(ParseError::truncated_tcp);
  const std::size_t header_length = static_cast<std::size_t>(segment[12] >> 4) * 4;
  if (header_length < kTcpHeaderSize || header_length > segment.size()) {
    return std::unexpected(ParseError::bad_tcp_data_offset);
  }
  TcpHeader tcp;
  tcp.source_port = load_be16(&segment[0]);
  tcp.destination_port = load_be16(&segment[2]);
  tcp.sequence = load_be32(&segment[4]);
  tcp.acknowledgment = load_be32(&segment[8]);
  tcp.flags = segment[13];
  tcp.payload_length = segment.size() - header_length;
  return tcp;
}

std::expected<UdpHeader, ParseError> parse_udp(std::span<const std::uint8_t> datagram) {
  if (datagram.size() < kUdpHeaderSize) return std::unexpected(ParseError::truncated_udp);
  const std::size_t length = load_be16(&datagram[4]);
  if (length < kUdpHeaderSize || length > datagram.size()) {
    return std::unexpected(ParseError::bad_udp_length);
  }
  UdpHeader udp;
  udp.source_port = load_be16(&datagram[0]);
  udp.destination_port = load_be16(&datagram[2]);
  udp.payload = datagram.subspan(kUdpHeaderSize, length - kUdpHeaderSize);
  return udp;
}

}  // namespace

std::expected<ParsedFrame, ParseError> parse_frame(std::span<const std::uint8_t> frame) {
  if (frame.size() < kEthernetHeaderSize) return std::unexpected(ParseError::truncated_ethernet);
  ParsedFrame out;
  std::copy_n(frame.begin(), 6, out.ethernet.destination.begin());
  std::copy_n(frame.begin() + 6, 6, out.ethernet.source.begin());
  out.ethernet.ether_type = load_be16(&frame[12]);
  const auto body = frame.subspan(kEthernetHeaderSize);
  if (out.ethernet.ether_type == kEtherTypeArp) {
    if (auto arp = parse_arp(body); !arp) return std::unexpected(arp.error());
    return out;
  }
  if (out.ethernet.ether_type != kEtherTypeIpv4) return out;

  if (body.size() < kIpv4HeaderSize) return std::unexpected(ParseError::truncated_ipv4);
  if ((body[0] >> 4) != 4) return std::unexpected(ParseError::bad_ipv4_version);
  Ipv4Header ip;
  ip.header_length = std::size_t{body[0] & 0x0fu} * 4;
  if (ip.header_length < kIpv4HeaderSize || ip.header_length > body.size()) {
    return std::unexpected(ParseError::bad_ipv4_header_length);
  }
  // Ethernet pads short frames, so bytes may follow the packet; the header's
  // total length decides where it ends, and must fit in what arrived.
  ip.total_length = load_be16(&body[2]);
  if (ip.total_length < ip.header_length || ip.total_length > body.size()) {
    return std::unexpected(ParseError::bad_ipv4_total_length);
  }
  if (checksum_finish(checksum_add(body.first(ip.header_length))) != 0) {
    return std::unexpected(ParseError::bad_ipv4_checksum);
  }
  const std::uint16_t fragment_field = load_be16(&body[6]);
  ip.fragment = (fragment_field & 0x2000) != 0 || (fragment_field & 0x1fff) != 0;
  ip.protocol = body[9];
  ip.source = load_be32(&body[12]);
  ip.destination = load_be32(&body[16]);
  out.ip = ip;
  if (ip.fragment) return out;  // later fragments carry no transport header

  const auto payload = body.subspan(ip.header_length, ip.total_length - ip.header_length);
  switch (static_cast<IpProtocol>(ip.protocol)) {
    case IpProtocol::tcp: {
      auto tcp = parse_tcp(payload);
      if (!tcp) return std::unexpected(tcp.error());
      out.tcp = *tcp;
      break;
    }
    case IpProtocol::udp: {
      auto udp = parse_udp(payload);
      if (!udp) return std::unexpected(udp.error());
      out.udp = *udp;
      break;
    }
    case IpProtocol::icmp:
      if (payload.size() < kIcmpHeaderSize) return std::unexpected(ParseError::truncated_icmp);
      out.icmp_type = payload[0];
      break;
  }
  return out;
}

std::string_view to_string(ParseError error) {
  switch (error) {
    case ParseError::truncated_ethernet:
      return "truncated Ethernet header";
    case ParseError::truncated_arp:
      return "truncated ARP packet";
    case ParseError::bad_arp:
      return "ARP for something other than Ethernet/IPv4";
    case ParseError::truncated_ipv4:
      return "truncated IPv4 header";
    case ParseError::bad_ipv4_version:
      return "IP version is not 4";
    case ParseError::bad_ipv4_header_length:
      return "bad IPv4 header length";
    case ParseError::bad_ipv4_total_length:
      return "bad IPv4 total length";
    case ParseError::bad_ipv4_checksum:
      return "bad IPv4 header checksum";
    case ParseError::truncated_tcp:
      return "truncated TCP header";
    case ParseError::bad_tcp_data_offset:
      return "bad TCP data offset";
    case ParseError::truncated_udp:
      return "truncated UDP header";
    case ParseError::bad_udp_length:
      return "bad UDP length";
    case ParseError::truncated_icmp:
      return "truncated ICMP header";
  }
  return "malformed frame";
}

}  // namespace voidbox::net
