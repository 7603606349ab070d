#include "rootfs_writer.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tar_builder.hpp"

namespace voidbox::oci {
namespace {

namespace fs = std::filesystem;
using testing::TarBuilder;

class RootfsWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vb-unpack-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    root_ = dir_ + "/root";
  }
  void TearDown() override {
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir_, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory() && !it->is_symlink()) {
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
      }
    }
    fs::remove_all(dir_);
  }

  Result<void> apply(RootfsWriter& writer, const std::string& layer, std::uint32_t index) {
    std::string path = dir_ + "/layer" + std::to_string(index);
    std::string digest = testing::write_blob(path, layer);
    return writer.apply_layer(path, digest, index);
  }

  std::string read(const std::string& rel) {
    std::ifstream in(root_ + "/" + rel);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string dir_;
  std::string root_;
};

TEST_F(RootfsWriterTest, AppliesLayersWithWhiteoutsLinksAndCompression) {
  auto writer = RootfsWriter::open(root_);
  ASSERT_TRUE(writer);
  auto l1 = TarBuilder()
                .dir("etc")
                .file("etc/passwd", "root:x:0:0\n")
                .file("etc/hosts", "127.0.0.1 localhost\n")
                .dir("usr/bin")
                .file("usr/bin/tool", "#!/bin/sh\n", 0755)
                .symlink("bin", "usr/bin")
                .hardlink("usr/bin/tool2", "usr/bin/tool")
                .chardev("dev/null")
                .dir("opt")
                .file("opt/old", "old")
                .dir("ro", 0555)
                .build(TarBuilder::Filter::gzip);
  auto l2 = TarBuilder()
                .file("etc/.wh.hosts", "")
                .file("opt/.wh..wh..opq", "")
                .file("opt/new", "new")
                .file("ro/inside", "written into a read-only dir")
                .build(TarBuilder::Filter::zstd);
  auto l3 = TarBuilder().file("bin/extra", "via an in-root symlink").build();
  ASSERT_TRUE(apply(*writer, l1, 0));
  ASSERT_TRUE(apply(*writer, l2, 1));
  ASSERT_TRUE(apply(*writer, l3, 2));
  ASSERT_TRUE(writer->finish());

  const auto& report = writer->report();
  EXPECT_EQ(report.layers, 3u);
  EXPECT_EQ(report.skipped_devices, 1u);
  EXPECT_EQ(report.whiteouts, 2u);
  EXPECT_EQ(report.compressions, (std::vector<std::string>{"gzip", "zstd", "none"}));

  EXPECT_EQ(read("etc/passwd"), "root:x:0:0\n");
  EXPECT_FALSE(fs::exists(root_ + "/etc/hosts"));
  EXPECT_FALSE(fs::exists(root_ + "/etc/.wh.hosts"));
  EXPECT_FALSE(fs::exists(root_ + "/opt/old"));
  EXPECT_EQ(read("opt/new"), "new");
  EXPECT_FALSE(fs::exists(root_ + "/opt/.wh..wh..opq"));
  EXPECT_EQ(read("usr/bin/extra"), "via an in-root symlink");
  EXPECT_EQ(fs::read_symlink(root_ + "/bin"), "usr/bin");
  EXPECT_FALSE(fs::exists(root_ + "/dev/null"));
  struct stat a {
  }, b{};
  ASSERT_EQ(::stat((root_ + "/usr/bin/tool").c_str(), &a), 0);
  ASSERT_EQ(::stat((root_ + "/usr/bin/tool2").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mode & 07777, 0755u);
  EXPECT_EQ(a.st_mtime, 1700000000);
  struct stat ro {};
  ASSERT_EQ(::stat((root_ + "/ro").c_str(), &ro), 0);
  EXPECT_EQ(ro.st_mode & 07777, 0555u);
  EXPECT_EQ(ro.st_mtime, 1700000000);
  EXPECT_EQ(read("ro/inside"), "written into a read-only dir");
}

TEST_F(RootfsWriterTest, LaterLayerReplacesTypes) {
  auto writer = RootfsWriter::open(root_);
  ASSERT_TRUE(writer);
  ASSERT_TRUE(apply(*writer, TarBuilder().dir("x").file("x/y", "1").file("f", "file").build(), 0));
  ASSERT_TRUE(apply(*writer, TarBuilder().file("x", "now a file").symlink("f", "x").build(), 1));
  ASSERT_TRUE(writer->finish());
  EXPECT_EQ(read("x"), "now a file");
  EXPECT_EQ(fs::read_symlink(root_ + "/f"), "x");
}

struct Malicious {
  const char* name;
  std::string layer;
  const char* entry;
  const char* reason;
};

TEST_F(RootfsWriterTest, RefusesEveryEscape) {
  // Absolute targets point at a scratch directory, never at the real /etc:
  // a regression must not damage the machine running the test.
  const std::string outside = dir_ + "/outside";
  fs::create_directories(outside);
  std::ofstream(outside + "/passwd") << "original";
  std::vector<Malicious> cases = {
      {"dotdot", TarBuilder().file("../escape", "x").build(), "../escape", "'..'"},
      {"abs-symlink", TarBuilder().symlink("a", outside).file("a/passwd", "pwned").build(),
       "a/passwd", "outside the image root"},
      {"up-symlink", TarBuilder().symlink("a", "../../..").file("a/x", "pwned").build(), "a/x",
       "outside the image root"},
      {"nested-symlink",
       TarBuilder().dir("d").symlink("d/l", "../../outside").file("d/l/new", "pwned").build(),
       "d/l/new", "outside the image root"},
      {"hardlink-through-symlink",
       TarBuilder().symlink("a", outside).hardlink("stolen", "a/passwd").build(), "stolen",
       "outside the image root"},
      {"hardlink-dotdot", TarBuilder().hardlink("stolen", "../../etc/passwd").build(), "stolen",
       "'..'"},
  };
  for (const auto& c : cases) {
    fs::remove_all(root_);
    auto writer = RootfsWriter::open(root_);
    ASSERT_TRUE(writer);
    auto result = apply(*writer, c.layer, 1);
    ASSERT_FALSE(result) << c.name;
    const std::string& msg = result.error().message;
    EXPECT_NE(msg.find("layer 2 (sha256:"), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::string("entry '") + c.entry + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.reason), std::string::npos) << msg;
    EXPECT_EQ(std::distance(fs::directory_iterator(outside), fs::directory_iterator()), 1)
        << c.name;
    std::ifstream in(outside + "/passwd");
    std::stringstream content;
    content << in.rdbuf();
    EXPECT_EQ(content.str(), "original") << c.name;
    EXPECT_FALSE(fs::exists(dir_ + "/escape")) << c.name;
  }
}

TEST_F(RootfsWriterTest, DetectsCorruptBlob) {
  auto writer = RootfsWriter::open(root_);
  ASSERT_TRUE(writer);
  std::string layer = TarBuilder().file("a", "content").build(TarBuilder::Filter::gzip);
  std::string path = dir_ + "/layer";
  testing::write_blob(path, layer);
  auto result = writer->apply_layer(path, "sha256:" + std::string(64, '0'), 0);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("corrupt"), std::string::npos) << result.error().message;
}

TEST(Compression, DetectedFromMagicBytes) {
  const unsigned char gz[] = {0x1f, 0x8b, 0x08};
  const unsigned char zst[] = {0x28, 0xb5, 0x2f, 0xfd};
  const unsigned char tar[] = {'e', 't', 'c', '/'};
  EXPECT_EQ(detect_compression(gz, sizeof gz), Compression::gzip);
  EXPECT_EQ(detect_compression(zst, sizeof zst), Compression::zstd);
  EXPECT_EQ(detect_compression(tar, sizeof tar), Compression::none);
  EXPECT_EQ(detect_compression(gz, 1), Compression::none);
}

}  // namespace
}  // namespace voidbox::oci
