// Fuzz entry point for the vsock packet codec and connection state machine,
// shared by the libFuzzer target and the corpus-replay unit test.
#pragma once

#include <cstddef>
#include <cstdint>

namespace voidbox::kvm::vsock::fuzz {

int run_packets(const std::uint8_t* data, std::size_t size);

}  // namespace voidbox::kvm::vsock::fuzz
