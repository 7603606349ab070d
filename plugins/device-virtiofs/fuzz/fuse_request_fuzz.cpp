// libFuzzer target: see fuse_fuzz_body.hpp (run_request).
#include <cstddef>
#include <cstdint>

#include "fuse_fuzz_body.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return voidbox::virtiofs::fuzz::run_request(data, size);
}
