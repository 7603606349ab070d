// Fuzz entry points shared by the libFuzzer targets and the corpus-replay
// unit test (so the harnesses run in every build).
#pragma once

#include <cstddef>
#include <cstdint>

namespace voidbox::virtiofs::fuzz {

// One guest request through parse_request(), with the parsed views checked
// to lie inside the input and inside the header's length.
int run_request(const std::uint8_t* data, std::size_t size);

// A stream of guest requests (each framed by its header's len), served
// after an INIT by a read-write server over a scratch directory with a
// planted escape symlink; every reply must fit its limit and carry the
// request's unique, and nothing outside the scratch share may change.
int run_server(const std::uint8_t* data, std::size_t size);

}  // namespace voidbox::virtiofs::fuzz
