#include "net_config.hpp"

#include <boost/json.hpp>

namespace voidbox::net {

namespace {

std::unexpected<std::string> fail(const std::string& what) {
  return std::unexpected("virtio-net config: " + what);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// An integer in [lo, hi], or an error naming the key and the range.
std::expected<std::int64_t, std::string> bounded_int(const boost::json::value& v, const char* key,
                                                     std::int64_t lo, std::int64_t hi) {
  const std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  if (!v.is_int64() && !v.is_uint64()) {
    return fail(std::string(key) + " must be an integer in " + range);
  }
  if (v.is_uint64() || v.as_int64() < lo || v.as_int64() > hi) {
    return fail(std::string(key) + " = " + boost::json::serialize(v) + " is outside " + range);
  }
  return v.as_int64();
}

}  // namespace

std::expected<std::array<std::uint8_t, 6>, std::string> parse_mac(std::string_view text) {
  std::array<std::uint8_t, 6> mac{};
  bool ok = text.size() == 17;
  for (std::size_t i = 0; ok && i < 6; ++i) {
    const int hi = hex_digit(text[3 * i]), lo = hex_digit(text[3 * i + 1]);
    ok = hi >= 0 && lo >= 0 && (i == 5 || text[3 * i + 2] == ':');
    mac[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  if (!ok)
    return std::unexpected("\"" + std::string(text) + "\" is not a MAC like 52:54:00:12:34:56");
  return mac;
}

std::expected<NetConfig, std::string> parse_net_config(std::string_view json) {
  NetConfig c;
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return c;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return fail("not a JSON object");
  for (const auto& [key, value] : v.as_object()) {
    if (key == "mac") {
      if (!value.is_string()) return fail("mac must be a string like \"52:54:00:12:34:56\"");
      auto mac = parse_mac(value.as_string());
      if (!mac) return fail("mac " + mac.error());
      if ((*mac)[0] & 1) return fail("mac " + std::string(value.as_string()) + " is multicast");
      if (*mac == std::array<std::uint8_t, 6>{}) return fail("mac must not be all zeros");
      c.mac = *mac;
    } else if (key == "mtu") {
      auto n = bounded_int(value, "mtu", kMinMtu, kMaxMtu);
      if (!n) return std::unexpected(n.error());
      c.mtu = static_cast<std::uint16_t>(*n);
    } else if (key == "rx_backlog_frames") {
      auto n = bounded_int(value, "rx_backlog_frames", 0, kMaxBacklogFrames);
      if (!n) return std::unexpected(n.error());
      c.rx_backlog_frames = static_cast<std::uint32_t>(*n);
    } else {
      return fail("unknown key \"" + std::string(key) + "\" (known: mac, mtu, rx_backlog_frames)");
    }
  }
  return c;
}

}  // namespace voidbox::net
