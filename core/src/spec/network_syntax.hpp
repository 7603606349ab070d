// The syntax of the network policy's strings, without a YAML node in sight,
// so the parser (which knows positions) and validate_spec (for specs built
// in code) apply the same rules. Each returns the canonical form or the
// message to report.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <string>
#include <string_view>

#include "voidbox/spec.hpp"

namespace voidbox::spec::detail {

// The token bucket and the flow table are sized from these; beyond them the
// value is a typo, not a policy.
inline constexpr std::uint64_t kMaxConnectionsPerSecond = 100000;
inline constexpr std::uint64_t kMaxConcurrentConnections = 65535;

// "a.b.c.d/len" (a bare address is /32) -> "a.b.c.d/len".
std::expected<std::string, std::string> check_cidr(std::string_view text);
// "Example.COM." -> "example.com"; "*.example.com" stays a wildcard.
std::expected<std::string, std::string> check_domain_pattern(std::string_view text);
// "HOST:GUEST", "HOST:GUEST/udp", "ADDRESS:HOST:GUEST".
std::expected<PortForward, std::string> check_port_forward(std::string_view text);

// The same rules over a policy built in code (the parser stores only
// canonical, checked values; the transport trusts these strings).
void check_network_policy(
    const NetworkPolicy& network, const std::string& path,
    const std::function<void(const std::string& path, std::string message)>& report);

}  // namespace voidbox::spec::detail
