// Loads the real libdevice-virtio-9p.so, creates a device through its C
// vtable (via the host-side PluginDevice adapter) and serves a request.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "p9_share_fixture.hpp"
#include "voidbox/abi/device.h"
#include "voidbox/plugin_abi.h"
#include "voidbox/virtio/mmio_transport.hpp"
#include "voidbox/virtio/plugin_device.hpp"
#include "voidbox/virtio/testing/fake_driver.hpp"
#include "voidbox/virtio/testing/mmio_driver.hpp"

namespace voidbox::p9::testing {
namespace {

const vb_device_vtable* p9_vtable() {
  static const vb_device_vtable* vtable = [] {
    void* lib = ::dlopen(VOIDBOX_9P_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
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
      if (kind == VB_KIND_DEVICE && std::strcmp(name, "virtio-9p") == 0) {
        found = static_cast<const vb_device_vtable*>(vt);
      }
      return VB_OK;
    };
    r.log = [](void*, vb_log_level, const char*) {};
    char msg[256] = {};
    vb_error err{sizeof(err), msg, sizeof(msg)};
    if (d->abi_major != VOIDBOX_ABI_MAJOR || std::strcmp(d->name, "device-virtio-9p") != 0 ||
        d->init(&r, &err) != VB_OK) {
      return found = nullptr;
    }
    return found;
  }();
  return vtable;
}

TEST_F(ShareFixture, PluginCreatesAWorkingDevice) {
  ASSERT_NE(p9_vtable(), nullptr) << "cannot load " << VOIDBOX_9P_PLUGIN_PATH;
  const std::string json =
      "{\"tag\":\"voidbox3\",\"path\":\"" + share.string() + "\",\"readonly\":true}";
  auto dev = virtio::PluginDevice::create(p9_vtable(), json);
  ASSERT_TRUE(dev) << dev.error();
  virtio::testing::FakeGuestRam ram{1 << 20};
  virtio::testing::FakeQueue q{ram, 16};
  virtio::MmioTransport transport(std::move(*dev), ram.memory(), {[] {}, {}});
  virtio::testing::MmioDriver driver(transport);
  EXPECT_EQ(driver.read32(virtio::kMmioDeviceId), 9u);
  EXPECT_EQ(driver.read_config<std::uint16_t>(0), 8u);
  virtio::testing::FakeQueue* queues[] = {&q};
  ASSERT_TRUE(driver.initialise(~0ull, queues));
  auto msg = Msg(100, 0xffff).u32(8192).str("9P2000.L").done();
  const std::uint64_t in = ram.alloc(msg.size()), out = ram.alloc(64);
  ram.write(in, msg);
  q.add_chain({{in, static_cast<std::uint32_t>(msg.size()), false}, {out, 64, true}});
  driver.notify(0);
  std::optional<virtio::testing::UsedElem> used;
  // Served on a worker thread: wait for it (10 s hang guard).
  for (int i = 0; i < 10000 && !(used = q.pop_used()); ++i) ::usleep(1000);
  ASSERT_TRUE(used);
  Reply r(ram.read(out, used->len));
  EXPECT_EQ(r.type(), 101);
  EXPECT_EQ(r.u32(), 8192u);
}

TEST(P9PluginTest, BadConfigIsReportedThroughTheVtable) {
  ASSERT_NE(p9_vtable(), nullptr);
  auto missing =
      virtio::PluginDevice::create(p9_vtable(), "{\"tag\":\"t\",\"path\":\"/nonexistent/dir\"}");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("/nonexistent/dir"), std::string::npos);
}

}  // namespace
}  // namespace voidbox::p9::testing
