// Fuzz entry points shared by the libFuzzer targets and the corpus-replay
// unit test (so the harnesses run in every build).
#pragma once

#include <cstddef>
#include <cstdint>

namespace voidbox::p9::fuzz {

// One guest message through parse_request(), with the parsed views checked
// to lie inside the input.
int run_message(const std::uint8_t* data, std::size_t size);

// A stream of guest messages (each framed by its own size field) served,
// after a Tversion and Tattach, by a read-write server over a scratch
// directory; every reply must fit the limit it was given.
int run_server(const std::uint8_t* data, std::size_t size);

}  // namespace voidbox::p9::fuzz
