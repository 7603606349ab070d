#include "manifest.hpp"

#include <gtest/gtest.h>

namespace voidbox::oci {
namespace {

std::string d(char c) {
  return "sha256:" + std::string(64, c);
}

std::string index_json() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         d('a') +
         R"(","size":10,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         d('b') +
         R"(","size":11,"platform":{"os":"linux","architecture":"amd64"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
         d('c') + R"(","size":12,"platform":{"os":"unknown","architecture":"unknown"}}]})";
}

TEST(Manifest, ClassifiesByMediaTypeHeaderAndShape) {
  EXPECT_EQ(*classify_manifest(index_json(), ""), ManifestKind::index);
  EXPECT_EQ(*classify_manifest(R"({"manifests":[]})", ""), ManifestKind::index);
  EXPECT_EQ(*classify_manifest(R"({"layers":[]})",
                               "application/vnd.docker.distribution.manifest.v2+json"),
            ManifestKind::manifest);
  EXPECT_EQ(*classify_manifest(R"({"manifests":[]})",
                               "application/vnd.docker.distribution.manifest.list.v2+json"),
            ManifestKind::index);
  auto v1 = classify_manifest(R"({"schemaVersion":1,"fsLayers":[]})", "");
  ASSERT_FALSE(v1);
  EXPECT_EQ(v1.error().status, VB_ERR_UNSUPPORTED);
}

TEST(Manifest, SelectsPlatform) {
  auto index = parse_index(index_json());
  ASSERT_TRUE(index) << index.error().message;
  auto amd = select_platform(*index, Platform{});
  ASSERT_TRUE(amd);
  EXPECT_EQ(amd->digest, d('b'));
  auto arm = select_platform(*index, Platform{"linux", "arm64", ""});
  ASSERT_TRUE(arm);
  EXPECT_EQ(arm->digest, d('a'));
  EXPECT_TRUE(select_platform(*index, Platform{"linux", "arm64", "v8"}));
  auto missing = select_platform(*index, Platform{"linux", "s390x", ""});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("linux/arm64/v8, linux/amd64"), std::string::npos)
      << missing.error().message;
}

TEST(Manifest, ParsesLayersAndRejectsBadDescriptors) {
  std::string good =
      R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      d('1') +
      R"(","size":100},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
      d('2') +
      R"(","size":2000},{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":")" +
      d('3') + R"(","size":3}]})";
  auto m = parse_manifest(good);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->config.digest, d('1'));
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[0].size, 2000u);

  std::string bad_digest = R"({"config":{"digest":"sha256:../../etc","size":1},"layers":[]})";
  EXPECT_FALSE(parse_manifest(bad_digest));
  std::string negative = R"({"config":{"digest":")" + d('1') + R"(","size":-1},"layers":[]})";
  EXPECT_FALSE(parse_manifest(negative));
  std::string helm =
      R"({"config":{"digest":")" + d('1') +
      R"(","size":1},"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":")" +
      d('2') + R"(","size":1},{"mediaType":"application/json","digest":")" + d('3') +
      R"(","size":1}]})";
  auto refused = parse_manifest(helm);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().status, VB_ERR_UNSUPPORTED);
}

}  // namespace
}  // namespace voidbox::oci
