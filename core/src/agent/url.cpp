#include "agent/url.hpp"

#include <cctype>
#include <charconv>

namespace voidbox::agent {

std::string Url::origin() const {
  const bool v6 = host.find(':') != std::string::npos;
  const bool default_port = port == (scheme == "https" ? 443 : 80);
  return scheme + "://" + (v6 ? "[" + host + "]" : host) +
         (default_port ? "" : ":" + std::to_string(port));
}

std::string Url::to_string() const {
  return origin() + path;
}

bool Url::is_loopback() const {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

std::expected<Url, std::string> parse_url(std::string_view text) {
  Url url;
  const std::size_t sep = text.find("://");
  if (sep == std::string_view::npos)
    return std::unexpected("'" + std::string(text) + "' has no scheme");
  for (char c : text.substr(0, sep)) {
    url.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (url.scheme != "http" && url.scheme != "https") {
    return std::unexpected("'" + std::string(text) + "': only http and https are supported");
  }
  std::string_view rest = text.substr(sep + 3);
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos ||
      path.find_first_of("?#") != std::string_view::npos) {
    return std::unexpected("'" + std::string(text) +
                           "': credentials, queries and fragments are not allowed");
  }
  std::string_view host = authority, port;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return std::unexpected("'" + std::string(text) + "': bad IPv6 host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return std::unexpected("'" + std::string(text) + "': bad port");
      port = after.substr(1);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return std::unexpected("'" + std::string(text) + "' has no host");
  for (char c : host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' &&
        c != '_') {
      return std::unexpected("'" + std::string(text) + "': bad host");
    }
    url.host += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  url.port = url.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return std::unexpected("'" + std::string(text) + "': bad port");
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  while (path.ends_with('/')) path.remove_suffix(1);
  url.path = std::string(path);
  return url;
}

Url as_seen_from_guest(Url url) {
  if (url.is_loopback()) url.host = kGuestGateway;
  return url;
}

}  // namespace voidbox::agent
