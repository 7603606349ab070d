// sandbox.mounts -> virtio-9p devices and guest arguments.
#include "runtime/mount_mapping.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace voidbox::runtime {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/mount-mapping-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

TEST(MountMappingTest, EveryMountGetsItsOwnDeviceAndGuestArgument) {
  TempDir t;
  fs::create_directories(t.path / "repo");
  auto plan = plan_mounts({{(t.path / "repo").string(), "/mnt/repo", true},
                           {(t.path / "out").string(), "/mnt/out", false}});
  ASSERT_TRUE(plan) << plan.error();
  ASSERT_EQ(plan->devices.size(), 2u);
  const auto& d1 = plan->devices[1].as_object();
  EXPECT_EQ(d1.at("type").as_string(), "virtio-9p");
  const auto& c1 = d1.at("config").as_object();
  EXPECT_EQ(c1.at("tag").as_string(), "voidbox1");
  EXPECT_EQ(c1.at("path").as_string(), (t.path / "out").string());
  EXPECT_FALSE(c1.at("readonly").as_bool());
  EXPECT_EQ(c1.at("owner_uid").to_number<std::int64_t>(), 1000);
  EXPECT_TRUE(plan->devices[0].as_object().at("config").as_object().at("readonly").as_bool());
  ASSERT_EQ(plan->guest_args.size(), 2u);
  EXPECT_EQ(plan->guest_args[0], "voidbox.mount0=voidbox0,/mnt/repo,ro");
  EXPECT_EQ(plan->guest_args[1], "voidbox.mount1=voidbox1,/mnt/out,rw");
  EXPECT_TRUE(fs::is_directory(t.path / "out")) << "a missing rw directory is created";
}

TEST(MountMappingTest, AVirtiofsMountIsAVirtiofsDeviceAndSaysSoToTheGuest) {
  TempDir t;
  spec::Mount m{(t.path / "out").string(), "/mnt/out", false};
  m.type = spec::MountType::virtiofs;
  auto plan = plan_mounts({{(t.path / "out").string(), "/mnt/nine", false}, m});
  ASSERT_TRUE(plan) << plan.error();
  ASSERT_EQ(plan->devices.size(), 2u);
  EXPECT_EQ(plan->devices[0].as_object().at("type").as_string(), "virtio-9p");
  const auto& d = plan->devices[1].as_object();
  EXPECT_EQ(d.at("type").as_string(), "virtiofs");
  const auto& c = d.at("config").as_object();
  EXPECT_EQ(c.at("tag").as_string(), "voidbox1");
  EXPECT_FALSE(c.at("readonly").as_bool());
  EXPECT_EQ(c.at("owner_gid").to_number<std::int64_t>(), 1000);
  EXPECT_EQ(plan->guest_args[0], "voidbox.mount0=voidbox0,/mnt/nine,rw");
  EXPECT_EQ(plan->guest_args[1], "voidbox.mount1=voidbox1,/mnt/out,rw,virtiofs");
}

TEST(MountMappingTest, MissingReadOnlySourceIsAnError) {
  TempDir t;
  auto plan = plan_mounts({{(t.path / "nope").string(), "/mnt/x", true}});
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().find("does not exist"), std::string::npos) << plan.error();
  EXPECT_NE(plan.error().find("sandbox.mounts[0]"), std::string::npos);
  EXPECT_FALSE(fs::exists(t.path / "nope"));
}

TEST(MountMappingTest, GuestPathsTheArgumentCannotCarryAreRefused) {
  TempDir t;
  for (const char* bad : {"relative", "/", "/a b", "/a,b", "/a/../etc"}) {
    auto plan = plan_mounts({{t.path.string(), bad, true}});
    EXPECT_FALSE(plan) << bad;
  }
  auto file = t.path / "file";
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    std::fclose(f);
  }
  EXPECT_FALSE(plan_mounts({{file.string(), "/mnt/f", true}}));
}

TEST(MountMappingTest, RelativeHostPathsAreMadeAbsolute) {
  TempDir t;
  const auto cwd = fs::current_path();
  fs::current_path(t.path);
  auto plan = plan_mounts({{"rel/out", "/mnt/out", false}});
  fs::current_path(cwd);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(plan->devices[0].as_object().at("config").as_object().at("path").as_string(),
            (t.path / "rel/out").string());
}

TEST(MountMappingTest, ADiskIsAVirtioBlkDeviceFoundInTheGuestBySerial) {
  TempDir t;
  fs::create_directories(t.path / "repo");
  std::ofstream(t.path / "agent.ext4") << "image";
  auto plan = plan_mounts({{(t.path / "repo").string(), "/mnt/repo", true}},
                          {{t.path / "agent.ext4", "/opt/voidbox/agent", true}});
  ASSERT_TRUE(plan) << plan.error();
  ASSERT_EQ(plan->devices.size(), 2u);
  const auto& d = plan->devices[1].as_object();
  EXPECT_EQ(d.at("type").as_string(), "virtio-blk");
  const auto& c = d.at("config").as_object();
  EXPECT_EQ(c.at("path").as_string(), (t.path / "agent.ext4").string());
  EXPECT_TRUE(c.at("read_only").as_bool());
  EXPECT_EQ(c.at("id").as_string(), "vb-disk0");
  EXPECT_EQ(plan->guest_args.back(), "voidbox.disk0=vb-disk0,/opt/voidbox/agent,ro");
}

TEST(MountMappingTest, AMissingDiskImageOrTooManyDevicesIsRefused) {
  TempDir t;
  auto missing = plan_mounts({}, {{t.path / "nope.ext4", "/opt/agent", true}});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("no such disk image"), std::string::npos) << missing.error();
  std::ofstream(t.path / "d.ext4") << "image";
  std::vector<DiskAttachment> disks(kMaxMounts + 1, {t.path / "d.ext4", "/opt/agent", true});
  auto many = plan_mounts({}, disks);
  ASSERT_FALSE(many);
  EXPECT_NE(many.error().find("mounts and disks together"), std::string::npos) << many.error();
}

}  // namespace
}  // namespace voidbox::runtime
