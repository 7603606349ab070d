// libFuzzer target: the frame decoder and every JSON message decoder.
// Build: -DVOIDBOX_FUZZ=ON with clang; run:
//   build/bin/voidbox_protocol_frame_fuzz sdk/protocol/fuzz/corpus
#include <cstddef>
#include <cstdint>

#include "fuzz_body.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  voidbox::protocol::fuzz::run_one(data, size);
  return 0;
}
