// virtio-9p through the virtio-mmio transport, driven like the guest's
// driver: config space and features, requests over the virtqueue, replies
// that complete out of order, and a reset while a request is still blocked.
#include "p9_device.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "p9_share_fixture.hpp"
#include "voidbox/virtio/mmio_transport.hpp"
#include "voidbox/virtio/testing/fake_driver.hpp"
#include "voidbox/virtio/testing/mmio_driver.hpp"

namespace voidbox::p9::testing {
namespace {

using virtio::testing::FakeGuestRam;
using virtio::testing::FakeQueue;
using virtio::testing::MmioDriver;
using virtio::testing::UsedElem;

constexpr std::uint32_t kReplyBytes = 16384;
// The fake driver never moves used_event, so with EVENT_IDX only the first
// completion would interrupt; these tests wait on interrupts.
constexpr std::uint64_t kDriverFeatures =
    virtio::kFeatureVersion1 | virtio::kFeatureIndirectDesc | kFeatureMountTag;

class DeviceFixture : public ShareFixture {
 protected:
  void boot(bool readonly) {
    DeviceConfig c;
    c.tag = "voidbox0";
    c.server.root = share.string();
    c.server.readonly = readonly;
    auto dev = NinepDevice::open(c);
    ASSERT_TRUE(dev) << dev.error();
    transport = std::make_unique<virtio::MmioTransport>(
        std::move(*dev), ram.memory(),
        virtio::MmioTransport::IrqCallbacks{[this] {
                                              std::lock_guard lock(mu);
                                              ++irqs;
                                              cv.notify_all();
                                            },
                                            {}});
    driver = std::make_unique<MmioDriver>(*transport);
    FakeQueue* queues[] = {&q};
    ASSERT_TRUE(driver->initialise(kDriverFeatures, queues));
  }
  void TearDown() override {
    transport.reset();
    ShareFixture::TearDown();
  }

  // Puts a request on the queue and returns {head, reply buffer}.
  std::pair<std::uint16_t, std::uint64_t> submit(const std::vector<std::byte>& msg) {
    const std::uint64_t in = ram.alloc(msg.size());
    ram.write(in, msg);
    const std::uint64_t out = ram.alloc(kReplyBytes);
    const std::uint16_t head = q.add_chain(
        {{in, static_cast<std::uint32_t>(msg.size()), false}, {out, kReplyBytes, true}});
    driver->notify(0);
    return {head, out};
  }
  // The next used entry, waiting on the interrupt (10 s hang guard).
  std::optional<UsedElem> next_used() {
    std::unique_lock lock(mu);
    for (;;) {
      if (auto u = q.pop_used()) return u;
      if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return irqs > seen; })) {
        return std::nullopt;
      }
      seen = irqs;
    }
  }
  std::vector<std::byte> call(const std::vector<std::byte>& msg) {
    auto [head, out] = submit(msg);
    auto used = next_used();
    if (!used) throw std::runtime_error("no reply within the hang guard");
    if (used->id != head) throw std::runtime_error("reply for another chain");
    return ram.read(out, used->len);
  }
  Client make_client() {
    return Client([this](const std::vector<std::byte>& m) { return call(m); });
  }

  FakeGuestRam ram{8 << 20};
  FakeQueue q{ram, 64};
  std::unique_ptr<virtio::MmioTransport> transport;
  std::unique_ptr<MmioDriver> driver;
  std::mutex mu;
  std::condition_variable cv;
  int irqs = 0;
  int seen = 0;
};

TEST_F(DeviceFixture, AdvertisesTheMountTag) {
  boot(true);
  EXPECT_EQ(driver->read32(virtio::kMmioDeviceId), 9u);
  EXPECT_TRUE(driver->device_features() & kFeatureMountTag);
  EXPECT_EQ(driver->read_config<std::uint16_t>(0), 8u);
  std::string tag;
  for (std::uint32_t i = 0; i < 8; ++i)
    tag += static_cast<char>(driver->read_config<std::uint8_t>(2 + i));
  EXPECT_EQ(tag, "voidbox0");
}

TEST_F(DeviceFixture, ServesASessionOverTheQueue) {
  boot(false);
  Client c = make_client();
  Reply v = c.version(65536);
  ASSERT_EQ(v.type(), 101);
  EXPECT_EQ(v.u32(), 65536u);
  ASSERT_EQ(c.attach(0).type(), 105);
  ASSERT_EQ(c.walk(0, 1, {"hello.txt"}).type(), 111);
  ASSERT_EQ(c.lopen(1, 0).type(), 13);
  Reply r = c.read(1, 0, 100000);  // clamped to the reply buffer
  ASSERT_EQ(r.type(), 117);
  EXPECT_EQ(r.bytes(r.u32()), "hello, 9p\n");
  ASSERT_EQ(c.walk(0, 2, {}).type(), 111);
  ASSERT_EQ(c.lcreate(2, "out.txt", 0101, 0644).type(), 15);
  ASSERT_EQ(c.write(2, 0, "from the queue").type(), 119);
  EXPECT_EQ(slurp(share / "out.txt"), "from the queue");
}

TEST_F(DeviceFixture, SlowReadCompletesAfterALaterGetattr) {
  ASSERT_EQ(::mkfifo((share / "fifo").c_str(), 0644), 0);
  const int writer = ::open((share / "fifo").c_str(), O_RDWR | O_NONBLOCK);
  ASSERT_GE(writer, 0);
  boot(true);
  Client c = make_client();
  ASSERT_EQ(c.version().type(), 101);
  ASSERT_EQ(c.attach(0).type(), 105);
  ASSERT_EQ(c.walk(0, 1, {"fifo"}).type(), 111);
  ASSERT_EQ(c.lopen(1, 0).type(), 13);
  auto [read_head, read_out] = submit(Msg(116, 40).u32(1).u64(0).u32(16).done());
  auto [stat_head, stat_out] = submit(Msg(24, 41).u32(0).u64(0x7ff).done());
  auto first = next_used();
  ASSERT_TRUE(first) << "the getattr is stuck behind the blocked read";
  EXPECT_EQ(first->id, stat_head);
  EXPECT_EQ(Reply(ram.read(stat_out, first->len)).type(), 25);
  ASSERT_EQ(::write(writer, "data", 4), 4);
  auto second = next_used();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->id, read_head);
  Reply r(ram.read(read_out, second->len));
  ASSERT_EQ(r.type(), 117);
  EXPECT_EQ(r.bytes(r.u32()), "data");
  ::close(writer);
}

TEST_F(DeviceFixture, ResetDoesNotWaitForABlockedRequestAndDropsItsReply) {
  ASSERT_EQ(::mkfifo((share / "fifo").c_str(), 0644), 0);
  const int writer = ::open((share / "fifo").c_str(), O_RDWR | O_NONBLOCK);
  ASSERT_GE(writer, 0);
  boot(true);
  Client c = make_client();
  ASSERT_EQ(c.version().type(), 101);
  ASSERT_EQ(c.attach(0).type(), 105);
  ASSERT_EQ(c.walk(0, 1, {"fifo"}).type(), 111);
  ASSERT_EQ(c.lopen(1, 0).type(), 13);
  submit(Msg(116, 40).u32(1).u64(0).u32(16).done());
  const std::uint16_t used_before = q.used_idx();
  driver->write32(virtio::kMmioStatus, 0);  // the guest resets the device
  ASSERT_EQ(::write(writer, "data", 4), 4);
  // Serve one more request after a fresh initialisation: it is answered,
  // the stale read never is.
  FakeQueue* queues[] = {&q};
  ASSERT_TRUE(driver->initialise(kDriverFeatures, queues));
  EXPECT_EQ(q.used_idx(), used_before);
  ::close(writer);
}

TEST_F(DeviceFixture, ChainsTooSmallForAReplyAreReturnedEmpty) {
  boot(true);
  const std::uint64_t in = ram.alloc(7), out = ram.alloc(4);
  q.add_chain({{in, 7, false}, {out, 4, true}});
  driver->notify(0);
  auto used = q.pop_used();  // returned on the notifying thread, no worker involved
  ASSERT_TRUE(used);
  EXPECT_EQ(used->len, 0u);
  EXPECT_EQ(driver->read32(virtio::kMmioStatus) & virtio::kStatusNeedsReset, 0u);
}

TEST_F(DeviceFixture, ConfigErrorsNameTheProblem) {
  auto no_tag = NinepDevice::create("{\"path\":\"/tmp\"}");
  ASSERT_FALSE(no_tag);
  EXPECT_NE(no_tag.error().find("tag"), std::string::npos);
  auto bad_tag = NinepDevice::create("{\"tag\":\"a b\",\"path\":\"/tmp\"}");
  ASSERT_FALSE(bad_tag);
  auto missing = NinepDevice::create("{\"tag\":\"t\",\"path\":\"/nonexistent/share\"}");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("/nonexistent/share"), std::string::npos);
  auto relative = NinepDevice::create("{\"tag\":\"t\",\"path\":\"share\"}");
  ASSERT_FALSE(relative);
  EXPECT_FALSE(NinepDevice::create("not json"));
  EXPECT_FALSE(NinepDevice::create("{\"tag\":\"t\",\"path\":\"/tmp\",\"queue_size\":100}"));
}

}  // namespace
}  // namespace voidbox::p9::testing
