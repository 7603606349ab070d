#include "auth.hpp"

#include <gtest/gtest.h>

namespace voidbox::oci {
namespace {

TEST(Challenge, BearerWithQuotedParams) {
  auto c = parse_challenge(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->params["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(c->params["service"], "registry.docker.io");
  EXPECT_EQ(c->params["scope"], "repository:library/busybox:pull");
}

TEST(Challenge, BasicCaseInsensitiveAndEscapes) {
  auto c = parse_challenge(R"(basic Realm="a \"quoted\" realm", charset=UTF-8)");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "basic");
  EXPECT_EQ(c->params["realm"], "a \"quoted\" realm");
  EXPECT_EQ(c->params["charset"], "UTF-8");
}

TEST(Challenge, ErrorParamAndMalformed) {
  auto c = parse_challenge(R"(Bearer realm="https://x/t",error="insufficient_scope")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->params["error"], "insufficient_scope");
  EXPECT_FALSE(parse_challenge(""));
  EXPECT_FALSE(parse_challenge(R"(Bearer realm="unterminated)"));
}

TEST(Base64, RoundTrips) {
  for (std::string s : {"", "a", "ab", "abc", "user:pa:ss", "\x01\xff\x80"}) {
    auto decoded = base64_decode(base64_encode(s));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, s);
  }
  EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
  EXPECT_FALSE(base64_decode("!!"));
}

TEST(DockerConfig, FindsAuthByHostAndScheme) {
  std::string json = R"({"auths": {
      "127.0.0.1:5000": {"auth": "dXNlcjpwYXNz"},
      "https://ghcr.io": {"username": "u2", "password": "p2"},
      "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldDpjb2xvbg=="}}})";
  auto local = credentials_from_docker_config(json, "127.0.0.1:5000");
  ASSERT_TRUE(local && *local);
  EXPECT_EQ((*local)->username, "user");
  EXPECT_EQ((*local)->password, "pass");
  auto ghcr = credentials_from_docker_config(json, "ghcr.io");
  ASSERT_TRUE(ghcr && *ghcr);
  EXPECT_EQ((*ghcr)->username, "u2");
  auto hub = credentials_from_docker_config(json, "docker.io");
  ASSERT_TRUE(hub && *hub);
  EXPECT_EQ((*hub)->username, "hub");
  EXPECT_EQ((*hub)->password, "secret:colon");
  auto none = credentials_from_docker_config(json, "quay.io");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST(DockerConfig, MalformedIsAnError) {
  EXPECT_FALSE(credentials_from_docker_config("not json", "x"));
  EXPECT_FALSE(credentials_from_docker_config(R"({"auths":{"x":{"auth":"bm9jb2xvbg=="}}})", "x"));
  auto empty = credentials_from_docker_config(R"({"credsStore":"desktop"})", "x");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(*empty);
}

TEST(Token, TokenOrAccessToken) {
  EXPECT_EQ(*token_from_response(R"({"token":"abc"})"), "abc");
  EXPECT_EQ(*token_from_response(R"({"access_token":"xyz","expires_in":300})"), "xyz");
  EXPECT_FALSE(token_from_response(R"({"other":1})"));
  EXPECT_FALSE(token_from_response("<html>"));
}

}  // namespace
}  // namespace voidbox::oci
