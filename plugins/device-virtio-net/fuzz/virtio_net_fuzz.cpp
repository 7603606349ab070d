// libFuzzer target: the virtio-net device on random rings.
#include <cstddef>
#include <cstdint>

#include "virtio_net_fuzz_body.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return voidbox::net::fuzz::run_virtio_net(data, size);
}
