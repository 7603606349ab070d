// Host side of the hybrid vsock convention (Firecracker's): connect to the
// VMM's Unix socket, send "CONNECT <port>\n", read "OK <n>\n"; the socket is
// then a stream to the guest's vsock port.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "vmm/result.hpp"
#include "vmm/unique_fd.hpp"

namespace voidbox::kvm {

// One attempt; fails if the socket is absent, the VMM refuses, or no answer
// line arrives by `deadline`.
Result<UniqueFd> hybrid_vsock_handshake(const std::string& socket_path, std::uint32_t port,
                                        std::chrono::steady_clock::time_point deadline);

// Retries the handshake (with a short, growing back-off; no fixed sleeps)
// while the socket is not there yet or the guest is not listening yet, until
// `deadline`, or until `vm_alive` says the VMM is gone.
Result<UniqueFd> hybrid_vsock_connect(const std::string& socket_path, std::uint32_t port,
                                      std::chrono::steady_clock::time_point deadline,
                                      const std::function<bool()>& vm_alive);

}  // namespace voidbox::kvm
