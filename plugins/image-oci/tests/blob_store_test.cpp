#include "blob_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "digest.hpp"
#include "rootfs_disk.hpp"

namespace voidbox::oci {
namespace {

namespace fs = std::filesystem;

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vb-store-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST(Digest, KnownVectorAndValidation) {
  EXPECT_EQ(sha256_of("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(is_valid_digest(sha256_of("")));
  EXPECT_FALSE(is_valid_digest("sha256:ABC"));
  EXPECT_FALSE(is_valid_digest("sha256:" + std::string(64, 'A')));
  EXPECT_FALSE(is_valid_digest("sha512:" + std::string(64, 'a')));
  EXPECT_FALSE(is_valid_digest("sha256:../" + std::string(61, 'a')));
}

TEST_F(BlobStoreTest, PutReadVerifyAndDetectCorruption) {
  auto store = BlobStore::open(dir_ + "/cache");
  ASSERT_TRUE(store) << store.error().message;
  std::string data = "{\"hello\":1}";
  std::string digest = sha256_of(data);
  ASSERT_TRUE(store->put(digest, data));
  EXPECT_FALSE(store->put(sha256_of("other"), data));
  EXPECT_EQ(*store->read(digest, 1024), data);
  EXPECT_TRUE(store->verify(digest, data.size()));
  EXPECT_FALSE(store->verify(digest, data.size() + 1));
  std::ofstream(store->blob_path(digest)) << "{\"hello\":2}";
  EXPECT_FALSE(store->verify(digest, data.size()));
  auto corrupt = store->read(digest, 1024);
  ASSERT_FALSE(corrupt);
  EXPECT_NE(corrupt.error().message.find("corrupt"), std::string::npos);
}

TEST_F(BlobStoreTest, RefIndexRecordsFindsAndForgets) {
  auto store = BlobStore::open(dir_ + "/cache");
  ASSERT_TRUE(store);
  ImageRecord a;
  a.reference = "127.0.0.1:5000/a:1";
  a.manifest_digest = sha256_of("m1");
  a.config_digest = sha256_of("c1");
  a.layers = {{sha256_of("l1"), 10, "application/vnd.oci.image.layer.v1.tar+gzip"}};
  ImageRecord b = a;
  b.reference = "127.0.0.1:5000/b:1";
  ASSERT_TRUE(store->record(a));
  ASSERT_TRUE(store->record(b));
  ASSERT_TRUE(store->record(a));  // re-pull replaces, does not duplicate
  EXPECT_EQ(store->list()->size(), 2u);
  auto found = store->find(a.manifest_digest);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->layers.at(0).size, 10u);
  auto removed = store->forget(a.manifest_digest);
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->size(), 2u);
  EXPECT_TRUE(store->list()->empty());
}

TEST_F(BlobStoreTest, LocksExcludeEachOther) {
  auto store = BlobStore::open(dir_ + "/cache");
  ASSERT_TRUE(store);
  auto held = FileLock::acquire(store->cache_lock_path(), FileLock::Mode::exclusive);
  ASSERT_TRUE(held && held->held());
  auto second = FileLock::acquire(store->cache_lock_path(), FileLock::Mode::shared, false);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->held());
}

TEST(DiskSize, HeuristicHasFloorAndSlack) {
  EXPECT_EQ(disk_size_for({0, 0}), 64u << 20);
  TreeSize big{1000u << 20, 10000};
  std::uint64_t size = disk_size_for(big);
  EXPECT_GE(size, (1350u << 20) + (16u << 20));
  EXPECT_EQ(size % (1 << 20), 0u);
}

}  // namespace
}  // namespace voidbox::oci
