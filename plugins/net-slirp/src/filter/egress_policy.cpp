#include "filter/egress_policy.hpp"

#include <algorithm>

namespace voidbox::net {
namespace {

bool any_contains(std::span<const Cidr> ranges, Ipv4 address) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const Cidr& c) { return c.contains(address); });
}

// The built-in deny list. 10.0.0.0/8 is spelled as the CIDRs that cover it
// without the guest's own 10.0.2.0/24 (10.0.0.0/23, 10.0.3.0/24, then one
// block per prefix length up to 10.128.0.0/9).
// clang-format off
constexpr Cidr kReserved[] = {
    {ipv4(0, 0, 0, 0), 8},       // "this network"
    {ipv4(10, 0, 0, 0), 23},
    {ipv4(10, 0, 3, 0), 24},
    {ipv4(10, 0, 4, 0), 22},
    {ipv4(10, 0, 8, 0), 21},
    {ipv4(10, 0, 16, 0), 20},
    {ipv4(10, 0, 32, 0), 19},
    {ipv4(10, 0, 64, 0), 18},
    {ipv4(10, 0, 128, 0), 17},
    {ipv4(10, 1, 0, 0), 16},
    {ipv4(10, 2, 0, 0), 15},
    {ipv4(10, 4, 0, 0), 14},
    {ipv4(10, 8, 0, 0), 13},
    {ipv4(10, 16, 0, 0), 12},
    {ipv4(10, 32, 0, 0), 11},
    {ipv4(10, 64, 0, 0), 10},
    {ipv4(10, 128, 0, 0), 9},
    {ipv4(100, 64, 0, 0), 10},   // CGNAT
    {ipv4(127, 0, 0, 0), 8},     // loopback (the host's is reached as 10.0.2.2)
    {ipv4(169, 254, 0, 0), 16},  // link-local, cloud metadata 169.254.169.254
    {ipv4(172, 16, 0, 0), 12},   // private
    {ipv4(192, 168, 0, 0), 16},  // private
    {ipv4(224, 0, 0, 0), 4},     // multicast
    {ipv4(240, 0, 0, 0), 4},     // reserved and the limited broadcast
};
// clang-format on

}  // namespace

std::string_view to_string(DenyReason reason) {
  switch (reason) {
    case DenyReason::deny_cidr:
      return "denied by deny_cidrs";
    case DenyReason::reserved_range:
      return "reserved range (metadata, private, CGNAT or loopback)";
    case DenyReason::host_address:
      return "an address of the host";
    case DenyReason::not_allowlisted:
      return "not resolved from an allowed domain";
    case DenyReason::gateway_port:
      return "not a service of the DNS address";
    case DenyReason::rate_limit:
      return "max_connections_per_second exceeded";
    case DenyReason::concurrency_limit:
      return "max_concurrent_connections reached";
  }
  return "denied";
}

DomainAllowlist::DomainAllowlist(std::span<const std::string> patterns) {
  for (const std::string& pattern : patterns) {
    if (pattern.starts_with("*.")) {
      suffixes_.push_back(pattern.substr(1));
    } else {
      exact_.push_back(pattern);
    }
  }
}

bool DomainAllowlist::allows(std::string_view name) const {
  if (std::find(exact_.begin(), exact_.end(), name) != exact_.end()) return true;
  return std::any_of(suffixes_.begin(), suffixes_.end(), [&](const std::string& suffix) {
    return name.size() > suffix.size() && name.ends_with(suffix);
  });
}

void LearntAddresses::learn(Ipv4 address, Clock::time_point expiry) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), address,
                             [](const Entry& e, Ipv4 a) { return e.address < a; });
  if (it != entries_.end() && it->address == address) {
    it->expiry = std::max(it->expiry, expiry);
    return;
  }
  if (entries_.size() >= kCapacity) {
    // Forget the entry that would expire first; the guest can resolve again.
    auto soonest = std::min_element(entries_.begin(), entries_.end(),
                                    [](auto& a, auto& b) { return a.expiry < b.expiry; });
    const bool before = soonest < it;
    entries_.erase(soonest);
    if (before) --it;
  }
  entries_.insert(it, Entry{address, expiry});
}

bool LearntAddresses::contains(Ipv4 address, Clock::time_point now) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), address,
                             [](const Entry& e, Ipv4 a) { return e.address < a; });
  return it != entries_.end() && it->address == address && now < it->expiry;
}

EgressRules::EgressRules(const PolicyConfig& config)
    : allowlist_mode_(config.allow_domains.has_value()),
      allow_(config.allow_cidrs),
      deny_(config.deny_cidrs),
      host_(config.host_addresses) {}

std::optional<DenyReason> EgressRules::check(IpProtocol protocol, Ipv4 destination,
                                             std::uint16_t port, bool learnt) const {
  const bool allowed = any_contains(allow_, destination);
  const bool user_denied = any_contains(deny_, destination);
  if (destination == kGatewayAddress) {
    if (user_denied && !allowed) return DenyReason::deny_cidr;
    return std::nullopt;
  }
  if (destination == kDnsAddress) {
    if (port != kDnsPort) return DenyReason::gateway_port;
    // UDP queries were answered by the policy resolver before this point.
    if (allowlist_mode_ && protocol == IpProtocol::tcp) return DenyReason::gateway_port;
    if (user_denied && !allowed) return DenyReason::deny_cidr;
    return std::nullopt;
  }
  if (allowed) return std::nullopt;
  if (user_denied) return DenyReason::deny_cidr;
  if (std::find(host_.begin(), host_.end(), destination) != host_.end()) {
    return DenyReason::host_address;
  }
  if (any_contains(kReserved, destination)) return DenyReason::reserved_range;
  if (allowlist_mode_ && !learnt) return DenyReason::not_allowlisted;
  return std::nullopt;
}

}  // namespace voidbox::net
