#include "agent/provider.hpp"

#include <sys/random.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "agent/url.hpp"

namespace voidbox::agent {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxCredentialFile = 1u << 20;
constexpr const char* kClaudeCredentialsGuest = "/home/sandbox/.claude/.credentials.json";
constexpr const char* kCodexAuthGuest = "/home/sandbox/.codex/auth.json";

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::expected<std::string, std::string> key_from_env(const HostView& host, const std::string& var,
                                                     const std::string& provider) {
  std::optional<std::string> value = host.env(var);
  if (!value || value->empty()) {
    return std::unexpected("llm.provider " + provider + " needs " + var +
                           " in the host environment");
  }
  return *value;
}

std::optional<json::object> json_file(const HostView& host, const std::filesystem::path& path) {
  std::optional<std::string> text = host.read_file(path);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

std::expected<void, std::string> resolve_claude_personal(const HostView& host,
                                                         ResolvedProvider& out) {
  const std::filesystem::path file = host.home / ".claude" / ".credentials.json";
  std::optional<std::string> text = host.read_file(file);
  std::optional<json::object> creds = json_file(host, file);
  const json::object* oauth = nullptr;
  if (creds) {
    if (const auto* v = creds->if_contains("claudeAiOauth")) oauth = v->if_object();
  }
  const json::value* token = oauth ? oauth->if_contains("accessToken") : nullptr;
  if (!text || !token || !token->is_string() || token->get_string().empty()) {
    return std::unexpected("llm.provider claude-personal needs " + file.string() +
                           " with claudeAiOauth.accessToken (run `claude` and log in on the host)");
  }
  out.credential = Credential{Credential::Scheme::bearer, std::string(token->get_string()), true};
  out.credential_files.push_back({kClaudeCredentialsGuest, *text, 0600, true, true});
  out.proxyable = true;
  return {};
}

std::expected<void, std::string> resolve_codex(const spec::Llm& llm, const HostView& host,
                                               ResolvedProvider& out) {
  const std::string var = llm.api_key_env.value_or("OPENAI_API_KEY");
  if (std::optional<std::string> key = host.env(var); key && !key->empty()) {
    out.credential = Credential{Credential::Scheme::bearer, *key, false};
    out.proxyable = true;
    return {};
  }
  // A ChatGPT login: the token file goes to the guest, and refreshes happen
  // there, so the proxy cannot stand in for it.
  const std::filesystem::path file = host.home / ".codex" / "auth.json";
  std::optional<json::object> auth = json_file(host, file);
  if (auth && auth->contains("auth_mode")) {
    out.credential_files.push_back({kCodexAuthGuest, json::serialize(*auth), 0600, true, true});
    return {};
  }
  return std::unexpected("llm.provider codex needs " + var + " in the host environment or " +
                         file.string() + " (run `codex login` on the host)");
}

}  // namespace

HostView HostView::current() {
  HostView view;
  view.env = [](const std::string& name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
  };
  view.read_file = [](const std::filesystem::path& path) -> std::optional<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string text(kMaxCredentialFile + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.gcount() > static_cast<std::streamsize>(kMaxCredentialFile)) return std::nullopt;
    text.resize(static_cast<std::size_t>(in.gcount()));
    return text;
  };
  const char* home = std::getenv("HOME");
  view.home = home ? home : "/";
  return view;
}

std::expected<ResolvedProvider, std::string> resolve_provider(const spec::Llm& llm,
                                                              const HostView& host) {
  ResolvedProvider out;
  out.provider = lower(llm.provider);
  out.model = llm.model;
  const std::string& p = out.provider;
  std::string default_upstream = "https://api.anthropic.com";
  if (p == "claude") {
    auto key = key_from_env(host, llm.api_key_env.value_or("ANTHROPIC_API_KEY"), p);
    if (!key) return std::unexpected(key.error());
    out.credential = Credential{Credential::Scheme::x_api_key, *key, false};
    out.proxyable = true;
  } else if (p == "claude-personal") {
    if (auto ok = resolve_claude_personal(host, out); !ok) return std::unexpected(ok.error());
  } else if (p == "ollama") {
    default_upstream = "http://127.0.0.1:11434";
    if (!out.model) out.model = "qwen3-coder:7b";
    out.local = true;
  } else if (p == "lm-studio" || p == "lmstudio") {
    out.provider = "lm-studio";
    default_upstream = "http://127.0.0.1:1234";
    out.local = true;
  } else if (p == "codex") {
    out.flavor = Flavor::codex;
    default_upstream = "https://api.openai.com/v1";
    if (auto ok = resolve_codex(llm, host, out); !ok) return std::unexpected(ok.error());
  } else if (p == "custom") {
    if (!llm.base_url) return std::unexpected("llm.provider custom needs llm.base_url");
    if (llm.api_key_env) {
      auto key = key_from_env(host, *llm.api_key_env, p);
      if (!key) return std::unexpected(key.error());
      out.credential = Credential{Credential::Scheme::x_api_key, *key, false};
      out.proxyable = true;
    }
  } else {
    return std::unexpected("unknown llm.provider '" + llm.provider +
                           "' (claude, claude-personal, ollama, lm-studio, codex, custom)");
  }
  auto upstream = parse_url(llm.base_url.value_or(default_upstream));
  if (!upstream) return std::unexpected("llm.base_url: " + upstream.error());
  out.upstream = upstream->to_string();
  return out;
}

std::expected<GuestLaunch, std::string> guest_launch(const ResolvedProvider& provider,
                                                     const ProxyEndpoint* proxy) {
  if (proxy && !provider.proxyable) {
    return std::unexpected("the credential proxy cannot serve llm.provider " + provider.provider +
                           (provider.credential ? "" : ": it has no key to inject"));
  }
  auto upstream = parse_url(provider.upstream);
  if (!upstream) return std::unexpected(upstream.error());
  GuestLaunch out;
  out.env["HOME"] = kSandboxHome;
  const std::string base =
      proxy ? proxy->guest_origin + upstream->path : as_seen_from_guest(*upstream).to_string();
  // The guest's copy of the credential: the placeholder when proxied.
  const std::string secret =
      proxy ? proxy->placeholder : (provider.credential ? provider.credential->secret : "");
  if (provider.flavor == Flavor::codex) {
    out.env["OPENAI_BASE_URL"] = base;
    if (provider.credential) out.env["OPENAI_API_KEY"] = secret;
    if (!proxy) out.files = provider.credential_files;
  } else {
    out.env["ANTHROPIC_BASE_URL"] = base;
    const std::string& p = provider.provider;
    if (p == "ollama") {
      // Ollama's Anthropic API wants an empty key and this token.
      out.env["ANTHROPIC_API_KEY"] = "";
      out.env["ANTHROPIC_AUTH_TOKEN"] = "ollama";
    } else if (p == "lm-studio") {
      out.env["ANTHROPIC_API_KEY"] = "lm-studio";
    } else if (p == "claude-personal") {
      if (proxy)
        out.env["ANTHROPIC_AUTH_TOKEN"] = secret;
      else
        out.files = provider.credential_files;
    } else if (provider.credential) {
      out.env["ANTHROPIC_API_KEY"] = secret;
    }
  }
  if (provider.model) out.args = {"--model", *provider.model};
  return out;
}

std::expected<ProxyUpstream, std::string> proxy_upstream(const ResolvedProvider& provider) {
  if (!provider.proxyable || !provider.credential) {
    return std::unexpected("the credential proxy cannot serve llm.provider " + provider.provider);
  }
  return ProxyUpstream{provider.upstream, *provider.credential};
}

std::expected<std::string, std::string> make_placeholder_token() {
  unsigned char bytes[32];
  std::size_t filled = 0;
  while (filled < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + filled, sizeof bytes - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(std::string("getrandom: ") + std::strerror(errno));
    filled += static_cast<std::size_t>(n);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string token = "voidbox-proxy-";
  for (unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  return token;
}

}  // namespace voidbox::agent
