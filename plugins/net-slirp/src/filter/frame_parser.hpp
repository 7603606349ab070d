// Parsing of guest-to-host Ethernet frames: Ethernet II, ARP, IPv4, TCP, UDP,
// ICMP. The guest is hostile: every length field is checked against the
// bytes actually present before it is used, and nothing past the frame (or
// past the IPv4 total length, which bounds the layers above it) is read.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string_view>

#include "filter/net_types.hpp"

namespace voidbox::net {

inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeArp = 0x0806;
inline constexpr std::size_t kEthernetHeaderSize = 14;
inline constexpr std::size_t kIpv4HeaderSize = 20;  // without options
inline constexpr std::size_t kTcpHeaderSize = 20;   // without options
inline constexpr std::size_t kUdpHeaderSize = 8;

enum class IpProtocol : std::uint8_t { icmp = 1, tcp = 6, udp = 17 };

namespace tcp_flags {
inline constexpr std::uint8_t fin = 0x01;
inline constexpr std::uint8_t syn = 0x02;
inline constexpr std::uint8_t rst = 0x04;
inline constexpr std::uint8_t ack = 0x10;
}  // namespace tcp_flags

struct EthernetHeader {
  MacAddress destination{};
  MacAddress source{};
  std::uint16_t ether_type = 0;
};

struct Ipv4Header {
  Ipv4 source = 0;
  Ipv4 destination = 0;
  std::uint8_t protocol = 0;
  std::size_t header_length = 0;  // bytes, options included
  std::size_t total_length = 0;   // from the header, proven <= the bytes present
  bool fragment = false;          // more-fragments set or a non-zero offset
};

struct TcpHeader {
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  std::uint32_t sequence = 0;
  std::uint32_t acknowledgment = 0;
  std::uint8_t flags = 0;
  std::size_t payload_length = 0;
};

struct UdpHeader {
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  std::span<const std::uint8_t> payload;  // inside the parsed frame
};

struct ParsedFrame {
  EthernetHeader ethernet;
  std::optional<Ipv4Header> ip;  // set for IPv4
  std::optional<TcpHeader> tcp;  // set for unfragmented TCP
  std::optional<UdpHeader> udp;  // set for unfragmented UDP
  std::optional<std::uint8_t> icmp_type;
};

enum class ParseError {
  truncated_ethernet,
  truncated_arp,
  bad_arp,
  truncated_ipv4,
  bad_ipv4_version,
  bad_ipv4_header_length,
  bad_ipv4_total_length,
  bad_ipv4_checksum,
  truncated_tcp,
  bad_tcp_data_offset,
  truncated_udp,
  bad_udp_length,
  truncated_icmp,
};

std::string_view to_string(ParseError error);

// A frame of another EtherType parses (ip unset): whether to carry it is
// policy, not parsing. The IPv4 header checksum is verified; TCP and UDP
// checksums are not, because with virtio-net checksum offload the guest
// leaves them partial.
std::expected<ParsedFrame, ParseError> parse_frame(std::span<const std::uint8_t> frame);

}  // namespace voidbox::net
