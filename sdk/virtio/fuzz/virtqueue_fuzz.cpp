// libFuzzer target: split virtqueue walking over hostile guest memory.
#include <cstddef>
#include <cstdint>

#include "virtqueue_fuzz_body.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return voidbox::virtio::fuzz::run_virtqueue(data, size);
}
