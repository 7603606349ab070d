// sandbox.image and OCI skills on the host: what an image's config gives
// commands, how the root disk reaches the VM, and what is refused.
#include "runtime/image_disks.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>

namespace voidbox::runtime {
namespace {

namespace json = boost::json;

TEST(ImageDisksTest, TheConfigsEnvAndWorkingDirBecomeDefaults) {
  auto config = json::parse(R"({"architecture":"amd64","config":{
      "Env":["PATH=/usr/local/bin:/usr/bin","LANG=C.UTF-8","EMPTY=","=nokey","novalue",7],
      "WorkingDir":"/srv/app"}})");
  const ImageDefaults d = image_defaults(config);
  EXPECT_EQ(d.env, (std::map<std::string, std::string>{
                       {"PATH", "/usr/local/bin:/usr/bin"}, {"LANG", "C.UTF-8"}, {"EMPTY", ""}}));
  EXPECT_EQ(d.working_dir, "/srv/app");
}

TEST(ImageDisksTest, AConfigWithoutThemOrOfTheWrongShapeGivesNothing) {
  for (const char* text : {R"({})", R"({"config":null})", R"({"config":{"Env":"A=1"}})",
                           R"({"config":{"WorkingDir":"relative"}})", R"([1,2])"}) {
    const ImageDefaults d = image_defaults(json::parse(text));
    EXPECT_TRUE(d.env.empty()) << text;
    EXPECT_TRUE(d.working_dir.empty()) << text;
  }
}

TEST(ImageDisksTest, TheSpecsEnvWinsOverTheImages) {
  ImageDefaults image;
  image.env = {{"PATH", "/image/bin"}, {"LANG", "C.UTF-8"}};
  const auto env = env_over_image({{"PATH", "/spec/bin"}, {"X", "1"}}, image);
  EXPECT_EQ(env, (std::map<std::string, std::string>{
                     {"PATH", "/spec/bin"}, {"LANG", "C.UTF-8"}, {"X", "1"}}));
}

class RootDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    disk_ = std::filesystem::temp_directory_path() /
            ("vb-root-disk-" + std::to_string(::getpid()) + ".ext4");
    std::ofstream(disk_) << "not really ext4";
  }
  void TearDown() override { std::filesystem::remove(disk_); }
  std::filesystem::path disk_;
};

TEST_F(RootDiskTest, IsAReadOnlyVirtioBlkDeviceNamedOnTheCommandLine) {
  MountPlan plan;
  ASSERT_TRUE(add_root_disk(plan, disk_, 2));
  ASSERT_EQ(plan.devices.size(), 1u);
  const auto& device = plan.devices[0].as_object();
  EXPECT_EQ(device.at("type").as_string(), "virtio-blk");
  const auto& config = device.at("config").as_object();
  EXPECT_EQ(config.at("path").as_string(), disk_.string());
  EXPECT_EQ(config.at("read_only").as_bool(), true);
  EXPECT_EQ(config.at("id").as_string(), kRootDiskSerial);
  EXPECT_EQ(plan.guest_args, std::vector<std::string>{"voidbox.root=vb-root"});
}

TEST_F(RootDiskTest, NeedsAFreeDeviceSlotAndAnExistingFile) {
  MountPlan full;
  auto refused = add_root_disk(full, disk_, kMaxMounts);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("device slot"), std::string::npos) << refused.error();
  EXPECT_TRUE(full.devices.empty());
  MountPlan missing;
  auto absent = add_root_disk(missing, disk_.string() + ".absent", 0);
  ASSERT_FALSE(absent);
  EXPECT_NE(absent.error().find("no disk image"), std::string::npos) << absent.error();
}

TEST(ImageDisksTest, OnlyImagesNeedTheImageSource) {
  SandboxConfig plain;
  plain.disks.push_back({"/var/agent.ext4", "/opt/agent", true});
  EXPECT_FALSE(uses_images(plain));
  plugin::Registry empty;  // no image source loaded
  auto resolved = resolve_images(plain, empty);
  ASSERT_TRUE(resolved) << resolved.error();
  ASSERT_EQ(resolved->disks.size(), 1u);
  EXPECT_EQ(resolved->disks[0].image, "/var/agent.ext4");
  EXPECT_FALSE(resolved->root);

  SandboxConfig with_root = plain;
  with_root.image = "localhost:5000/debian:12";
  EXPECT_TRUE(uses_images(with_root));
  auto no_source = resolve_images(with_root, empty);
  ASSERT_FALSE(no_source);
  EXPECT_NE(no_source.error().find("image source"), std::string::npos) << no_source.error();

  SandboxConfig with_skill = plain;
  with_skill.disks.push_back(DiskAttachment::from_oci_image("localhost:5000/tool:1", "/opt/tool"));
  EXPECT_TRUE(uses_images(with_skill));
  EXPECT_TRUE(with_skill.disks.back().readonly);
  EXPECT_EQ(with_skill.disks.back().guest, "/opt/tool");
  EXPECT_FALSE(resolve_images(with_skill, empty));
}

}  // namespace
}  // namespace voidbox::runtime
