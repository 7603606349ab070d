#include "daemon/endpoint.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "daemon/atomic_file.hpp"

namespace voidbox::daemon {
namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

std::expected<std::string, std::string> read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::unexpected("cannot read the token file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  std::string token = trim(text.str());
  if (token.size() < 16) {
    return std::unexpected("the token in " + path + " is shorter than 16 characters");
  }
  return token;
}

std::expected<std::string, std::string> generate_token(const std::filesystem::path& path) {
  unsigned char raw[32];
  if (::getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw)) {
    return std::unexpected(std::string("cannot get random bytes for a token"));
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : raw) {
    token += kHex[b >> 4];
    token += kHex[b & 0xf];
  }
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (auto w = write_file_atomically(path, token + "\n", 0600); !w)
    return std::unexpected(w.error());
  return token;
}

}  // namespace

std::string Endpoint::to_string() const {
  return tcp ? "tcp://" + host + ":" + port : "unix://" + path;
}

std::expected<Endpoint, std::string> parse_endpoint(std::string_view text) {
  Endpoint e;
  auto tcp_from = [&](std::string_view rest) -> std::expected<Endpoint, std::string> {
    while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) {
      return std::unexpected("expected tcp://HOST:PORT, not '" + std::string(text) + "'");
    }
    e.tcp = true;
    e.host = std::string(rest.substr(0, colon));
    if (e.host.starts_with('[') && e.host.ends_with(']'))
      e.host = e.host.substr(1, e.host.size() - 2);
    e.port = std::string(rest.substr(colon + 1));
    if (e.port.find_first_not_of("0123456789") != std::string::npos || e.port.size() > 5) {
      return std::unexpected("the port in '" + std::string(text) + "' is not a number");
    }
    return e;
  };
  if (text.starts_with("tcp://")) return tcp_from(text.substr(6));
  if (text.starts_with("http://")) return tcp_from(text.substr(7));
  if (text.starts_with("unix://"))
    text.remove_prefix(7);
  else if (text.starts_with("unix:"))
    text.remove_prefix(5);
  if (text.empty() || text.front() != '/') {
    return std::unexpected(
        "expected unix:///PATH, an absolute socket path or tcp://HOST:PORT, not '" +
        std::string(text) + "'");
  }
  if (text.size() > 107) return std::unexpected("the socket path is longer than 107 bytes");
  e.path = std::string(text);
  return e;
}

std::filesystem::path default_socket_path() {
  if (auto dir = env("XDG_RUNTIME_DIR")) return std::filesystem::path(*dir) / "voidbox.sock";
  const std::string name = "voidbox-" + std::to_string(::getuid()) + ".sock";
  if (auto dir = env("TMPDIR")) return std::filesystem::path(*dir) / name;
  return std::filesystem::path("/tmp") / name;
}

std::filesystem::path default_token_path() {
  std::filesystem::path home = env("HOME").value_or("/");
  return home / ".config" / "voidbox" / "daemon-token";
}

std::expected<std::string, std::string> server_token(const std::optional<std::string>& token_file,
                                                     bool generate) {
  if (token_file) return read_token_file(*token_file);
  if (auto file = env("VOIDBOX_DAEMON_TOKEN_FILE")) return read_token_file(*file);
  if (auto token = env("VOIDBOX_DAEMON_TOKEN")) {
    if (trim(*token).size() < 16) {
      return std::unexpected(std::string("VOIDBOX_DAEMON_TOKEN is shorter than 16 characters"));
    }
    return trim(*token);
  }
  if (generate) {
    const auto path = default_token_path();
    if (std::filesystem::exists(path)) return read_token_file(path.string());
    return generate_token(path);
  }
  return std::unexpected(
      std::string(
          "a TCP listener needs a bearer token: pass --token-file FILE, set "
          "VOIDBOX_DAEMON_TOKEN_FILE or VOIDBOX_DAEMON_TOKEN, or pass --generate-token to use (and "
          "create if missing) ") +
      default_token_path().string());
}

std::optional<std::string> client_token(const std::optional<std::string>& token_file) {
  if (token_file) {
    auto t = read_token_file(*token_file);
    return t ? std::optional<std::string>(*t) : std::nullopt;
  }
  if (auto file = env("VOIDBOX_DAEMON_TOKEN_FILE")) {
    auto t = read_token_file(*file);
    return t ? std::optional<std::string>(*t) : std::nullopt;
  }
  if (auto token = env("VOIDBOX_DAEMON_TOKEN")) return trim(*token);
  auto t = read_token_file(default_token_path().string());
  return t ? std::optional<std::string>(*t) : std::nullopt;
}

bool tokens_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

}  // namespace voidbox::daemon
