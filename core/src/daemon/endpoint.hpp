// Where the daemon listens and how clients find it, with the original's
// rules: a Unix socket by default at $XDG_RUNTIME_DIR/voidbox.sock, else
// $TMPDIR/voidbox-$UID.sock, else /tmp/voidbox-$UID.sock; TCP only with a
// bearer token (--token-file, VOIDBOX_DAEMON_TOKEN_FILE, VOIDBOX_DAEMON_TOKEN,
// or one generated into ~/.config/voidbox/daemon-token, mode 0600).
#pragma once

#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace voidbox::daemon {

struct Endpoint {
  bool tcp = false;
  std::string path;  // Unix socket
  std::string host;  // TCP
  std::string port;
  std::string to_string() const;  // unix:///path or tcp://host:port
};

// unix:///path, unix:/path, /path, tcp://host:port or http://host:port.
std::expected<Endpoint, std::string> parse_endpoint(std::string_view text);

std::filesystem::path default_socket_path();
std::filesystem::path default_token_path();  // ~/.config/voidbox/daemon-token

// The token a TCP listener requires. From the flag, else the variables;
// with `generate`, the default token file (created 0600 if missing). None
// of these: an error, since TCP never listens without a token.
std::expected<std::string, std::string> server_token(const std::optional<std::string>& token_file,
                                                     bool generate);

// The token a client sends: the flag's file, the variables, else the
// default token file when it exists; none for Unix sockets without one.
std::optional<std::string> client_token(const std::optional<std::string>& token_file);

// Compares in time that depends only on the lengths.
bool tokens_equal(std::string_view a, std::string_view b);

}  // namespace voidbox::daemon
