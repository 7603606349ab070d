// LLM providers as the original maps them, with its lm-studio bug fixed:
// which agent runs (claude-code or codex), the environment and files it gets
// in the guest, and, for key-based providers, the upstream and real
// credential the host-side credential proxy forwards with.
//
//   provider          flavor  upstream (host view)          credential
//   claude            claude  https://api.anthropic.com     $ANTHROPIC_API_KEY (x-api-key)
//   claude-personal   claude  https://api.anthropic.com     ~/.claude/.credentials.json OAuth
//   (Bearer) ollama            claude  http://127.0.0.1:11434        none (token "ollama")
//   lm-studio         claude  http://127.0.0.1:1234         none (key "lm-studio")
//   codex             codex   https://api.openai.com/v1     $OPENAI_API_KEY (Bearer) or
//   ~/.codex/auth.json custom            claude  llm.base_url (required)       $<api_key_env>
//   (x-api-key), optional
//
// llm.base_url replaces the upstream and llm.api_key_env the key's variable;
// VOIDBOX_LLM_* overrides are applied to the spec before this (spec layer).
// A loopback upstream is reached from the guest through the gateway 10.0.2.2.
#pragma once

#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent_result.hpp"
#include "agent/guest_plan.hpp"
#include "voidbox/spec.hpp"

namespace voidbox::agent {

// How the credential travels in a request.
struct Credential {
  enum class Scheme { x_api_key, bearer };
  Scheme scheme = Scheme::x_api_key;
  std::string secret;  // the real key or OAuth token: never logged, never into the guest via proxy
  bool oauth = false;  // an Anthropic OAuth token: requests need the oauth beta flag
};

// What the mapping may read from the host; tests inject their own.
struct HostView {
  std::function<std::optional<std::string>(const std::string& name)> env;
  // Reads a small file (credentials), nullopt when absent or unreadable.
  std::function<std::optional<std::string>(const std::filesystem::path&)> read_file;
  std::filesystem::path home;

  static HostView current();  // getenv, the real file system, $HOME
};

struct ResolvedProvider {
  std::string provider;  // normalized: claude, claude-personal, ollama, lm-studio, codex, custom
  Flavor flavor = Flavor::claude;
  std::optional<std::string> model;
  std::string upstream;                     // base URL as the host reaches it
  std::optional<Credential> credential;     // the real one; nullopt for keyless providers
  std::vector<GuestFile> credential_files;  // what the guest gets when the proxy is off
  bool local = false;                       // no real API cost: the reported cost is zeroed
  // Key-based and the key can be injected on the host (the proxy can serve it).
  bool proxyable = false;
};

std::expected<ResolvedProvider, std::string> resolve_provider(const spec::Llm& llm,
                                                              const HostView& host);

// Where the guest reaches a running credential proxy, and the per-run token it
// must present instead of the key.
struct ProxyEndpoint {
  std::string guest_origin;  // http://10.0.2.2:PORT
  std::string placeholder;
};

// What the agent process in the guest gets.
struct GuestLaunch {
  std::map<std::string, std::string> env;
  std::vector<GuestFile> files;   // credential files (none when proxied)
  std::vector<std::string> args;  // provider arguments for the agent CLI (--model m)
};

// With `proxy` the guest sees only the proxy's address and the placeholder;
// without it, the real credential (as the original does). A proxy for a
// provider that is not proxyable is an error, never a silent fallback.
std::expected<GuestLaunch, std::string> guest_launch(const ResolvedProvider& provider,
                                                     const ProxyEndpoint* proxy);

// The proxy's forwarding target: upstream base URL and the real credential.
struct ProxyUpstream {
  std::string base_url;
  Credential credential;
};
std::expected<ProxyUpstream, std::string> proxy_upstream(const ResolvedProvider& provider);

// A fresh per-run placeholder token: "voidbox-proxy-" and 64 hex digits from
// getrandom(2). Only the proxy knows it maps to a key.
std::expected<std::string, std::string> make_placeholder_token();

}  // namespace voidbox::agent
