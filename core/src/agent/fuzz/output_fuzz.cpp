// libFuzzer target: the agents' NDJSON output parser, fed hostile guest bytes.
#include <cstddef>
#include <cstdint>

#include "output_fuzz_body.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return voidbox::agent::fuzz::run_output_parser(data, size);
}
