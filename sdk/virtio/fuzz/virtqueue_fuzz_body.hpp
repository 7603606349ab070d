// Fuzz entry points shared by the libFuzzer targets and the corpus-replay
// unit test (so the harness is exercised in every build).
#pragma once

#include <cstddef>
#include <cstdint>

namespace voidbox::virtio::fuzz {

// Guest RAM, queue registers and a stream of hostile rewrites come from
// `data`; the device side pops, reads, writes and returns chains.
int run_virtqueue(const std::uint8_t* data, std::size_t size);

// A sequence of MMIO register reads/writes against a transport wrapping a
// small device, with guest RAM from `data`.
int run_mmio(const std::uint8_t* data, std::size_t size);

}  // namespace voidbox::virtio::fuzz
