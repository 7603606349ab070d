// libFuzzer target: see p9_fuzz_body.hpp (run_message).
#include <cstddef>
#include <cstdint>

#include "p9_fuzz_body.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return voidbox::p9::fuzz::run_message(data, size);
}
