// Image references as Docker spells them: [host[:port]/]path[:tag][@digest].
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace voidbox::oci {

struct Reference {
  std::string registry;    // as written or defaulted: "docker.io", "127.0.0.1:5000"
  std::string repository;  // "library/busybox"
  std::string tag;         // empty when pulled by digest only
  std::string digest;      // "sha256:<hex>" or empty

  // Host[:port] the distribution API lives at ("registry-1.docker.io" for docker.io).
  std::string api_host() const;
  // "docker.io/library/busybox:latest" or ".../busybox@sha256:..."; the key of the ref index.
  std::string canonical() const;
  // Tag or digest, as used in /v2/<name>/manifests/<reference>.
  std::string manifest_reference() const { return digest.empty() ? tag : digest; }
};

Result<Reference> parse_reference(std::string_view text);

// Registries spoken to over plain http: loopback names and the explicit list.
bool uses_plain_http(const Reference& ref, const std::vector<std::string>& insecure_registries);

// "linux/amd64[/v8]".
struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;
  std::string to_string() const;
};

Result<Platform> parse_platform(std::string_view text);

}  // namespace voidbox::oci
