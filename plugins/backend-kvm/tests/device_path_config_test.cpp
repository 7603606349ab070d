// The VM config's device_path key: which notify/interrupt path the VMM uses.
#include <gtest/gtest.h>

#include "vmm/vm_config.hpp"

namespace voidbox::kvm {
namespace {

constexpr const char* kBase = R"("kernel":"/k","state_dir":"/s")";

Result<VmConfig> parse_with(const std::string& extra) {
  return parse_vm_config("{" + std::string(kBase) + extra + "}");
}

TEST(DevicePathConfig, DefaultsToAuto) {
  auto c = parse_with("");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->device_path, DevicePath::kAuto);
}

TEST(DevicePathConfig, ParsesEachPath) {
  EXPECT_EQ(parse_with(R"(,"device_path":"sync")")->device_path, DevicePath::kSync);
  EXPECT_EQ(parse_with(R"(,"device_path":"event")")->device_path, DevicePath::kEvent);
  EXPECT_EQ(parse_with(R"(,"device_path":"auto")")->device_path, DevicePath::kAuto);
  EXPECT_EQ(parse_with(R"(,"device_path":"ioeventfd")")->device_path, DevicePath::kIoeventfd);
}

TEST(DevicePathConfig, RejectsUnknownPathsNamingTheKey) {
  for (const char* bad : {R"(,"device_path":"fast")", R"(,"device_path":1)"}) {
    auto c = parse_with(bad);
    ASSERT_FALSE(c) << bad;
    EXPECT_NE(c.error().message.find("device_path"), std::string::npos) << c.error().message;
  }
}

}  // namespace
}  // namespace voidbox::kvm
