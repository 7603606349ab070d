#include "filter/reply_builder.hpp"

#include <algorithm>

#include "filter/bytes.hpp"
#include "filter/checksum.hpp"

namespace voidbox::net {
namespace {

constexpr std::uint8_t kTtl = 64;
constexpr std::uint16_t kDontFragment = 0x4000;

// Ethernet and IPv4 headers of a reply carrying `l4_length` bytes of
// `protocol`; the caller writes the transport header and payload after them.
std::vector<std::uint8_t> reply_headers(const ParsedFrame& request, IpProtocol protocol,
                                        std::size_t l4_length) {
  std::vector<std::uint8_t> out(kEthernetHeaderSize + kIpv4HeaderSize + l4_length);
  std::uint8_t* eth = out.data();
  std::copy(request.ethernet.source.begin(), request.ethernet.source.end(), eth);
  std::copy(request.ethernet.destination.begin(), request.ethernet.destination.end(), eth + 6);
  store_be16(eth + 12, kEtherTypeIpv4);
  std::uint8_t* ip = eth + kEthernetHeaderSize;
  ip[0] = 0x45;
  store_be16(ip + 2, static_cast<std::uint16_t>(kIpv4HeaderSize + l4_length));
  store_be16(ip + 6, kDontFragment);
  ip[8] = kTtl;
  ip[9] = static_cast<std::uint8_t>(protocol);
  store_be32(ip + 12, request.ip->destination);
  store_be32(ip + 16, request.ip->source);
  store_be16(ip + 10, checksum_finish(checksum_add({ip, kIpv4HeaderSize})));
  return out;
}

std::uint16_t transport_checksum(const ParsedFrame& request, IpProtocol protocol,
                                 std::span<const std::uint8_t> segment) {
  const std::uint32_t pseudo = pseudo_header_sum(request.ip->destination, request.ip->source,
                                                 static_cast<std::uint8_t>(protocol),
                                                 static_cast<std::uint16_t>(segment.size()));
  return checksum_finish(checksum_add(segment, pseudo));
}

}  // namespace

std::vector<std::uint8_t> build_tcp_reset(const ParsedFrame& request) {
  const TcpHeader& in = *request.tcp;
  std::vector<std::uint8_t> out = reply_headers(request, IpProtocol::tcp, kTcpHeaderSize);
  std::uint8_t* tcp = out.data() + kEthernetHeaderSize + kIpv4HeaderSize;
  store_be16(tcp, in.destination_port);
  store_be16(tcp + 2, in.source_port);
  if ((in.flags & tcp_flags::ack) != 0) {
    store_be32(tcp + 4, in.acknowledgment);
    tcp[13] = tcp_flags::rst;
  } else {
    // SYN and FIN each occupy one sequence number.
    const std::uint32_t length = static_cast<std::uint32_t>(in.payload_length) +
                                 ((in.flags & tcp_flags::syn) != 0 ? 1 : 0) +
                                 ((in.flags & tcp_flags::fin) != 0 ? 1 : 0);
    store_be32(tcp + 8, in.sequence + length);
    tcp[13] = tcp_flags::rst | tcp_flags::ack;
  }
  tcp[12] = (kTcpHeaderSize / 4) << 4;
  store_be16(tcp + 16, transport_checksum(request, IpProtocol::tcp, {tcp, kTcpHeaderSize}));
  return out;
}

std::vector<std::uint8_t> build_udp_reply(const ParsedFrame& request,
                                          std::span<const std::uint8_t> payload) {
  const UdpHeader& in = *request.udp;
  const std::size_t length = kUdpHeaderSize + payload.size();
  std::vector<std::uint8_t> out = reply_headers(request, IpProtocol::udp, length);
  std::uint8_t* udp = out.data() + kEthernetHeaderSize + kIpv4HeaderSize;
  store_be16(udp, in.destination_port);
  store_be16(udp + 2, in.source_port);
  store_be16(udp + 4, static_cast<std::uint16_t>(length));
  std::copy(payload.begin(), payload.end(), udp + kUdpHeaderSize);
  std::uint16_t checksum = transport_checksum(request, IpProtocol::udp, {udp, length});
  store_be16(udp + 6, checksum == 0 ? 0xffff : checksum);  // 0 means "no checksum" in UDP
  return out;
}

}  // namespace voidbox::net
