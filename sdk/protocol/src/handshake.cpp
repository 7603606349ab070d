#include "voidbox/protocol/handshake.hpp"

#include <algorithm>

namespace voidbox::protocol {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string range_text(std::uint32_t lo, std::uint32_t hi) {
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
}

}  // namespace

std::optional<Secret> parse_secret_hex(std::string_view hex) {
  if (hex.size() != kSecretSize * 2) return std::nullopt;
  Secret s{};
  for (std::size_t i = 0; i < kSecretSize; ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    s[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return s;
}

std::string secret_to_hex(const Secret& s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(kSecretSize * 2);
  for (std::uint8_t b : s) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

bool secrets_equal(const Secret& a, const Secret& b) {
  // volatile keeps the compiler from turning the loop into an early-exit memcmp.
  volatile std::uint8_t diff = 0;
  for (std::size_t i = 0; i < kSecretSize; ++i) diff = diff | (a[i] ^ b[i]);
  return diff == 0;
}

std::optional<std::string> cmdline_value(std::string_view cmdline, std::string_view key) {
  std::optional<std::string> found;
  std::size_t pos = 0;
  while (pos < cmdline.size()) {
    const std::size_t start = cmdline.find_first_not_of(" \t\n", pos);
    if (start == std::string_view::npos) break;
    std::size_t end = cmdline.find_first_of(" \t\n", start);
    if (end == std::string_view::npos) end = cmdline.size();
    const std::string_view word = cmdline.substr(start, end - start);
    if (word.size() > key.size() && word.starts_with(key) && word[key.size()] == '=')
      found = std::string(word.substr(key.size() + 1));
    pos = end;
  }
  return found;
}

std::expected<std::uint32_t, ProtocolError> negotiate_version(std::uint32_t host_min,
                                                              std::uint32_t host_max) {
  const std::uint32_t lo = std::max(host_min, kMinVersion);
  const std::uint32_t hi = std::min(host_max, kMaxVersion);
  if (host_min > host_max || lo > hi) {
    return std::unexpected(ProtocolError{
        ErrorCode::UnsupportedVersion, "unsupported protocol version " +
                                           range_text(host_min, host_max) + "; this agent speaks " +
                                           range_text(kMinVersion, kMaxVersion)});
  }
  return hi;
}

std::expected<std::uint32_t, ProtocolError> check_hello(const Hello& hello,
                                                        const std::optional<Secret>& expected) {
  const auto given = parse_secret_hex(hello.secret_hex);
  // Compare against a dummy when either side is missing so the reply time
  // does not tell which one was.
  const Secret dummy{};
  const bool match = secrets_equal(given.value_or(dummy), expected.value_or(dummy));
  if (!given || !expected || !match) {
    return std::unexpected(ProtocolError{ErrorCode::Unauthorized,
                                         expected ? "authentication failed: secret mismatch"
                                                  : "authentication failed: agent has no secret"});
  }
  return negotiate_version(hello.min_version, hello.max_version);
}

}  // namespace voidbox::protocol
