// The virtio-net device's JSON config (`devices[].config`):
//   {"mac": "52:54:00:12:34:56", "mtu": 1500, "rx_backlog_frames": 256}
// Every key is optional; unknown keys are errors, so a typo is never silently
// ignored.
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace voidbox::net {

inline constexpr std::uint32_t kMinMtu = 68;  // the IPv4 minimum (RFC 791)
inline constexpr std::uint32_t kMaxMtu = 65535;
inline constexpr std::uint32_t kMaxBacklogFrames = 4096;

struct NetConfig {
  std::array<std::uint8_t, 6> mac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  std::uint16_t mtu = 1500;
  std::uint32_t rx_backlog_frames = 256;
};

std::expected<NetConfig, std::string> parse_net_config(std::string_view json);

// "aa:bb:cc:dd:ee:ff" (hex digits in either case) as six bytes.
std::expected<std::array<std::uint8_t, 6>, std::string> parse_mac(std::string_view text);

}  // namespace voidbox::net
