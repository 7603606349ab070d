// libFuzzer target: hostile guest frames through the egress filter.
#include <cstddef>
#include <cstdint>

#include "filter_fuzz_body.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return voidbox::net::fuzz::run_filter(data, size);
}
