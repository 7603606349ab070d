#include "reference.hpp"

#include <gtest/gtest.h>

namespace voidbox::oci {
namespace {

TEST(Reference, DockerHubShortNameGetsLibraryAndLatest) {
  auto ref = parse_reference("busybox");
  ASSERT_TRUE(ref) << ref.error().message;
  EXPECT_EQ(ref->registry, "docker.io");
  EXPECT_EQ(ref->api_host(), "registry-1.docker.io");
  EXPECT_EQ(ref->repository, "library/busybox");
  EXPECT_EQ(ref->tag, "latest");
  EXPECT_EQ(ref->canonical(), "docker.io/library/busybox:latest");
}

TEST(Reference, DockerHubUserRepoHasNoLibrary) {
  auto ref = parse_reference("someone/tool:1.2");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->repository, "someone/tool");
  EXPECT_EQ(ref->tag, "1.2");
}

TEST(Reference, HostWithPortAndNestedPath) {
  auto ref = parse_reference("127.0.0.1:5000/team/app/web:v3");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->registry, "127.0.0.1:5000");
  EXPECT_EQ(ref->repository, "team/app/web");
  EXPECT_EQ(ref->tag, "v3");
  EXPECT_TRUE(uses_plain_http(*ref, {}));
}

TEST(Reference, LocalhostWithoutDotIsAHost) {
  auto ref = parse_reference("localhost/app");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->registry, "localhost");
  EXPECT_EQ(ref->repository, "app");
  EXPECT_TRUE(uses_plain_http(*ref, {}));
}

TEST(Reference, Ipv6Loopback) {
  auto ref = parse_reference("[::1]:5000/app:1");
  ASSERT_TRUE(ref) << ref.error().message;
  EXPECT_EQ(ref->registry, "[::1]:5000");
  EXPECT_TRUE(uses_plain_http(*ref, {}));
}

TEST(Reference, RemoteRegistryIsHttpsUnlessListedInsecure) {
  auto ref = parse_reference("ghcr.io/org/img:1");
  ASSERT_TRUE(ref);
  EXPECT_FALSE(uses_plain_http(*ref, {}));
  EXPECT_TRUE(uses_plain_http(*ref, {"ghcr.io"}));
  auto with_port = parse_reference("reg.local:8080/img");
  ASSERT_TRUE(with_port);
  EXPECT_TRUE(uses_plain_http(*with_port, {"reg.local:8080"}));
}

TEST(Reference, DigestAndTagTogether) {
  std::string digest = "sha256:" + std::string(64, 'a');
  auto ref = parse_reference("quay.io/x/y:1.0@" + digest);
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->tag, "1.0");
  EXPECT_EQ(ref->digest, digest);
  EXPECT_EQ(ref->manifest_reference(), digest);
  auto only_digest = parse_reference("alpine@" + digest);
  ASSERT_TRUE(only_digest);
  EXPECT_TRUE(only_digest->tag.empty());
  EXPECT_EQ(only_digest->canonical(), "docker.io/library/alpine@" + digest);
}

TEST(Reference, RejectsBadInput) {
  for (const char* bad : {"", "UPPER/case", "app:", "app@sha256:abc", "a//b", "app:-tag",
                          "app/../x", "host.io/", "busybox@md5:00"}) {
    EXPECT_FALSE(parse_reference(bad)) << bad;
  }
}

TEST(Reference, IndexDockerIoIsDockerHub) {
  auto ref = parse_reference("index.docker.io/library/alpine:3");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->registry, "docker.io");
  EXPECT_EQ(ref->api_host(), "registry-1.docker.io");
}

TEST(Platform, Parses) {
  auto p = parse_platform("linux/arm64/v8");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->os, "linux");
  EXPECT_EQ(p->architecture, "arm64");
  EXPECT_EQ(p->variant, "v8");
  EXPECT_EQ(p->to_string(), "linux/arm64/v8");
  EXPECT_FALSE(parse_platform("amd64"));
  EXPECT_FALSE(parse_platform("linux/"));
  EXPECT_FALSE(parse_platform("linux/arm/v7/x"));
}

}  // namespace
}  // namespace voidbox::oci
