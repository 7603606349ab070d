// The agent output parser's fuzz harness, shared by the libFuzzer target and
// the corpus replay test in the default run.
#pragma once

#include <cstddef>
#include <cstdint>

namespace voidbox::agent::fuzz {

// The first byte picks the flavor and the chunk size the rest is fed in;
// violated invariants abort.
int run_output_parser(const std::uint8_t* data, std::size_t size);

}  // namespace voidbox::agent::fuzz
