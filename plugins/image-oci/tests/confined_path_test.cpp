#include "confined_path.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace voidbox::oci {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "vb-confine-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(NormalizeEntryPath, StripsRootAndDots) {
  auto p = normalize_entry_path("/./usr//bin/./sh");
  ASSERT_TRUE(p);
  EXPECT_EQ(join_components(*p, p->size()), "usr/bin/sh");
  auto root = normalize_entry_path("./");
  ASSERT_TRUE(root);
  EXPECT_TRUE(root->empty());
}

TEST(NormalizeEntryPath, RefusesDotDot) {
  for (const char* bad : {"../escape", "a/../../b", "a/..", "/.."}) {
    EXPECT_FALSE(normalize_entry_path(bad)) << bad;
  }
  EXPECT_TRUE(normalize_entry_path("a/..b/c.."));  // names that merely contain dots
}

TEST(Whiteout, Classifies) {
  std::string target;
  EXPECT_EQ(classify_whiteout(".wh..wh..opq", &target), WhiteoutKind::opaque);
  EXPECT_EQ(classify_whiteout(".wh.passwd", &target), WhiteoutKind::file);
  EXPECT_EQ(target, "passwd");
  EXPECT_EQ(classify_whiteout("passwd", &target), WhiteoutKind::none);
  EXPECT_EQ(classify_whiteout(".wh.", &target), WhiteoutKind::none);
  EXPECT_EQ(classify_whiteout(".wh...", &target), WhiteoutKind::none);
}

TEST(ConfinedRoot, CreatesMissingParents) {
  TempDir tmp;
  auto root = ConfinedRoot::open(tmp.path() + "/root");
  ASSERT_TRUE(root);
  std::vector<std::string> parts = {"a", "b", "c"};
  auto dir = root->open_dir(parts, 3, true);
  ASSERT_TRUE(dir) << dir.error().message;
  EXPECT_TRUE(fs::is_directory(tmp.path() + "/root/a/b/c"));
}

TEST(ConfinedRoot, RefusesSymlinksLeavingTheRoot) {
  TempDir tmp;
  fs::create_directories(tmp.path() + "/root");
  fs::create_directories(tmp.path() + "/outside");
  fs::create_directory_symlink(tmp.path() + "/outside", tmp.path() + "/root/abs");
  fs::create_directory_symlink("../../..", tmp.path() + "/root/up");
  fs::create_directory_symlink("../outside", tmp.path() + "/root/sibling");
  auto root = ConfinedRoot::open(tmp.path() + "/root");
  ASSERT_TRUE(root);
  for (const char* name : {"abs", "up", "sibling"}) {
    std::vector<std::string> parts = {name, "x"};
    auto dir = root->open_dir(parts, 2, true);
    ASSERT_FALSE(dir) << name;
    EXPECT_NE(dir.error().message.find("outside the image root"), std::string::npos)
        << dir.error().message;
  }
  EXPECT_TRUE(fs::is_empty(tmp.path() + "/outside"));
}

TEST(ConfinedRoot, FollowsSymlinksThatStayInside) {
  TempDir tmp;
  fs::create_directories(tmp.path() + "/root/usr/bin");
  fs::create_directory_symlink("usr/bin", tmp.path() + "/root/bin");
  auto root = ConfinedRoot::open(tmp.path() + "/root");
  ASSERT_TRUE(root);
  std::vector<std::string> parts = {"bin"};
  auto dir = root->open_dir(parts, 1, false);
  ASSERT_TRUE(dir) << dir.error().message;
  struct stat a {
  }, b{};
  ::fstat(dir->get(), &a);
  ::stat((tmp.path() + "/root/usr/bin").c_str(), &b);
  EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST(RemoveTree, RemovesWithoutFollowingSymlinks) {
  TempDir tmp;
  fs::create_directories(tmp.path() + "/root/d/e");
  fs::create_directories(tmp.path() + "/keep");
  std::ofstream(tmp.path() + "/keep/precious") << "x";
  fs::create_directory_symlink(tmp.path() + "/keep", tmp.path() + "/root/d/link");
  auto root = ConfinedRoot::open(tmp.path() + "/root");
  ASSERT_TRUE(root);
  ASSERT_TRUE(remove_tree(root->fd(), "d"));
  EXPECT_FALSE(fs::exists(tmp.path() + "/root/d"));
  EXPECT_TRUE(fs::exists(tmp.path() + "/keep/precious"));
  EXPECT_TRUE(remove_tree(root->fd(), "missing"));
}

}  // namespace
}  // namespace voidbox::oci
