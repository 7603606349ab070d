// The Internet checksum (RFC 1071) and the TCP/UDP pseudo-header.
#pragma once

#include <cstdint>
#include <span>

#include "filter/net_types.hpp"

namespace voidbox::net {

// One's-complement sum of `bytes` (odd length padded with a zero byte) added
// to `partial`, not yet folded or inverted, so sums can be chained.
std::uint32_t checksum_add(std::span<const std::uint8_t> bytes, std::uint32_t partial = 0);
// Folds and inverts a chained sum into the value written on the wire.
std::uint16_t checksum_finish(std::uint32_t partial);

// Sum of the IPv4 pseudo-header that TCP and UDP checksums cover.
std::uint32_t pseudo_header_sum(Ipv4 source, Ipv4 destination, std::uint8_t protocol,
                                std::uint16_t length);

}  // namespace voidbox::net
