// libFuzzer target: see p9_fuzz_body.hpp (run_server).
#include <cstddef>
#include <cstdint>

#include "p9_fuzz_body.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return voidbox::p9::fuzz::run_server(data, size);
}
