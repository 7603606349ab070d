// Fuzz entry point shared by the libFuzzer target and the corpus-replay unit
// test (so the harness runs in every build).
#pragma once

#include <cstddef>
#include <cstdint>

namespace voidbox::net::fuzz {

// The virtio-net device over hostile rings: guest RAM, both queues' registers,
// negotiated features and a stream of operations (notifies, ring rewrites,
// driver-style chains with random virtio-net headers including GSO and
// checksum fields, injected rx frames, peer swaps, resets) come from `data`.
int run_virtio_net(const std::uint8_t* data, std::size_t size);

}  // namespace voidbox::net::fuzz
