#include "file_roots.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "file_ops.hpp"

namespace va = voidbox::agent;
namespace fs = std::filesystem;
using voidbox::protocol::ErrorCode;

namespace {

class FileRootsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("vb-roots-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    fs::create_directories(base_ / "secret");
    std::ofstream(base_ / "secret" / "key") << "top secret";
    ASSERT_TRUE(roots_.init(base_.string(), {"/workspace", "/tmp"}, true));
    fs::create_symlink(base_ / "secret", base_ / "workspace" / "link");
    fs::create_symlink("../secret/key", base_ / "workspace" / "rel");
  }
  void TearDown() override { fs::remove_all(base_); }

  fs::path base_;
  va::FileRoots roots_;
};

TEST(SplitGuestPath, NormalizesAndRejects) {
  auto p = va::split_guest_path("//workspace/./a//b/");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (std::vector<std::string>{"workspace", "a", "b"}));
  EXPECT_EQ(va::split_guest_path("relative").error().code, ErrorCode::BadRequest);
  EXPECT_EQ(va::split_guest_path("/workspace/../etc").error().code, ErrorCode::OutsideRoot);
  EXPECT_EQ(va::split_guest_path(std::string_view("/a\0b", 4)).error().code, ErrorCode::BadRequest);
}

TEST_F(FileRootsTest, WriteReadStatInsideRoot) {
  va::FileOps ops(roots_, {});
  voidbox::protocol::FileWrite w;
  w.path = "/workspace/dir/sub/file.txt";
  auto fd = ops.open_for_write(w);
  ASSERT_TRUE(fd) << fd.error().message;
  ASSERT_EQ(::write(fd->get(), "hello", 5), 5);
  auto st = ops.stat("/workspace/dir/sub/file.txt");
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->exists);
  EXPECT_EQ(st->kind, "file");
  EXPECT_EQ(st->size, 5u);
  EXPECT_EQ(st->mode, 0644u);
  auto missing = ops.stat("/workspace/nope");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->exists);
  EXPECT_TRUE(ops.open_for_read("/workspace/dir/sub/file.txt"));
}

TEST_F(FileRootsTest, OutsideRootsAreRefused) {
  va::FileOps ops(roots_, {});
  auto r = ops.open_for_read("/secret/key");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::OutsideRoot);
  EXPECT_NE(r.error().message.find("outside the allowed roots"), std::string::npos);
  auto dots = ops.open_for_read("/workspace/../secret/key");
  ASSERT_FALSE(dots);
  EXPECT_EQ(dots.error().code, ErrorCode::OutsideRoot);
}

TEST_F(FileRootsTest, SymlinkEscapesFail) {
  va::FileOps ops(roots_, {});
  auto via_dir = ops.open_for_read("/workspace/link/key");
  ASSERT_FALSE(via_dir);
  EXPECT_EQ(via_dir.error().code, ErrorCode::OutsideRoot);
  EXPECT_NE(via_dir.error().message.find("symlink"), std::string::npos) << via_dir.error().message;
  auto leaf = ops.open_for_read("/workspace/rel");
  ASSERT_FALSE(leaf);
  EXPECT_EQ(leaf.error().code, ErrorCode::OutsideRoot);
  voidbox::protocol::FileWrite w;
  w.path = "/workspace/link/key";
  EXPECT_FALSE(ops.open_for_write(w));
  voidbox::protocol::Mkdir m;
  m.path = "/workspace/link/newdir";
  EXPECT_FALSE(ops.mkdir(m));
  EXPECT_FALSE(fs::exists(base_ / "secret" / "newdir"));
  std::ifstream in(base_ / "secret" / "key");
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "top secret");
}

TEST_F(FileRootsTest, MkdirParents) {
  va::FileOps ops(roots_, {});
  voidbox::protocol::Mkdir m;
  m.path = "/tmp/a/b/c";
  ASSERT_TRUE(ops.mkdir(m));
  EXPECT_TRUE(fs::is_directory(base_ / "tmp" / "a" / "b" / "c"));
  m.parents = false;
  m.path = "/tmp/x/y";
  auto r = ops.mkdir(m);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::NotFound);
}

}  // namespace
