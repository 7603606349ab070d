// Bearer-token auth, retries and resumption against a registry that
// misbehaves on purpose.
#include "fake_registry.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>

#include "digest.hpp"
#include "registry_fixture.hpp"

namespace voidbox::oci_test {
namespace {

namespace json = boost::json;

class FakeRegistryTest : public RegistryTest {
 protected:
  FakeRegistryOptions options() const {
    FakeRegistryOptions o;
    o.layout_dir = w_->work + "/handmade";
    o.user = "robot";
    o.password = "hunter2";
    return o;
  }
  std::vector<std::string> creds(const std::string& password = "hunter2") const {
    return {"VOIDBOX_REGISTRY_USER=robot", "VOIDBOX_REGISTRY_PASSWORD=" + password};
  }
  // The layers' sizes as the blob files in the served layout have them.
  std::uint64_t layer_bytes_on_disk(json::object& result) const {
    std::uint64_t total = 0;
    for (const auto& l : result["layers"].as_array()) {
      const std::string digest(l.at("digest").as_string());
      total += std::filesystem::file_size(options().layout_dir + "/blobs/sha256/" +
                                          digest.substr(digest.find(':') + 1));
    }
    return total;
  }
  // What the registry itself sent of the layers, over all responses.
  static std::uint64_t layer_bytes_sent(const FakeRegistry& registry, json::object& result) {
    std::uint64_t total = 0;
    for (const auto& l : result["layers"].as_array())
      total += registry.blob_bytes_sent(std::string(l.at("digest").as_string()));
    return total;
  }
};

TEST_F(FakeRegistryTest, BearerTokenFromTokenOrAccessToken) {
  for (bool access_token : {false, true}) {
    auto o = options();
    o.access_token_field = access_token;
    FakeRegistry registry(o);
    std::filesystem::remove_all(cache_);
    auto r = image({"pull", registry.host() + "/test/image:multi"}, creds());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_GE(registry.token_requests.load(), 1);
    EXPECT_GE(registry.unauthorized.load(), 1);
    EXPECT_EQ(json::value_to<std::string>(parse(r)["platform"]), "linux/amd64");
  }
}

TEST_F(FakeRegistryTest, BearerWithoutOrWithWrongCredentialsFailsClearly) {
  FakeRegistry registry(options());
  auto anonymous = image({"pull", registry.host() + "/test/image:multi"});
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_NE(anonymous.err.find("no credentials found"), std::string::npos) << anonymous.err;
  auto wrong = image({"pull", registry.host() + "/test/image:multi"}, creds("wrong"));
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("rejected user 'robot'"), std::string::npos) << wrong.err;
}

TEST_F(FakeRegistryTest, Retries5xxAndResumesADroppedConnection) {
  auto o = options();
  o.fail_blob_requests = 2;
  o.drop_after_bytes = 5 << 20;
  o.drop_min_blob_size = 1 << 20;
  FakeRegistry registry(o);
  auto r = image({"pull", registry.host() + "/test/image:big", "--jobs", "1"}, creds());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(registry.served_503.load(), 2);
  EXPECT_EQ(registry.dropped.load(), 1);
  EXPECT_GE(registry.range_requests.load(), 1);
  auto result = parse(r);
  const std::uint64_t on_disk = layer_bytes_on_disk(result);
  ASSERT_GT(on_disk, 5u << 20);
  // Nothing was sent twice: the retry asked for the rest only; and the
  // puller counted exactly what the registry sent.
  EXPECT_EQ(layer_bytes_sent(registry, result), on_disk);
  EXPECT_EQ(result["downloaded_bytes"].to_number<std::uint64_t>(),
            layer_bytes_sent(registry, result));
  auto unpacked = image({"unpack", registry.host() + "/test/image:big", dir_ + "/rootfs"});
  ASSERT_EQ(unpacked.exit_code, 0) << unpacked.err;
  EXPECT_EQ(*voidbox::oci::sha256_of_file(dir_ + "/rootfs/big.bin"), w_->big_file_sha256);
}

TEST_F(FakeRegistryTest, ServerIgnoringRangeIsHandled) {
  auto o = options();
  o.drop_after_bytes = 5 << 20;
  o.drop_min_blob_size = 1 << 20;
  o.ignore_range = true;
  FakeRegistry registry(o);
  auto r = image({"pull", registry.host() + "/test/image:big", "--jobs", "1"}, creds());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(registry.range_requests.load(), 1);
  auto result = parse(r);
  // The cut-off 5 MiB came again with the whole blob, and were counted.
  EXPECT_EQ(layer_bytes_sent(registry, result), layer_bytes_on_disk(result) + (5u << 20));
  EXPECT_EQ(result["downloaded_bytes"].to_number<std::uint64_t>(),
            layer_bytes_sent(registry, result));
  auto unpacked = image({"unpack", registry.host() + "/test/image:big", dir_ + "/rootfs"});
  ASSERT_EQ(unpacked.exit_code, 0) << unpacked.err;
  EXPECT_EQ(*voidbox::oci::sha256_of_file(dir_ + "/rootfs/big.bin"), w_->big_file_sha256);
}

}  // namespace
}  // namespace voidbox::oci_test
