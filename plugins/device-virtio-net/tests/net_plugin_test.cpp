// Loads the built libdevice-virtio-net.so through the project's plugin loader
// (the one voidbox-vmm uses), checks its vtable is a network device's, and
// runs a frame each way through the C ABI via the host-side PluginDevice.
#include <gtest/gtest.h>

#include "net_test_support.hpp"
#include "voidbox/abi/device.h"
#include "voidbox/plugin/loader.hpp"
#include "voidbox/virtio/plugin_device.hpp"

namespace voidbox::net {
namespace {

using namespace testing;

const vb_device_vtable* net_vtable() {
  static plugin::Loader loader;
  static const vb_device_vtable* vtable = [] {
    if (!loader.load_file(VOIDBOX_NET_PLUGIN_PATH))
      return static_cast<const vb_device_vtable*>(nullptr);
    auto f = loader.find(VB_KIND_DEVICE, "virtio-net");
    return f ? static_cast<const vb_device_vtable*>(f->vtable) : nullptr;
  }();
  return vtable;
}

TEST(NetPluginTest, LoadsAndRegistersANetworkDevice) {
  const vb_device_vtable* vt = net_vtable();
  ASSERT_NE(vt, nullptr) << "cannot load " << VOIDBOX_NET_PLUGIN_PATH;
  EXPECT_GE(vt->struct_size, sizeof(vb_device_vtable));
  EXPECT_NE(vt->frame_port, nullptr);
  EXPECT_NE(vt->set_peer, nullptr);
  EXPECT_EQ(plugin::vtable_rejection(VB_KIND_DEVICE, vt), "");
}

TEST(NetPluginTest, FramesCrossTheCAbiBothWays) {
  ASSERT_NE(net_vtable(), nullptr);
  auto made = virtio::PluginDevice::create(net_vtable(), R"({"mtu":1500})");
  ASSERT_TRUE(made) << made.error();
  virtio::PluginDevice* dev = made->get();
  ASSERT_TRUE(dev->has_frames());
  const vb_frame_port* to_guest = dev->frame_port();
  ASSERT_NE(to_guest, nullptr);
  FakePeer peer;
  dev->set_peer(peer.port());

  FakeGuestRam ram{1 << 20};
  FakeQueue rxq{ram, 64}, txq{ram, 64};
  int irqs = 0;
  virtio::MmioTransport transport(std::move(*made), ram.memory(),
                                  virtio::MmioTransport::IrqCallbacks{[&] { ++irqs; }, {}});
  MmioDriver driver(transport);
  FakeQueue* queues[] = {&rxq, &txq};
  ASSERT_TRUE(driver.initialise(kAllFeatures, queues));
  EXPECT_EQ(driver.read32(virtio::kMmioDeviceId), 1u);

  const Bytes out = pattern(700);
  const std::uint64_t h = ram.alloc(kNetHdrSize), b = ram.alloc(out.size());
  ram.write(b, out);
  txq.add_chain({{h, static_cast<std::uint32_t>(kNetHdrSize), false},
                 {b, static_cast<std::uint32_t>(out.size()), false}});
  driver.notify(kTxQueue);
  EXPECT_EQ(peer.frames(), std::vector<Bytes>{out});

  const std::uint64_t rb = ram.alloc(2048);
  rxq.add_chain({{rb, 2048, true}});
  const Bytes in = pattern(321, 2);
  EXPECT_EQ(
      to_guest->send(to_guest->ctx, reinterpret_cast<const std::uint8_t*>(in.data()), in.size()),
      VB_OK);
  auto used = rxq.pop_used();
  ASSERT_TRUE(used);
  EXPECT_EQ(used->len, kNetHdrSize + in.size());
  EXPECT_EQ(ram.read(rb + kNetHdrSize, in.size()), in);
  EXPECT_GT(irqs, 0);
  dev->set_peer(nullptr);
}

TEST(NetPluginTest, BadConfigIsReportedThroughTheVtable) {
  ASSERT_NE(net_vtable(), nullptr);
  auto bad = virtio::PluginDevice::create(net_vtable(), R"({"mac":"01:02:03:04:05:06"})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("multicast"), std::string::npos);
}

}  // namespace
}  // namespace voidbox::net
