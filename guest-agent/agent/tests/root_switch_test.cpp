// voidbox.root= words: which root disk the agent switches to, and what it refuses.
#include "root_switch.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace voidbox::agent {
namespace {

TEST(RootSwitchTest, NoWordKeepsTheInitramfsRoot) {
  const RootRequest r = root_from_cmdline("console=ttyS0 voidbox.disk0=vb-disk0,/opt/a,ro");
  EXPECT_FALSE(r.serial.has_value());
  EXPECT_TRUE(r.error.empty());
}

TEST(RootSwitchTest, ReadsTheSerial) {
  const RootRequest r = root_from_cmdline("quiet voidbox.root=vb-root voidbox.secret=00");
  ASSERT_TRUE(r.serial.has_value());
  EXPECT_EQ(*r.serial, "vb-root");
  EXPECT_TRUE(r.error.empty());
}

TEST(RootSwitchTest, RefusesSerialsThatCannotBeADiskSerial) {
  for (const char* cmdline : {"voidbox.root=", "voidbox.root=../vda", "voidbox.root=a,b",
                              "voidbox.root=/dev/vda", "voidbox.root=123456789012345678901"}) {
    const RootRequest r = root_from_cmdline(cmdline);
    EXPECT_FALSE(r.serial.has_value()) << cmdline;
    EXPECT_NE(r.error.find("voidbox.root="), std::string::npos) << cmdline;
  }
  EXPECT_TRUE(root_from_cmdline("voidbox.root=12345678901234567890").serial.has_value());
}

TEST(RootSwitchTest, AMissingDiskIsAnErrorAndLeavesTheRootAlone) {
  namespace fs = std::filesystem;
  const fs::path sys = fs::temp_directory_path() / ("vb-rootblock-" + std::to_string(::getpid()));
  fs::create_directories(sys);
  const std::string error = switch_to_disk_root("vb-root", sys.string());
  EXPECT_NE(error.find("no virtio-blk disk with this serial"), std::string::npos) << error;
  EXPECT_TRUE(fs::exists("/proc/self"));
  fs::remove_all(sys);
}

}  // namespace
}  // namespace voidbox::agent
