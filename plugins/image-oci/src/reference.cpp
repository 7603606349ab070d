#include "reference.hpp"

#include <algorithm>

#include "digest.hpp"

namespace voidbox::oci {
namespace {

constexpr std::string_view kDockerHub = "docker.io";

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// path-component := [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
bool valid_component(std::string_view c) {
  if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
  for (size_t i = 0; i < c.size(); ++i) {
    char ch = c[i];
    if (is_lower_alnum(ch)) continue;
    if (ch == '.' || ch == '-') {
      if (ch == '.' && !is_lower_alnum(c[i - 1])) return false;
      continue;
    }
    if (ch == '_') {
      if (i + 1 < c.size() && c[i + 1] == '_') ++i;
      if (i + 1 < c.size() && c[i + 1] == '_') return false;
      continue;
    }
    return false;
  }
  return true;
}

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  };
  if (tag.front() == '.' || tag.front() == '-') return false;
  return std::all_of(tag.begin(), tag.end(), ok);
}

bool looks_like_host(std::string_view first) {
  return first == "localhost" || first.find('.') != std::string_view::npos ||
         first.find(':') != std::string_view::npos || first.starts_with("[");
}

bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  if (host.starts_with("[")) {
    auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    auto rest = host.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(":")) return false;
    host = rest.empty() ? std::string_view{} : rest.substr(1);
    return std::all_of(host.begin(), host.end(), [](char c) { return c >= '0' && c <= '9'; });
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == ':';
  });
}

// The host part without its port: "[::1]:5000" -> "::1", "localhost:5000" -> "localhost".
std::string host_name(std::string_view registry) {
  if (registry.starts_with("[")) {
    return std::string(registry.substr(1, registry.find(']') - 1));
  }
  return std::string(registry.substr(0, registry.find(':')));
}

}  // namespace

std::string Reference::api_host() const {
  return registry == kDockerHub ? std::string("registry-1.docker.io") : registry;
}

std::string Reference::canonical() const {
  std::string out = registry + "/" + repository;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

Result<Reference> parse_reference(std::string_view text) {
  auto invalid = [&](std::string_view why) {
    return fail(VB_ERR_INVALID_ARGUMENT,
                "invalid image reference '" + std::string(text) + "': " + std::string(why));
  };
  if (text.empty() || text.size() > 512) return invalid("empty or longer than 512 characters");
  Reference ref;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    if (!is_valid_digest(ref.digest)) return invalid("digest must be sha256:<64 lowercase hex>");
    rest = rest.substr(0, at);
  }
  if (auto slash = rest.find('/');
      slash != std::string_view::npos && looks_like_host(rest.substr(0, slash))) {
    ref.registry = std::string(rest.substr(0, slash));
    if (!valid_host(ref.registry)) return invalid("bad registry host");
    rest = rest.substr(slash + 1);
  } else {
    ref.registry = std::string(kDockerHub);
  }
  if (ref.registry == "index.docker.io" || ref.registry == "registry-1.docker.io") {
    ref.registry = std::string(kDockerHub);
  }
  auto last_slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || colon > last_slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    if (!valid_tag(ref.tag)) return invalid("bad tag");
    rest = rest.substr(0, colon);
  }
  if (rest.empty() || rest.size() > 255) return invalid("empty or overlong repository name");
  for (size_t start = 0;;) {
    auto end = rest.find('/', start);
    auto component = rest.substr(start, end == std::string_view::npos ? end : end - start);
    if (!valid_component(component)) {
      return invalid("repository path component '" + std::string(component) +
                     "' must be lowercase letters, digits and separators");
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  ref.repository = std::string(rest);
  if (ref.registry == kDockerHub && ref.repository.find('/') == std::string::npos) {
    ref.repository = "library/" + ref.repository;
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

bool uses_plain_http(const Reference& ref, const std::vector<std::string>& insecure_registries) {
  std::string host = host_name(ref.registry);
  if (host == "localhost" || host == "::1" || host.starts_with("127.")) return true;
  return std::find(insecure_registries.begin(), insecure_registries.end(), ref.registry) !=
             insecure_registries.end() ||
         std::find(insecure_registries.begin(), insecure_registries.end(), host) !=
             insecure_registries.end();
}

std::string Platform::to_string() const {
  return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

Result<Platform> parse_platform(std::string_view text) {
  Platform p;
  auto first = text.find('/');
  if (first == std::string_view::npos || first == 0) {
    return fail(VB_ERR_INVALID_ARGUMENT,
                "invalid platform '" + std::string(text) + "': expected os/arch[/variant]");
  }
  p.os = std::string(text.substr(0, first));
  auto rest = text.substr(first + 1);
  auto second = rest.find('/');
  p.architecture = std::string(rest.substr(0, second));
  if (second != std::string_view::npos) p.variant = std::string(rest.substr(second + 1));
  if (p.architecture.empty() || p.variant.find('/') != std::string::npos) {
    return fail(VB_ERR_INVALID_ARGUMENT,
                "invalid platform '" + std::string(text) + "': expected os/arch[/variant]");
  }
  return p;
}

}  // namespace voidbox::oci
