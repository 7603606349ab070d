// voidbox.mount<N>= words: which shares the agent mounts, and what it refuses.
#include "shares.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace voidbox::agent {
namespace {

TEST(SharesTest, ParsesEveryMountWordInIndexOrder) {
  auto list = shares_from_cmdline(
      "console=ttyS0 voidbox.mount1=voidbox1,/mnt/out,rw voidbox.mount0=voidbox0,/mnt/repo,ro");
  ASSERT_TRUE(list.errors.empty());
  ASSERT_EQ(list.shares.size(), 2u);
  EXPECT_EQ(list.shares[0].tag, "voidbox0");
  EXPECT_EQ(list.shares[0].path, "/mnt/repo");
  EXPECT_TRUE(list.shares[0].readonly);
  EXPECT_EQ(list.shares[1].path, "/mnt/out");
  EXPECT_FALSE(list.shares[1].readonly);
}

TEST(SharesTest, AFourthFieldAsksForVirtiofs) {
  auto list = shares_from_cmdline(
      "voidbox.mount0=voidbox0,/mnt/a,ro,virtiofs voidbox.mount1=voidbox1,/mnt/b,rw "
      "voidbox.mount2=voidbox2,/mnt/c,rw,nfs");
  ASSERT_EQ(list.shares.size(), 2u);
  EXPECT_TRUE(list.shares[0].virtiofs);
  EXPECT_TRUE(list.shares[0].readonly);
  EXPECT_EQ(list.shares[0].path, "/mnt/a");
  EXPECT_FALSE(list.shares[1].virtiofs);
  ASSERT_EQ(list.errors.size(), 1u);
  EXPECT_NE(list.errors[0].find("mount2"), std::string::npos);
}

TEST(SharesTest, MalformedWordsAreReportedNotMounted) {
  auto list = shares_from_cmdline(
      "voidbox.mount0=voidbox0,relative,ro voidbox.mount1=voidbox1,/a/../etc,rw "
      "voidbox.mount2=voidbox2,/ok,maybe voidbox.mount3=bad tag voidbox.mount4=voidbox4,/,ro");
  EXPECT_TRUE(list.shares.empty());
  EXPECT_EQ(list.errors.size(), 5u);
}

TEST(SharesTest, NoWordsNoShares) {
  auto list = shares_from_cmdline("voidbox.secret=00 quiet");
  EXPECT_TRUE(list.shares.empty());
  EXPECT_TRUE(list.errors.empty());
}

TEST(SharesTest, DiskWordsAreTheirOwnList) {
  const char* cmdline = "voidbox.mount0=voidbox0,/mnt/a,ro voidbox.disk0=vb-agent,/opt/agent,ro";
  auto shares = shares_from_cmdline(cmdline);
  auto disks = disks_from_cmdline(cmdline);
  ASSERT_EQ(shares.shares.size(), 1u);
  ASSERT_EQ(disks.shares.size(), 1u);
  EXPECT_EQ(disks.shares[0].tag, "vb-agent");
  EXPECT_EQ(disks.shares[0].path, "/opt/agent");
  EXPECT_TRUE(disks.shares[0].readonly);
  EXPECT_EQ(disks_from_cmdline("voidbox.disk0=x,/../etc,rw").errors.size(), 1u);
}

TEST(SharesTest, DiskIsFoundBySerialNotByName) {
  namespace fs = std::filesystem;
  const fs::path sys = fs::temp_directory_path() / ("vb-sysblock-" + std::to_string(::getpid()));
  fs::remove_all(sys);
  for (const auto& [dev, serial] :
       {std::pair{"vda", "rootdisk\n"}, std::pair{"vdb", "vb-agent\n"}, std::pair{"sda", "vb-x"}}) {
    fs::create_directories(sys / dev);
    std::ofstream(sys / dev / "serial") << serial;
  }
  EXPECT_EQ(block_device_with_serial(sys.string(), "vb-agent"), "vdb");
  EXPECT_EQ(block_device_with_serial(sys.string(), "rootdisk"), "vda");
  // Only virtio disks are candidates, and a prefix is not a match.
  EXPECT_EQ(block_device_with_serial(sys.string(), "vb-x"), "");
  EXPECT_EQ(block_device_with_serial(sys.string(), "vb-agen"), "");
  EXPECT_EQ(block_device_with_serial((sys / "missing").string(), "vb-agent"), "");
  fs::remove_all(sys);
}

TEST(SharesTest, MissingDiskIsAnErrorNotAHang) {
  const auto errors = mount_disks({Share{"no-such-serial", "/tmp/vb-never-mounted", true}},
                                  "/nonexistent-sys-block");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("no virtio-blk disk with this serial"), std::string::npos);
}

}  // namespace
}  // namespace voidbox::agent
