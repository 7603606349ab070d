// What the transport learns from the host it runs on.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "filter/net_types.hpp"
#include "transport/transport_config.hpp"

namespace voidbox::net {

// The IPv4 addresses of the host's interfaces (getifaddrs): the guest must
// not reach the host's own services through them. Empty if they cannot be
// read.
std::vector<Ipv4> host_ipv4_addresses();

// The first `nameserver` line of a resolv.conf, on port 53.
std::optional<SocketAddress> first_nameserver(std::string_view resolv_conf);
std::optional<SocketAddress> system_nameserver(
    const std::filesystem::path& path = "/etc/resolv.conf");

// Binds a socket of `protocol` to address:port the way libslirp's listeners
// do (SO_REUSEADDR) and closes it again: the port it got (a free one for
// port 0), or why the bind failed ("tcp 127.0.0.1:8080: Address already in
// use").
sdk::Result<std::uint16_t> probe_port(ForwardProtocol protocol, Ipv4 address, std::uint16_t port);

}  // namespace voidbox::net
