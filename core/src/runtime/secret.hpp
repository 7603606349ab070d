// The per-VM secret the guest agent checks in the handshake.
#pragma once

#include <expected>
#include <string>

#include "voidbox/protocol/handshake.hpp"

namespace voidbox::runtime {

// 32 bytes from getrandom(2); fails only if the kernel has no entropy source.
std::expected<protocol::Secret, std::string> generate_secret();

}  // namespace voidbox::runtime
