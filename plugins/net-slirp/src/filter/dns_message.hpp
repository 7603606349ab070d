// The DNS queries the policy resolver answers and the responses it builds
// (RFC 1035). Only what a stub resolver sends is accepted: one question, no
// compression in it, a standard query.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "filter/net_types.hpp"

namespace voidbox::net {

inline constexpr std::uint16_t kDnsTypeA = 1;
inline constexpr std::uint16_t kDnsClassIn = 1;
inline constexpr std::size_t kDnsHeaderSize = 12;
// Answers stay within the classic 512-byte UDP limit, so the guest never
// needs to retry over TCP (which the policy resolver does not serve).
inline constexpr std::size_t kMaxDnsAnswers = 16;

enum class DnsRcode : std::uint8_t {
  no_error = 0,
  format_error = 1,
  server_failure = 2,
  name_error = 3,  // NXDOMAIN
  refused = 5,
};

struct DnsQuery {
  std::uint16_t id = 0;
  bool recursion_desired = false;
  // Lower case, labels joined by '.', no trailing dot; empty for the root.
  // Unset when a label holds bytes no host name has, so it matches nothing.
  std::optional<std::string> name;
  std::uint16_t type = 0;
  std::uint16_t klass = 0;
  std::vector<std::uint8_t> question;  // the question as sent, echoed back
};

// nullopt for anything that is not a well-formed standard query.
std::optional<DnsQuery> parse_dns_query(std::span<const std::uint8_t> message);

// A response to `query`: `answers` become A records (at most kMaxDnsAnswers)
// with `ttl_seconds`; any other rcode carries no answers.
std::vector<std::uint8_t> build_dns_response(const DnsQuery& query, DnsRcode rcode,
                                             std::span<const Ipv4> answers,
                                             std::uint32_t ttl_seconds);

}  // namespace voidbox::net
