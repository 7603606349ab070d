// The net-slirp config JSON (the VMM writes it from the spec's
// sandbox.network), validated with errors that name the offending key:
//
//   {"mtu":1500, "dns_upstream":"127.0.0.1:5353",
//    "policy":{"allow_domains":[...], "allow_cidrs":[...], "deny_cidrs":[...],
//              "max_connections_per_second":50, "max_concurrent_connections":64},
//    "forwards":[{"protocol":"tcp","host_address":"127.0.0.1","host_port":0,"guest_port":8080}]}
//
// Every key is optional; unknown keys are errors.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filter/egress_policy.hpp"
#include "voidbox/sdk/error.hpp"

namespace voidbox::net {

inline constexpr std::size_t kDefaultMtu = 1500;
// libslirp's bounds for if_mtu/if_mru, raised to the smallest datagram
// every IPv4 host must accept.
inline constexpr std::size_t kMinMtu = 576;
inline constexpr std::size_t kMaxMtu = 65521;

enum class ForwardProtocol { tcp, udp };
std::string_view to_string(ForwardProtocol protocol);

struct PortForward {
  ForwardProtocol protocol = ForwardProtocol::tcp;
  Ipv4 host_address = ipv4(127, 0, 0, 1);
  std::uint16_t host_port = 0;  // 0: pick a free port at start
  std::uint16_t guest_port = 0;
};

// A DNS server address, IPv4 or IPv6, with its port.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string text;  // as written: "127.0.0.1:5353", "[::1]:53"
};

// "a.b.c.d:port" or "[v6]:port".
std::optional<SocketAddress> parse_socket_address(std::string_view text);

struct TransportConfig {
  std::size_t mtu = kDefaultMtu;
  std::optional<SocketAddress> dns_upstream;  // unset: the host's resolv.conf
  PolicyConfig policy;                        // host_addresses not filled in here
  std::vector<PortForward> forwards;
};

sdk::Result<TransportConfig> parse_transport_config(std::string_view json);

}  // namespace voidbox::net
