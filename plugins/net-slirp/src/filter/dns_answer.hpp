// The policy resolver's side of the conversation with the upstream DNS
// server: the query it sends, and the parsing of what comes back. The
// upstream's bytes arrive from the network, so nothing in them is trusted:
// every length is bounded, compression pointers must point strictly
// backwards (so no pointer loop can exist), and names and record counts are
// capped.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "filter/resolver.hpp"

namespace voidbox::net {

// Records read from one answer section; more are ignored.
inline constexpr std::size_t kMaxUpstreamRecords = 64;
// Addresses kept from one answer.
inline constexpr std::size_t kMaxUpstreamAddresses = 32;

// A standard recursive query for the A records of `name` (lower case, no
// trailing dot). Empty if `name` is not a valid host name on the wire.
std::vector<std::uint8_t> build_dns_query(std::uint16_t id, std::string_view name);

using UpstreamResult = std::expected<ResolvedAddresses, ResolveError>;

// nullopt: `message` is not a response to the query (`id`, `name`, type A,
// class IN), so the resolver keeps waiting. Otherwise the outcome: NXDOMAIN
// is not_found; another error code, a malformed answer section, or a
// truncated answer without addresses is failed; NOERROR gives the A records
// of `name` and of the CNAME chain starting at it, with the smallest TTL
// along the way.
std::optional<UpstreamResult> parse_dns_answer(std::span<const std::uint8_t> message,
                                               std::uint16_t id, std::string_view name);

}  // namespace voidbox::net
