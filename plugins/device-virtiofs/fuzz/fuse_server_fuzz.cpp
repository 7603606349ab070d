// libFuzzer target: see fuse_fuzz_body.hpp (run_server).
#include <cstddef>
#include <cstdint>

#include "fuse_fuzz_body.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return voidbox::virtiofs::fuzz::run_server(data, size);
}
