#include "agent/provider.hpp"

#include <gtest/gtest.h>

#include <map>

#include "agent/url.hpp"

namespace voidbox::agent {
namespace {

struct FakeHost {
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> files;
  HostView view() const {
    HostView v;
    v.env = [this](const std::string& n) -> std::optional<std::string> {
      auto it = env.find(n);
      return it == env.end() ? std::nullopt : std::optional(it->second);
    };
    v.read_file = [this](const std::filesystem::path& p) -> std::optional<std::string> {
      auto it = files.find(p.string());
      return it == files.end() ? std::nullopt : std::optional(it->second);
    };
    v.home = "/home/u";
    return v;
  }
};

spec::Llm llm(std::string provider) {
  spec::Llm l;
  l.provider = std::move(provider);
  return l;
}

const ProxyEndpoint kProxy{"http://10.0.2.2:40001", "voidbox-proxy-abc"};

TEST(ProviderTest, ClaudeUsesHostKeyOrOnlyThePlaceholderWhenProxied) {
  FakeHost host{{{"ANTHROPIC_API_KEY", "sk-real"}}, {}};
  auto p = resolve_provider(llm("claude"), host.view());
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->flavor, Flavor::claude);
  EXPECT_TRUE(p->proxyable);
  EXPECT_FALSE(p->local);

  auto direct = guest_launch(*p, nullptr);
  ASSERT_TRUE(direct);
  EXPECT_EQ(direct->env.at("ANTHROPIC_API_KEY"), "sk-real");
  EXPECT_EQ(direct->env.at("ANTHROPIC_BASE_URL"), "https://api.anthropic.com");

  auto proxied = guest_launch(*p, &kProxy);
  ASSERT_TRUE(proxied);
  EXPECT_EQ(proxied->env.at("ANTHROPIC_API_KEY"), "voidbox-proxy-abc");
  EXPECT_EQ(proxied->env.at("ANTHROPIC_BASE_URL"), "http://10.0.2.2:40001");
  for (const auto& [name, value] : proxied->env) {
    EXPECT_EQ(value.find("sk-real"), std::string::npos) << name;
  }
  EXPECT_TRUE(proxied->files.empty());

  auto up = proxy_upstream(*p);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->base_url, "https://api.anthropic.com");
  EXPECT_EQ(up->credential.secret, "sk-real");
  EXPECT_EQ(up->credential.scheme, Credential::Scheme::x_api_key);
}

TEST(ProviderTest, ClaudeWithoutKeyIsAnErrorNamingTheVariable) {
  FakeHost host;
  auto l = llm("claude");
  l.api_key_env = "MY_KEY";
  auto p = resolve_provider(l, host.view());
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().find("MY_KEY"), std::string::npos);
}

TEST(ProviderTest, ClaudePersonalReadsOauthTokenAndProxiesItAsBearer) {
  const std::string creds = R"({"claudeAiOauth":{"accessToken":"oat-real","refreshToken":"r"}})";
  FakeHost host{{}, {{"/home/u/.claude/.credentials.json", creds}}};
  auto p = resolve_provider(llm("claude-personal"), host.view());
  ASSERT_TRUE(p) << p.error();
  auto direct = guest_launch(*p, nullptr);
  ASSERT_TRUE(direct);
  ASSERT_EQ(direct->files.size(), 1u);
  EXPECT_EQ(direct->files[0].path, "/home/sandbox/.claude/.credentials.json");
  EXPECT_EQ(direct->files[0].mode, 0600u);
  EXPECT_TRUE(direct->files[0].secret);

  auto proxied = guest_launch(*p, &kProxy);
  ASSERT_TRUE(proxied);
  EXPECT_TRUE(proxied->files.empty());
  EXPECT_EQ(proxied->env.at("ANTHROPIC_AUTH_TOKEN"), "voidbox-proxy-abc");
  auto up = proxy_upstream(*p);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->credential.scheme, Credential::Scheme::bearer);
  EXPECT_TRUE(up->credential.oauth);
  EXPECT_EQ(up->credential.secret, "oat-real");
}

TEST(ProviderTest, ClaudePersonalWithoutCredentialsIsAnError) {
  FakeHost host{{}, {{"/home/u/.claude/.credentials.json", R"({"other":1})"}}};
  EXPECT_FALSE(resolve_provider(llm("claude-personal"), host.view()));
}

TEST(ProviderTest, OllamaReachesHostLoopbackThroughTheGateway) {
  FakeHost host;
  auto p = resolve_provider(llm("ollama"), host.view());
  ASSERT_TRUE(p) << p.error();
  EXPECT_TRUE(p->local);
  EXPECT_FALSE(p->proxyable);
  auto launch = guest_launch(*p, nullptr);
  ASSERT_TRUE(launch);
  EXPECT_EQ(launch->env.at("ANTHROPIC_BASE_URL"), "http://10.0.2.2:11434");
  EXPECT_EQ(launch->env.at("ANTHROPIC_API_KEY"), "");
  EXPECT_EQ(launch->env.at("ANTHROPIC_AUTH_TOKEN"), "ollama");
  EXPECT_EQ(launch->args, (std::vector<std::string>{"--model", "qwen3-coder:7b"}));
  EXPECT_FALSE(guest_launch(*p, &kProxy)) << "no key to inject: the proxy must refuse";
}

TEST(ProviderTest, LmStudioIsItsOwnProviderNotClaude) {
  FakeHost host{{{"ANTHROPIC_API_KEY", "sk-real"}}, {}};
  auto l = llm("lm-studio");
  l.model = "qwen2.5-coder-7b-instruct";
  auto p = resolve_provider(l, host.view());
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->provider, "lm-studio");
  EXPECT_TRUE(p->local);
  EXPECT_FALSE(p->credential);
  auto launch = guest_launch(*p, nullptr);
  ASSERT_TRUE(launch);
  EXPECT_EQ(launch->env.at("ANTHROPIC_BASE_URL"), "http://10.0.2.2:1234");
  EXPECT_EQ(launch->env.at("ANTHROPIC_API_KEY"), "lm-studio");
  EXPECT_EQ(launch->args, (std::vector<std::string>{"--model", "qwen2.5-coder-7b-instruct"}));
}

TEST(ProviderTest, CodexUsesOpenAiKeyAndCodexFlavor) {
  FakeHost host{{{"OPENAI_API_KEY", "sk-openai"}}, {}};
  auto p = resolve_provider(llm("codex"), host.view());
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->flavor, Flavor::codex);
  auto proxied = guest_launch(*p, &kProxy);
  ASSERT_TRUE(proxied);
  EXPECT_EQ(proxied->env.at("OPENAI_BASE_URL"), "http://10.0.2.2:40001/v1");
  EXPECT_EQ(proxied->env.at("OPENAI_API_KEY"), "voidbox-proxy-abc");
  EXPECT_EQ(proxy_upstream(*p)->credential.scheme, Credential::Scheme::bearer);
}

TEST(ProviderTest, CodexLoginFileGoesToTheGuestAndCannotBeProxied) {
  FakeHost host{{}, {{"/home/u/.codex/auth.json", R"({"auth_mode":"chatgpt","tokens":{}})"}}};
  auto p = resolve_provider(llm("codex"), host.view());
  ASSERT_TRUE(p) << p.error();
  auto direct = guest_launch(*p, nullptr);
  ASSERT_TRUE(direct);
  ASSERT_EQ(direct->files.size(), 1u);
  EXPECT_EQ(direct->files[0].path, "/home/sandbox/.codex/auth.json");
  EXPECT_FALSE(guest_launch(*p, &kProxy));
}

TEST(ProviderTest, CustomNeedsBaseUrlAndRewritesLoopbackForTheGuest) {
  FakeHost host{{{"MY_KEY", "sk-custom"}}, {}};
  EXPECT_FALSE(resolve_provider(llm("custom"), host.view()));
  auto l = llm("custom");
  l.base_url = "http://localhost:8080/anthropic/";
  l.api_key_env = "MY_KEY";
  l.model = "m1";
  auto p = resolve_provider(l, host.view());
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->upstream, "http://localhost:8080/anthropic");
  auto direct = guest_launch(*p, nullptr);
  ASSERT_TRUE(direct);
  EXPECT_EQ(direct->env.at("ANTHROPIC_BASE_URL"), "http://10.0.2.2:8080/anthropic");
  EXPECT_EQ(direct->env.at("ANTHROPIC_API_KEY"), "sk-custom");
  auto proxied = guest_launch(*p, &kProxy);
  ASSERT_TRUE(proxied);
  EXPECT_EQ(proxied->env.at("ANTHROPIC_BASE_URL"), "http://10.0.2.2:40001/anthropic");
  EXPECT_EQ(proxy_upstream(*p)->base_url, "http://localhost:8080/anthropic");
}

TEST(ProviderTest, UnknownProviderIsAnError) {
  FakeHost host;
  auto p = resolve_provider(llm("gemini"), host.view());
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().find("gemini"), std::string::npos);
}

TEST(ProviderTest, PlaceholderTokensAreFreshAndLong) {
  auto a = make_placeholder_token(), b = make_placeholder_token();
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->size(), std::string("voidbox-proxy-").size() + 64);
}

TEST(UrlTest, ParsesAndRejects) {
  auto u = parse_url("HTTPS://API.Example.com/v1/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "api.example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/v1");
  auto v6 = parse_url("http://[::1]:99");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->is_loopback());
  EXPECT_EQ(as_seen_from_guest(*v6).to_string(), "http://10.0.2.2:99");
  for (const char* bad : {"ftp://x", "x", "http://", "http://u:p@h/", "http://h:0",
                          "http://h:99999", "http://h/p?q=1", "http://h h/"}) {
    EXPECT_FALSE(parse_url(bad)) << bad;
  }
}

}  // namespace
}  // namespace voidbox::agent
