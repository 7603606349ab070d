// The small part of URL syntax the providers and the proxy need:
// scheme://host[:port][/path], http and https only.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace voidbox::agent {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower case; IPv6 without brackets
  std::uint16_t port = 0;
  std::string path;  // "" or starting with '/', without a trailing '/'

  std::string origin() const;     // scheme://host[:port], the port only when not the default
  std::string to_string() const;  // origin + path
  bool is_loopback() const;       // localhost, 127.0.0.0/8, ::1
};

std::expected<Url, std::string> parse_url(std::string_view text);

// A URL as the guest must use it: the host's loopback is reached through the
// user-mode network's gateway, so a loopback host becomes the gateway.
Url as_seen_from_guest(Url url);

inline constexpr const char* kGuestGateway = "10.0.2.2";

}  // namespace voidbox::agent
