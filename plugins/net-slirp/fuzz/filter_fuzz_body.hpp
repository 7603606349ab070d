// Fuzz entry point for the egress filter, shared by the libFuzzer target and
// the corpus-replay unit test (so every build runs the harness).
#pragma once

#include <cstddef>
#include <cstdint>

namespace voidbox::net::fuzz {

// The first byte picks the policy; the rest is a sequence of records
// [op][length:2][bytes]: a raw frame, an IPv4 packet wrapped in a valid
// Ethernet+IPv4 header (so the fuzzer reaches TCP, UDP and DNS), a clock
// step, the completion of a pending upstream lookup, or the upstream
// server's raw answer to it (parsed as the transport's resolver does, query
// id 0x4242). Invariants that fail
// abort: the counters add up, the limits hold, and every frame the filter
// builds parses back with correct checksums.
int run_filter(const std::uint8_t* data, std::size_t size);

}  // namespace voidbox::net::fuzz
