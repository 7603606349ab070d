// Which kernel and initramfs a VM boots when the spec names neither: the
// lookup in the user cache that scripts/fetch-kernel.sh and
// scripts/build-guest-image.sh fill.
#include "runtime/guest_artifacts.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using voidbox::runtime::resolve_guest_artifacts;

namespace {

class GuestArtifactsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("voidbox-artifacts-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    ::setenv("XDG_CACHE_HOME", root_.c_str(), 1);
    ::unsetenv("VOID_BOX_KERNEL");
    ::unsetenv("VOID_BOX_INITRAMFS");
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path touch(const fs::path& rel) {
    const fs::path p = root_ / "voidbox" / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "x";
    return p;
  }

  fs::path root_;
};

TEST_F(GuestArtifactsTest, PrefersTheUncompressedVmlinuxBesideVmlinuz) {
  touch("kernels/6.1.0-test/vmlinuz");
  const fs::path vmlinux = touch("kernels/6.1.0-test/vmlinux");
  const fs::path image = touch("images/6.1.0-test/voidbox-initramfs.cpio.gz");
  auto got = resolve_guest_artifacts({});
  ASSERT_TRUE(got.has_value()) << got.error();
  EXPECT_EQ(got->kernel, vmlinux.string());
  EXPECT_EQ(got->kernel_origin, "cache");
  EXPECT_EQ(got->initramfs, image.string());
}

TEST_F(GuestArtifactsTest, FallsBackToVmlinuzWithoutVmlinux) {
  const fs::path vmlinuz = touch("kernels/6.1.0-test/vmlinuz");
  touch("images/6.1.0-test/voidbox-initramfs.cpio.gz");
  auto got = resolve_guest_artifacts({});
  ASSERT_TRUE(got.has_value()) << got.error();
  EXPECT_EQ(got->kernel, vmlinuz.string());
}

TEST_F(GuestArtifactsTest, AVmlinuxAloneIsNotAFetchedKernel) {
  // fetch-kernel.sh writes vmlinuz first; a directory without it is not one
  // of its kernels (an interrupted fetch, or something else entirely).
  touch("kernels/6.1.0-test/vmlinux");
  touch("images/other/voidbox-initramfs.cpio.gz");
  auto got = resolve_guest_artifacts({});
  ASSERT_FALSE(got.has_value());
  EXPECT_NE(got.error().find("no guest kernel"), std::string::npos) << got.error();
}

TEST_F(GuestArtifactsTest, SkipsAKernelFetchStillInProgress) {
  // fetch-kernel.sh extracts into a dot-directory and renames it when done.
  const fs::path done = touch("kernels/6.1.0-old/vmlinuz");
  touch("kernels/.6.1.0-new.partial/vmlinuz");
  auto got = voidbox::runtime::newest_cached_kernel(root_ / "voidbox/kernels");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, done);
}

TEST_F(GuestArtifactsTest, SkipsAnImageStillBeingWritten) {
  // build-guest-image.sh writes a hidden file beside the image and renames
  // it over the image when done; the half-written one is the newest file.
  const fs::path done = touch("images/6.1.0-test/voidbox-initramfs-6.1.0-test.cpio.gz");
  const fs::path partial = touch("images/6.1.0-test/.voidbox-initramfs-6.1.0-test.cpio.gz.Ab12Cd");
  fs::last_write_time(partial, fs::last_write_time(done) + std::chrono::seconds(5));
  auto got = voidbox::runtime::newest_cached_initramfs(root_ / "voidbox/images");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, done);
}

TEST_F(GuestArtifactsTest, AnExplicitKernelWins) {
  touch("kernels/6.1.0-test/vmlinuz");
  touch("kernels/6.1.0-test/vmlinux");
  const fs::path mine = touch("mine/bzImage");
  touch("images/6.1.0-test/voidbox-initramfs.cpio.gz");
  auto got = resolve_guest_artifacts({.kernel = mine.string(), .initramfs = std::nullopt});
  ASSERT_TRUE(got.has_value()) << got.error();
  EXPECT_EQ(got->kernel, mine.string());
  EXPECT_EQ(got->kernel_origin, "spec");
}

}  // namespace
