// Where the agent accepts host connections: AF_VSOCK in a VM, a Unix socket
// or inherited fds in process mode.
#pragma once

#include <cstdint>
#include <expected>
#include <string>

namespace voidbox::agent {

// Listening sockets (close-on-exec). vsock retries briefly while the
// transport driver binds.
std::expected<int, std::string> listen_vsock(std::uint32_t port);
std::expected<int, std::string> listen_unix(const std::string& path);

}  // namespace voidbox::agent
