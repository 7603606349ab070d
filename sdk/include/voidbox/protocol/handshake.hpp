// VoidBox host <-> guest wire protocol: handshake helpers.
//
// Sequence: the host connects and sends Hello (request id 0). The guest
//  - closes the connection without a reply if the first frame is not Hello;
//  - answers Error{unauthorized} and closes if the secret differs (compared in
//    constant time) or is missing;
//  - answers Error{unsupported_version, "unsupported protocol version 2..3; this
//    agent speaks 1..1"} and closes if the ranges do not overlap;
//  - otherwise answers HelloAck with the chosen version and feature subset.
// The host must treat a HelloAck version outside its own range as an error too.
//
// The per-VM secret reaches the guest on the kernel command line as
// `voidbox.secret=<64 hex>`; in process mode the agent reads the same words
// from the environment variable VOIDBOX_GUEST_CMDLINE (and removes it).
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "voidbox/protocol/messages.hpp"

namespace voidbox::protocol {

inline constexpr std::size_t kSecretSize = 32;
using Secret = std::array<std::uint8_t, kSecretSize>;

inline constexpr std::string_view kCmdlineSecretKey = "voidbox.secret";
inline constexpr std::string_view kCmdlineClockKey = "voidbox.clock";
inline constexpr std::string_view kProcessCmdlineEnv = "VOIDBOX_GUEST_CMDLINE";

// 64 hex digits (either case) -> 32 bytes.
std::optional<Secret> parse_secret_hex(std::string_view hex);
std::string secret_to_hex(const Secret& s);

// Constant-time equality (time depends only on the length).
bool secrets_equal(const Secret& a, const Secret& b);

// Value of `key=value` among whitespace-separated words (last one wins);
// nullopt when absent. Values cannot be quoted.
std::optional<std::string> cmdline_value(std::string_view cmdline, std::string_view key);

// Highest version in both [host_min, host_max] and [kMinVersion, kMaxVersion].
std::expected<std::uint32_t, ProtocolError> negotiate_version(std::uint32_t host_min,
                                                              std::uint32_t host_max);

// Guest-side check of a Hello frame against the expected secret; returns the
// chosen version, or the error to send before closing.
std::expected<std::uint32_t, ProtocolError> check_hello(const Hello& hello,
                                                        const std::optional<Secret>& expected);

}  // namespace voidbox::protocol
