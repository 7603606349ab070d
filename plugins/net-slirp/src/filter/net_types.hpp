// Addresses and the fixed layout of the slirp network the guest sees.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace voidbox::net {

using Ipv4 = std::uint32_t;  // host byte order: 10.0.2.2 is 0x0a000202
using MacAddress = std::array<std::uint8_t, 6>;

constexpr Ipv4 ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return (Ipv4{a} << 24) | (Ipv4{b} << 16) | (Ipv4{c} << 8) | Ipv4{d};
}

struct Cidr {
  Ipv4 network = 0;
  std::uint8_t prefix = 32;  // 0..32

  constexpr Ipv4 mask() const { return prefix == 0 ? 0 : ~Ipv4{0} << (32 - prefix); }
  constexpr bool contains(Ipv4 address) const { return (address & mask()) == network; }
  friend constexpr bool operator==(const Cidr&, const Cidr&) = default;
};

// Strict dotted quad (no leading zeros, which inet_aton reads as octal).
std::optional<Ipv4> parse_ipv4(std::string_view text);
// "a.b.c.d/len" or a bare address (/32); host bits must be clear.
std::optional<Cidr> parse_cidr(std::string_view text);
std::string to_string(Ipv4 address);

// libslirp's default network, which the guest agent configures statically.
inline constexpr Cidr kGuestNetwork{ipv4(10, 0, 2, 0), 24};
inline constexpr Ipv4 kGatewayAddress = ipv4(10, 0, 2, 2);  // the host's 127.0.0.1
inline constexpr Ipv4 kDnsAddress = ipv4(10, 0, 2, 3);      // libslirp's DNS forwarder
inline constexpr Ipv4 kGuestAddress = ipv4(10, 0, 2, 15);
inline constexpr std::uint16_t kDnsPort = 53;

}  // namespace voidbox::net
