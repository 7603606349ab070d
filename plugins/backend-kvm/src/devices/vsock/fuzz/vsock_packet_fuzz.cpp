// libFuzzer target: guest vsock packets against the connection table.
#include <cstddef>
#include <cstdint>

#include "vsock_fuzz_body.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return voidbox::kvm::vsock::fuzz::run_packets(data, size);
}
