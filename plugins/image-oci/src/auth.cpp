#include "auth.hpp"

#include <boost/json.hpp>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace voidbox::oci {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~/").find(c) != std::string_view::npos;
}

constexpr size_t kMaxDockerConfig = 1 << 20;

}  // namespace

Result<Challenge> parse_challenge(std::string_view header) {
  auto bad = [&](std::string_view why) {
    return fail(VB_ERR_IO, "malformed WWW-Authenticate '" + std::string(header.substr(0, 200)) +
                               "': " + std::string(why));
  };
  size_t i = 0;
  auto skip_space = [&] {
    while (i < header.size() && (header[i] == ' ' || header[i] == '\t')) ++i;
  };
  skip_space();
  size_t start = i;
  while (i < header.size() && is_token_char(header[i])) ++i;
  if (i == start) return bad("no scheme");
  Challenge challenge;
  challenge.scheme = lower(header.substr(start, i - start));
  for (;;) {
    skip_space();
    if (i >= header.size()) break;
    start = i;
    while (i < header.size() && is_token_char(header[i])) ++i;
    if (i == start) return bad("expected a parameter name");
    std::string key = lower(header.substr(start, i - start));
    skip_space();
    if (i >= header.size() || header[i] != '=') {
      // A second challenge ("Basic realm=x, Bearer ...") starts here: stop.
      break;
    }
    ++i;
    skip_space();
    std::string value;
    if (i < header.size() && header[i] == '"') {
      ++i;
      bool closed = false;
      while (i < header.size()) {
        char c = header[i++];
        if (c == '\\' && i < header.size()) {
          value.push_back(header[i++]);
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          value.push_back(c);
        }
      }
      if (!closed) return bad("unterminated quoted value");
    } else {
      start = i;
      while (i < header.size() && header[i] != ',' && header[i] != ' ') ++i;
      value = std::string(header.substr(start, i - start));
    }
    challenge.params[key] = value;
    skip_space();
    if (i < header.size() && header[i] == ',') ++i;
  }
  return challenge;
}

std::string base64_encode(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(data[i]) << 16) |
                 (static_cast<unsigned char>(data[i + 1]) << 8) |
                 static_cast<unsigned char>(data[i + 2]);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63],
            kAlphabet[v & 63]};
  }
  if (size_t left = data.size() - i; left > 0) {
    unsigned v = static_cast<unsigned char>(data[i]) << 16;
    if (left == 2) v |= static_cast<unsigned char>(data[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += left == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

Result<std::optional<Credentials>> credentials_from_docker_config(std::string_view json,
                                                                  std::string_view registry) {
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(json, ec);
  if (ec || !root.is_object()) return fail(VB_ERR_INVALID_ARGUMENT, "not a JSON object");
  const auto* auths = root.as_object().if_contains("auths");
  if (auths == nullptr || !auths->is_object()) return std::optional<Credentials>{};
  std::string reg(registry);
  std::vector<std::string> keys = {reg, "https://" + reg, "http://" + reg, "https://" + reg + "/",
                                   "http://" + reg + "/"};
  if (registry == "docker.io") {
    keys.insert(keys.end(), {"https://index.docker.io/v1/", "index.docker.io",
                             "registry-1.docker.io", "https://registry-1.docker.io"});
  }
  for (const auto& key : keys) {
    const auto* entry = auths->as_object().if_contains(key);
    if (entry == nullptr || !entry->is_object()) continue;
    const auto& obj = entry->as_object();
    if (const auto* auth = obj.if_contains("auth"); auth && auth->is_string()) {
      auto decoded = base64_decode(auth->as_string());
      auto colon = decoded ? decoded->find(':') : std::string::npos;
      if (colon == std::string::npos) {
        return fail(VB_ERR_INVALID_ARGUMENT,
                    "auths['" + key + "'].auth is not base64 of user:password");
      }
      return std::optional<Credentials>(
          Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)});
    }
    const auto* user = obj.if_contains("username");
    const auto* pass = obj.if_contains("password");
    if (user && pass && user->is_string() && pass->is_string()) {
      return std::optional<Credentials>(
          Credentials{std::string(user->as_string()), std::string(pass->as_string())});
    }
  }
  return std::optional<Credentials>{};
}

Result<std::optional<Credentials>> find_credentials(std::string_view registry,
                                                    const std::string& docker_config_path) {
  const char* env_user = std::getenv("VOIDBOX_REGISTRY_USER");
  const char* env_pass = std::getenv("VOIDBOX_REGISTRY_PASSWORD");
  if (env_user != nullptr && *env_user != '\0') {
    return std::optional<Credentials>(Credentials{env_user, env_pass ? env_pass : ""});
  }
  std::string path = docker_config_path;
  if (path.empty()) {
    if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir) {
      path = std::string(dir) + "/config.json";
    } else if (const char* home = std::getenv("HOME"); home && *home) {
      path = std::string(home) + "/.docker/config.json";
    }
  }
  if (path.empty()) return std::optional<Credentials>{};
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::optional<Credentials>{};
  std::string text;
  text.resize(kMaxDockerConfig + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxDockerConfig) {
    return fail(VB_ERR_INVALID_ARGUMENT, path + ": larger than 1 MiB");
  }
  auto creds = credentials_from_docker_config(text, registry);
  if (!creds) return fail(VB_ERR_INVALID_ARGUMENT, path + ": " + creds.error().message);
  return creds;
}

Result<std::string> token_from_response(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(json, ec);
  if (ec || !root.is_object()) return fail(VB_ERR_IO, "token endpoint did not return JSON");
  for (const char* key : {"token", "access_token"}) {
    if (const auto* v = root.as_object().if_contains(key);
        v && v->is_string() && !v->as_string().empty()) {
      return std::string(v->as_string());
    }
  }
  return fail(VB_ERR_IO, "token endpoint reply has neither token nor access_token");
}

}  // namespace voidbox::oci
