// Loads the real libdevice-virtio-blk.so, creates devices through its C
// vtable (via the host-side PluginDevice adapter) and drives them through the
// virtio-mmio transport like a guest driver.
#include <dlfcn.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "voidbox/abi/device.h"
#include "voidbox/plugin_abi.h"
#include "voidbox/virtio/mmio_transport.hpp"
#include "voidbox/virtio/plugin_device.hpp"
#include "voidbox/virtio/testing/fake_driver.hpp"
#include "voidbox/virtio/testing/mmio_driver.hpp"

namespace {

using namespace voidbox::virtio;
using FakeGuestRam = voidbox::virtio::testing::FakeGuestRam;
using FakeQueue = voidbox::virtio::testing::FakeQueue;
using FakeBuffer = voidbox::virtio::testing::FakeBuffer;
using MmioDriver = voidbox::virtio::testing::MmioDriver;

constexpr std::uint64_t kFeatureRo = 1ull << 5;
constexpr std::uint64_t kFeatureFlush = 1ull << 9;
constexpr std::uint32_t kIn = 0, kOut = 1, kFlush = 4, kGetId = 8;
constexpr std::uint8_t kOk = 0, kIoErr = 1, kUnsupp = 2;
constexpr std::uint64_t kDiskSectors = 64;

// The plugin, loaded once for the whole test program.
const vb_device_vtable* blk_vtable() {
  static const vb_device_vtable* vtable = [] {
    void* lib = ::dlopen(VOIDBOX_BLK_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
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
      if (kind == VB_KIND_DEVICE && std::strcmp(name, "virtio-blk") == 0) {
        found = static_cast<const vb_device_vtable*>(vt);
      }
      return VB_OK;
    };
    r.log = [](void*, vb_log_level, const char*) {};
    char msg[256] = {};
    vb_error err{sizeof(err), msg, sizeof(msg)};
    if (d->abi_major != VOIDBOX_ABI_MAJOR || d->init(&r, &err) != VB_OK) return found = nullptr;
    return found;
  }();
  return vtable;
}

std::byte pattern(std::uint64_t offset) {
  return static_cast<std::byte>((offset * 7 + 3) & 0xff);
}

struct BlkFixture : ::testing::Test {
  std::string path;
  FakeGuestRam ram{2 << 20};
  FakeQueue q{ram, 64};
  std::unique_ptr<MmioTransport> transport;
  int irqs = 0;

  void SetUp() override {
    ASSERT_NE(blk_vtable(), nullptr) << "cannot load " << VOIDBOX_BLK_PLUGIN_PATH;
    char tmpl[] = "/tmp/blk-test-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    path = tmpl;
    std::vector<std::byte> data(kDiskSectors * 512 + 100);  // a partial tail sector
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = pattern(i);
    ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ::close(fd);
  }
  void TearDown() override {
    transport.reset();
    ::unlink(path.c_str());
  }

  MmioDriver start(bool read_only, std::uint64_t features = ~0ull) {
    const std::string json = std::string("{\"path\":\"") + path +
                             "\",\"read_only\":" + (read_only ? "true" : "false") +
                             ",\"id\":\"disk-0\"}";
    auto dev = PluginDevice::create(blk_vtable(), json);
    EXPECT_TRUE(dev.has_value()) << (dev ? "" : dev.error());
    transport = std::make_unique<MmioTransport>(
        std::move(*dev), ram.memory(), MmioTransport::IrqCallbacks{[this] { ++irqs; }, {}});
    MmioDriver driver(*transport);
    FakeQueue* queues[] = {&q};
    EXPECT_TRUE(driver.initialise(features, queues));
    return driver;
  }

  struct Result {
    std::uint8_t status;
    std::uint32_t used_len;
    std::vector<std::byte> data;
  };

  // One request: header, optional data out, data_in writable bytes, status.
  Result request(MmioDriver& d, std::uint32_t type, std::uint64_t sector,
                 std::span<const std::byte> out, std::uint32_t in_len) {
    const std::uint64_t hdr = ram.alloc(16);
    ram.put<std::uint32_t>(hdr, type);
    ram.put<std::uint32_t>(hdr + 4, 0);
    ram.put<std::uint64_t>(hdr + 8, sector);
    std::vector<FakeBuffer> bufs{{hdr, 16, false}};
    if (!out.empty()) {
      const std::uint64_t o = ram.alloc(out.size());
      ram.write(o, out);
      bufs.push_back({o, static_cast<std::uint32_t>(out.size()), false});
    }
    std::uint64_t in = 0;
    if (in_len > 0) {
      in = ram.alloc(in_len);
      bufs.push_back({in, in_len, true});
    }
    const std::uint64_t status = ram.alloc(1);
    ram.put<std::uint8_t>(status, 0xff);
    bufs.push_back({status, 1, true});
    const std::uint16_t head = q.add_chain(bufs);
    d.notify(0);
    auto used = q.pop_used();
    EXPECT_TRUE(used);
    if (!used) return {0xff, 0, {}};
    EXPECT_EQ(used->id, head);
    return {ram.get<std::uint8_t>(status), used->len,
            in_len ? ram.read(in, in_len) : std::vector<std::byte>{}};
  }

  std::vector<std::byte> file_bytes(std::uint64_t offset, std::size_t len) {
    std::vector<std::byte> out(len);
    const int fd = ::open(path.c_str(), O_RDONLY);
    EXPECT_EQ(::pread(fd, out.data(), len, static_cast<off_t>(offset)), static_cast<ssize_t>(len));
    ::close(fd);
    return out;
  }
};

TEST_F(BlkFixture, AdvertisesCapacityAndFeatures) {
  auto d = start(true);
  EXPECT_EQ(d.read32(kMmioDeviceId), 2u);
  EXPECT_EQ(d.read_config<std::uint64_t>(0), kDiskSectors);  // the partial tail is not exposed
  EXPECT_EQ(d.read_config<std::uint32_t>(20), 512u);
  const std::uint64_t f = d.device_features();
  EXPECT_TRUE(f & kFeatureRo);
  EXPECT_TRUE(f & kFeatureFlush);
  EXPECT_TRUE(f & kFeatureVersion1);
}

TEST_F(BlkFixture, ReadsSectors) {
  auto d = start(true);
  auto r = request(d, kIn, 3, {}, 3 * 512);
  EXPECT_EQ(r.status, kOk);
  EXPECT_EQ(r.used_len, 3 * 512 + 1u);
  EXPECT_EQ(r.data, file_bytes(3 * 512, 3 * 512));
  // The last sector is readable; one past it is not.
  EXPECT_EQ(request(d, kIn, kDiskSectors - 1, {}, 512).status, kOk);
  EXPECT_EQ(request(d, kIn, kDiskSectors - 1, {}, 1024).status, kIoErr);
  EXPECT_EQ(request(d, kIn, kDiskSectors, {}, 512).status, kIoErr);
  EXPECT_EQ(request(d, kIn, ~0ull, {}, 512).status, kIoErr);  // overflowing sector
  EXPECT_EQ(request(d, kIn, 0, {}, 100).status, kIoErr);      // not whole sectors
}

TEST_F(BlkFixture, ReadsIntoScatteredBuffers) {
  auto d = start(true);
  const std::uint64_t hdr = ram.alloc(16), a = ram.alloc(100), b = ram.alloc(412),
                      st = ram.alloc(1);
  ram.put<std::uint32_t>(hdr, kIn);
  ram.put<std::uint64_t>(hdr + 8, 5);
  q.add_chain({{hdr, 16, false}, {a, 100, true}, {b, 412, true}, {st, 1, true}});
  d.notify(0);
  auto used = q.pop_used();
  ASSERT_TRUE(used);
  EXPECT_EQ(ram.get<std::uint8_t>(st), kOk);
  auto got = ram.read(a, 100);
  auto rest = ram.read(b, 412);
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got, file_bytes(5 * 512, 512));
}

TEST_F(BlkFixture, WritesWhenReadWrite) {
  auto d = start(false);
  EXPECT_FALSE(d.device_features() & kFeatureRo);
  std::vector<std::byte> data(1024, std::byte{0x5a});
  auto r = request(d, kOut, 10, data, 0);
  EXPECT_EQ(r.status, kOk);
  EXPECT_EQ(r.used_len, 1u);
  EXPECT_EQ(file_bytes(10 * 512, 1024), data);
  EXPECT_EQ(file_bytes(12 * 512, 1)[0], pattern(12 * 512));  // neighbours untouched
  EXPECT_EQ(request(d, kFlush, 0, {}, 0).status, kOk);
  EXPECT_EQ(request(d, kOut, kDiskSectors - 1, data, 0).status, kIoErr);  // past the end
}

TEST_F(BlkFixture, WritesRefusedWhenReadOnly) {
  auto d = start(true);
  std::vector<std::byte> data(512, std::byte{0x11});
  EXPECT_EQ(request(d, kOut, 0, data, 0).status, kIoErr);
  EXPECT_EQ(file_bytes(0, 1)[0], pattern(0));
}

TEST_F(BlkFixture, GetIdAndUnknownRequests) {
  auto d = start(true);
  auto r = request(d, kGetId, 0, {}, 20);
  EXPECT_EQ(r.status, kOk);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(r.data.data())), "disk-0");
  EXPECT_EQ(request(d, 77, 0, {}, 0).status, kUnsupp);
}

TEST_F(BlkFixture, RequestsWithoutStatusOrHeaderAreReturnedEmpty) {
  auto d = start(true);
  const std::uint64_t hdr = ram.alloc(16);
  ram.put<std::uint32_t>(hdr, kIn);
  q.add_chain({{hdr, 16, false}});  // no status byte
  const std::uint64_t st = ram.alloc(1);
  q.add_chain({{hdr, 8, false}, {st, 1, true}});  // header too short
  d.notify(0);
  for (int i = 0; i < 2; ++i) {
    auto used = q.pop_used();
    ASSERT_TRUE(used);
    EXPECT_EQ(used->len, 0u);
  }
  EXPECT_EQ(d.read32(kMmioStatus) & kStatusNeedsReset, 0u);
}

TEST_F(BlkFixture, BrokenAvailIndexNeedsReset) {
  auto d = start(true);
  q.set_avail_idx(500);
  d.notify(0);
  EXPECT_TRUE(d.read32(kMmioStatus) & kStatusNeedsReset);
  EXPECT_TRUE(d.read32(kMmioInterruptStatus) & kInterruptConfigChange);
}

TEST_F(BlkFixture, BadConfigIsReportedThroughTheVtable) {
  auto missing = PluginDevice::create(blk_vtable(), "{\"path\":\"/nonexistent/disk\"}");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("/nonexistent/disk"), std::string::npos);
  auto garbage = PluginDevice::create(blk_vtable(), "not json");
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().find("JSON"), std::string::npos);
}

}  // namespace

namespace {

TEST(PluginDeviceTest, RejectsIncompleteVtables) {
  ASSERT_NE(blk_vtable(), nullptr);
  EXPECT_FALSE(PluginDevice::create(nullptr, "{}"));
  vb_device_vtable copy = *blk_vtable();
  copy.struct_size = sizeof(std::size_t);
  EXPECT_FALSE(PluginDevice::create(&copy, "{}"));
  copy = *blk_vtable();
  copy.queue_notify = nullptr;
  auto r = PluginDevice::create(&copy, "{}");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("null"), std::string::npos);
}

}  // namespace
