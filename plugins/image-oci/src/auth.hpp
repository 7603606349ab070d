// Registry credentials and the WWW-Authenticate challenge.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "result.hpp"

namespace voidbox::oci {

struct Challenge {
  std::string scheme;                         // lowercase: "basic" or "bearer"
  std::map<std::string, std::string> params;  // keys lowercase: realm, service, scope, error
};

// Parses the first challenge of a WWW-Authenticate header value.
Result<Challenge> parse_challenge(std::string_view header);

struct Credentials {
  std::string username;
  std::string password;
};

std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

// Looks up `registry` ("docker.io", "127.0.0.1:5000") in a Docker config.json
// text (its "auths" map: base64 "auth" or "username"/"password").
Result<std::optional<Credentials>> credentials_from_docker_config(std::string_view json,
                                                                  std::string_view registry);

// VOIDBOX_REGISTRY_USER/VOIDBOX_REGISTRY_PASSWORD, then the Docker config at
// `docker_config_path` (or $DOCKER_CONFIG/config.json, ~/.docker/config.json).
// A malformed config file is an error, not silently anonymous.
Result<std::optional<Credentials>> find_credentials(std::string_view registry,
                                                    const std::string& docker_config_path);

// The token from a bearer token endpoint's JSON reply ("token" or "access_token").
Result<std::string> token_from_response(std::string_view json);

}  // namespace voidbox::oci
