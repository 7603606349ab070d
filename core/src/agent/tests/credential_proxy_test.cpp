// The credential proxy between a libcurl client (standing in for the guest)
// and the scripted Messages API mock (standing in for the upstream).
#include "agent/credential_proxy.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "mock_anthropic.hpp"

namespace voidbox::agent {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kRealKey = "sk-ant-real-key-never-in-the-guest";

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "voidbox-proxy-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
};

struct Reply {
  long status = 0;
  std::string body;
  std::vector<Clock::time_point> arrivals;  // one per received piece of body
};

std::size_t collect(char* data, std::size_t size, std::size_t n, void* user) {
  auto* reply = static_cast<Reply*>(user);
  reply->body.append(data, size * n);
  reply->arrivals.push_back(Clock::now());
  return size * n;
}

Reply request(const std::string& url, const std::vector<std::string>& headers,
              const std::string& body, bool post = true) {
  Reply reply;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
  if (post) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);  // hang guard
  EXPECT_EQ(curl_easy_perform(curl), CURLE_OK);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return reply;
}

const char* kTwoTurns = R"({"turns": [
  {"content": [{"type": "text", "text": "first"}]},
  {"content": [{"type": "text", "text": "streamed slowly, piece by piece"}], "chunk_delay_ms": 250}]})";

class CredentialProxyTest : public ::testing::Test {
 protected:
  void start(Credential credential, const std::string& base_path = "") {
    CredentialProxy::Options options;
    options.upstream = {mock.base_url() + base_path, std::move(credential)};
    options.placeholder = placeholder;
    options.max_body_bytes = 1u << 20;
    auto started = CredentialProxy::start(options);
    ASSERT_TRUE(started) << started.error();
    proxy = std::move(*started);
    url = "http://127.0.0.1:" + std::to_string(proxy->port());
  }

  TempDir tmp;
  testing::MockAnthropic mock{tmp.path, kTwoTurns};
  std::string placeholder = *make_placeholder_token();
  std::unique_ptr<CredentialProxy> proxy;
  std::string url;
  const std::string body = R"({"model":"m","max_tokens":10,"messages":[]})";
};

TEST_F(CredentialProxyTest, UpstreamSeesTheRealKeyAndTheGuestOnlyThePlaceholder) {
  start({Credential::Scheme::x_api_key, kRealKey, false});
  const Reply reply = request(url + "/v1/messages",
                              {"x-api-key: " + placeholder, "anthropic-version: 2023-06-01",
                               "content-type: application/json"},
                              body);
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find("\"first\""), std::string::npos);
  EXPECT_EQ(reply.body.find(kRealKey), std::string::npos);
  const auto seen = mock.requests();
  ASSERT_EQ(seen.size(), 1u);
  const auto& headers = seen[0].at("headers").as_object();
  EXPECT_EQ(headers.at("x-api-key").as_string(), testing::MockAnthropic::fingerprint(kRealKey));
  EXPECT_EQ(headers.at("anthropic-version").as_string(), "2023-06-01");
  EXPECT_EQ(seen[0].at("body").at("model").as_string(), "m");
  EXPECT_EQ(proxy->stats().forwarded, 1u);
}

TEST_F(CredentialProxyTest, BearerPlaceholderBecomesTheOauthTokenWithTheBetaFlag) {
  start({Credential::Scheme::bearer, "oat-real-token", true});
  const Reply reply = request(
      url + "/v1/messages",
      {"Authorization: Bearer " + placeholder, "anthropic-beta: claude-code-20250219"}, body);
  EXPECT_EQ(reply.status, 200);
  const auto seen = mock.requests();
  ASSERT_EQ(seen.size(), 1u);
  const auto& headers = seen[0].at("headers").as_object();
  EXPECT_EQ(headers.at("authorization").as_string(),
            "Bearer " + testing::MockAnthropic::fingerprint("oat-real-token"));
  EXPECT_EQ(headers.at("anthropic-beta").as_string(), "claude-code-20250219,oauth-2025-04-20");
  EXPECT_FALSE(headers.contains("x-api-key"));
}

TEST_F(CredentialProxyTest, MissingOrWrongTokenIsRefusedAndNeverForwarded) {
  start({Credential::Scheme::x_api_key, kRealKey, false});
  EXPECT_EQ(request(url + "/v1/messages", {}, body).status, 401);
  EXPECT_EQ(request(url + "/v1/messages", {"x-api-key: " + placeholder + "x"}, body).status, 403);
  std::string wrong = placeholder;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_EQ(request(url + "/v1/messages", {"x-api-key: " + wrong}, body).status, 403);
  EXPECT_EQ(request(url + "/v1/messages", {"Authorization: Bearer " + wrong}, body).status, 403);
  EXPECT_EQ(request(url + "/v1/messages", {"x-api-key: " + std::string(kRealKey)}, body).status,
            403);
  EXPECT_TRUE(mock.requests().empty());
  EXPECT_EQ(proxy->stats().rejected_auth, 5u);
  EXPECT_EQ(proxy->stats().forwarded, 0u);
}

TEST_F(CredentialProxyTest, OnlyPathsUnderTheBaseUrlAreForwarded) {
  start({Credential::Scheme::x_api_key, kRealKey, false}, "/v1");
  const std::vector<std::string> auth{"x-api-key: " + placeholder};
  EXPECT_EQ(request(url + "/v2/messages", auth, body).status, 403);
  EXPECT_EQ(request(url + "/v1/../admin", auth, body).status, 403);
  EXPECT_EQ(request(url + "/v1/%2e%2e/admin", auth, body).status, 403);
  EXPECT_EQ(request(url + "/v1x", auth, body).status, 403);
  EXPECT_TRUE(mock.requests().empty());
  EXPECT_EQ(request(url + "/v1/messages", auth, body).status, 200);
  EXPECT_EQ(mock.requests().size(), 1u);
}

TEST_F(CredentialProxyTest, OversizedRequestsAreRefusedBeforeForwarding) {
  start({Credential::Scheme::x_api_key, kRealKey, false});
  const std::vector<std::string> auth{"x-api-key: " + placeholder};
  EXPECT_EQ(request(url + "/v1/messages", auth, std::string(2u << 20, 'x')).status, 413);
  EXPECT_EQ(request(url + "/v1/messages",
                    {"x-api-key: " + placeholder, "x-big: " + std::string(70'000, 'a')}, body)
                .status,
            431);
  EXPECT_TRUE(mock.requests().empty());
}

TEST_F(CredentialProxyTest, StreamedResponseArrivesIncrementally) {
  start({Credential::Scheme::x_api_key, kRealKey, false});
  const std::vector<std::string> auth{"x-api-key: " + placeholder};
  request(url + "/v1/messages", auth, body);  // turn 1
  const std::string streaming = R"({"model":"m","max_tokens":10,"stream":true,"messages":[]})";
  const Reply reply = request(url + "/v1/messages", auth, streaming);
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find("event: message_start"), std::string::npos);
  EXPECT_NE(reply.body.find("event: message_stop"), std::string::npos);
  // The mock spaces its ~10 events 250 ms apart. Relayed as they come, the
  // pieces spread over seconds; buffered, they would arrive all at once.
  ASSERT_GE(reply.arrivals.size(), 5u);
  const auto spread = reply.arrivals.back() - reply.arrivals.front();
  EXPECT_GE(spread, std::chrono::milliseconds(1500));
}

TEST_F(CredentialProxyTest, UnreachableUpstreamIsABadGateway) {
  CredentialProxy::Options options;
  options.upstream = {"http://127.0.0.1:1", {Credential::Scheme::x_api_key, kRealKey, false}};
  options.placeholder = placeholder;
  auto started = CredentialProxy::start(options);
  ASSERT_TRUE(started) << started.error();
  const Reply reply =
      request("http://127.0.0.1:" + std::to_string((*started)->port()) + "/v1/messages",
              {"x-api-key: " + placeholder}, body);
  EXPECT_EQ(reply.status, 502);
  EXPECT_EQ(reply.body.find(kRealKey), std::string::npos);
  EXPECT_EQ((*started)->stats().upstream_failed, 1u);
}

TEST(CredentialProxyStartTest, RefusesWeakConfigurations) {
  CredentialProxy::Options options;
  options.upstream = {"http://127.0.0.1:9", {Credential::Scheme::x_api_key, "k", false}};
  options.placeholder = "short";
  EXPECT_FALSE(CredentialProxy::start(options));
  options.placeholder = std::string(32, 'p');
  options.upstream.credential.secret.clear();
  EXPECT_FALSE(CredentialProxy::start(options));
}

TEST(CredentialProxyStartTest, GuestEndpointIsTheGateway) {
  CredentialProxy::Options options;
  options.upstream = {"http://127.0.0.1:9", {Credential::Scheme::x_api_key, "k", false}};
  options.placeholder = std::string(32, 'p');
  auto proxy = CredentialProxy::start(options);
  ASSERT_TRUE(proxy) << proxy.error();
  EXPECT_EQ((*proxy)->guest_endpoint().guest_origin,
            "http://10.0.2.2:" + std::to_string((*proxy)->port()));
  EXPECT_EQ((*proxy)->guest_endpoint().placeholder, options.placeholder);
}

}  // namespace
}  // namespace voidbox::agent

namespace voidbox::agent {
namespace {

// The mock's own endpoints besides the scripted turns.
TEST(MockAnthropicTest, AnswersStartupRequestsAndFailsLoudlyWhenTheScriptRunsOut) {
  TempDir tmp;
  testing::MockAnthropic mock(tmp.path, R"({"model": "claude-mock-9", "turns": [
    {"content": [{"type": "tool_use", "name": "Bash", "input": {"command": "true"}}]}]})");
  const std::string base = mock.base_url();
  const Reply count = request(base + "/v1/messages/count_tokens", {},
                              R"({"messages":[{"role":"user","content":"hello there"}]})");
  EXPECT_EQ(count.status, 200);
  EXPECT_NE(count.body.find("\"input_tokens\":"), std::string::npos);
  const Reply models = request(base + "/v1/models", {}, "", false);
  EXPECT_EQ(models.status, 200);
  EXPECT_NE(models.body.find("claude-mock-9"), std::string::npos);
  EXPECT_EQ(request(base + "/v1/other", {}, "", false).status, 404);

  const Reply turn = request(base + "/v1/messages", {"x-api-key: k"}, R"({"messages":[]})");
  EXPECT_EQ(turn.status, 200);
  EXPECT_NE(turn.body.find(R"("stop_reason":"tool_use")"), std::string::npos);
  EXPECT_NE(turn.body.find(R"("id":"toolu_mock_0_0")"), std::string::npos);
  EXPECT_NE(turn.body.find(R"("model":"claude-mock-9")"), std::string::npos);
  const Reply extra = request(base + "/v1/messages", {"x-api-key: k"}, R"({"messages":[]})");
  EXPECT_EQ(extra.status, 400);
  EXPECT_NE(extra.body.find("no turn 2"), std::string::npos);

  const auto log = mock.requests();
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[3].at("headers").at("x-api-key").as_string(),
            testing::MockAnthropic::fingerprint("k"));
  EXPECT_EQ(log[3].at("turn").as_int64(), 0);
}

}  // namespace
}  // namespace voidbox::agent
