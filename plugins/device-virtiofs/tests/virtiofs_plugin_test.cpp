// Loads the real libdevice-virtiofs.so, creates a device through its C
// vtable (via the host-side PluginDevice adapter) and serves an INIT.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "fuse_share_fixture.hpp"
#include "voidbox/abi/device.h"
#include "voidbox/plugin_abi.h"
#include "voidbox/virtio/mmio_transport.hpp"
#include "voidbox/virtio/plugin_device.hpp"
#include "voidbox/virtio/testing/fake_driver.hpp"
#include "voidbox/virtio/testing/mmio_driver.hpp"

namespace voidbox::virtiofs::testing {
namespace {

const vb_device_vtable* fs_vtable() {
  static const vb_device_vtable* vtable = [] {
    void* lib = ::dlopen(VOIDBOX_VIRTIOFS_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) return static_cast<const vb_device_vtable*>(nullptr);
    auto entry = reinterpret_cast<vb_plugin_entry_fn>(::dlsym(lib, VOIDBOX_PLUGIN_ENTRY_SYMBOL));
    if (entry == nullptr) return static_cast<const vb_device_vtable*>(nullptr);
    const vb_plugin_descriptor* d = entry();
    static const vb_device_vtable* found = nullptr;
    vb_registrar r{};
    r.struct_size = sizeof(r);
    r.host_abi_major = VOIDBOX_ABI_MAJOR;
    r.host_abi_minor = VOIDBOX_ABI_MINOR;
    r.register_factory = [](void*, vb_kind kind, const char* name, const void* vt) {
      if (kind == VB_KIND_DEVICE && std::strcmp(name, "virtiofs") == 0) {
        found = static_cast<const vb_device_vtable*>(vt);
      }
      return VB_OK;
    };
    r.log = [](void*, vb_log_level, const char*) {};
    char msg[256] = {};
    vb_error err{sizeof(err), msg, sizeof(msg)};
    if (d->abi_major != VOIDBOX_ABI_MAJOR || std::strcmp(d->name, "device-virtiofs") != 0 ||
        d->init(&r, &err) != VB_OK) {
      return found = nullptr;
    }
    return found;
  }();
  return vtable;
}

TEST_F(FuseShareFixture, PluginCreatesAWorkingDevice) {
  ASSERT_NE(fs_vtable(), nullptr) << "cannot load " << VOIDBOX_VIRTIOFS_PLUGIN_PATH;
  const std::string json =
      "{\"tag\":\"voidbox3\",\"path\":\"" + share.string() + "\",\"readonly\":true}";
  auto dev = virtio::PluginDevice::create(fs_vtable(), json);
  ASSERT_TRUE(dev) << dev.error();
  virtio::testing::FakeGuestRam ram{1 << 20};
  virtio::testing::FakeQueue hiprio{ram, 16}, q{ram, 16};
  virtio::MmioTransport transport(std::move(*dev), ram.memory(), {[] {}, {}});
  virtio::testing::MmioDriver driver(transport);
  EXPECT_EQ(driver.read32(virtio::kMmioDeviceId), 26u);
  EXPECT_EQ(driver.read_config<std::uint8_t>(7), '3');
  virtio::testing::FakeQueue* queues[] = {&hiprio, &q};
  ASSERT_TRUE(driver.initialise(virtio::kFeatureVersion1, queues));
  fuse_init_in in{};
  in.major = 7;
  in.minor = 31;
  auto msg = fuse_request(FUSE_INIT, 0, &in, sizeof in);
  const std::uint64_t at = ram.alloc(msg.size()), out = ram.alloc(256);
  ram.write(at, msg);
  q.add_chain({{at, static_cast<std::uint32_t>(msg.size()), false}, {out, 256, true}});
  driver.notify(1);
  std::optional<virtio::testing::UsedElem> used;
  // Served on a worker thread: wait for it (10 s hang guard).
  for (int i = 0; i < 10000 && !(used = q.pop_used()); ++i) ::usleep(1000);
  ASSERT_TRUE(used);
  Reply r{ram.read(out, used->len)};
  EXPECT_EQ(r.error(), 0);
  EXPECT_EQ(r.as<fuse_init_out>().minor, 31u);
}

TEST(VirtiofsPluginTest, BadConfigIsReportedThroughTheVtable) {
  ASSERT_NE(fs_vtable(), nullptr);
  auto missing =
      virtio::PluginDevice::create(fs_vtable(), "{\"tag\":\"t\",\"path\":\"/nonexistent/dir\"}");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("/nonexistent/dir"), std::string::npos);
}

}  // namespace
}  // namespace voidbox::virtiofs::testing
