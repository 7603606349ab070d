// virtio-fs through the virtio-mmio transport, driven like the guest's
// driver: config space, FUSE requests over the request queue, forgets over
// the hiprio queue, replies that complete out of order, and a reset while a
// request is still blocked.
#include "virtiofs_device.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "fuse_share_fixture.hpp"
#include "voidbox/virtio/mmio_transport.hpp"
#include "voidbox/virtio/testing/fake_driver.hpp"
#include "voidbox/virtio/testing/mmio_driver.hpp"

namespace voidbox::virtiofs::testing {
namespace {

using virtio::testing::FakeGuestRam;
using virtio::testing::FakeQueue;
using virtio::testing::MmioDriver;
using virtio::testing::UsedElem;

constexpr std::uint32_t kReplyBytes = 16384;
// The fake driver never moves used_event: without EVENT_IDX every
// completion interrupts, and these tests wait on interrupts.
constexpr std::uint64_t kDriverFeatures = virtio::kFeatureVersion1 | virtio::kFeatureIndirectDesc;

class FuseDeviceFixture : public FuseShareFixture {
 protected:
  void boot(bool readonly) {
    DeviceConfig c;
    c.tag = "voidbox0";
    c.server.root = share.string();
    c.server.readonly = readonly;
    auto dev = VirtiofsDevice::open(c);
    ASSERT_TRUE(dev) << dev.error();
    device = dev->get();
    transport = std::make_unique<virtio::MmioTransport>(
        std::move(*dev), ram.memory(),
        virtio::MmioTransport::IrqCallbacks{[this] {
                                              std::lock_guard lock(mu);
                                              ++irqs;
                                              cv.notify_all();
                                            },
                                            {}});
    driver = std::make_unique<MmioDriver>(*transport);
    FakeQueue* queues[] = {&hiprio, &requests};
    ASSERT_TRUE(driver->initialise(kDriverFeatures, queues));
  }
  void TearDown() override {
    transport.reset();
    FuseShareFixture::TearDown();
  }

  std::pair<std::uint16_t, std::uint64_t> submit(const std::vector<std::byte>& msg,
                                                 std::uint32_t reply_bytes = kReplyBytes) {
    const std::uint64_t in = ram.alloc(msg.size());
    ram.write(in, msg);
    const std::uint64_t out = ram.alloc(reply_bytes);
    const std::uint16_t head = requests.add_chain(
        {{in, static_cast<std::uint32_t>(msg.size()), false}, {out, reply_bytes, true}});
    driver->notify(kRequestQueue);
    return {head, out};
  }
  std::optional<UsedElem> next_used(FakeQueue& q) {
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
    auto used = next_used(requests);
    if (!used) throw std::runtime_error("no reply within the hang guard");
    if (used->id != head) throw std::runtime_error("reply for another chain");
    return ram.read(out, used->len);
  }
  Client make_client() {
    return Client([this](const std::vector<std::byte>& m) { return call(m); });
  }

  FakeGuestRam ram{8 << 20};
  FakeQueue hiprio{ram, 16};
  FakeQueue requests{ram, 64};
  VirtiofsDevice* device = nullptr;
  std::unique_ptr<virtio::MmioTransport> transport;
  std::unique_ptr<MmioDriver> driver;
  std::mutex mu;
  std::condition_variable cv;
  int irqs = 0;
  int seen = 0;
};

TEST_F(FuseDeviceFixture, AdvertisesTheTagAndOneRequestQueue) {
  boot(true);
  EXPECT_EQ(driver->read32(virtio::kMmioDeviceId), 26u);
  std::string tag;
  for (std::uint32_t i = 0; i < kTagBytes; ++i) {
    const char ch = static_cast<char>(driver->read_config<std::uint8_t>(i));
    if (ch == 0) break;
    tag += ch;
  }
  EXPECT_EQ(tag, "voidbox0");
  EXPECT_EQ(driver->read_config<std::uint32_t>(kTagBytes), 1u);
}

TEST_F(FuseDeviceFixture, ServesASessionOverTheRequestQueue) {
  boot(false);
  Client c = make_client();
  ASSERT_EQ(c.init().error(), 0);
  const auto n = c.node(1, "hello.txt");
  ASSERT_NE(n, 0u);
  const auto fh = c.fh(n, O_RDONLY);
  EXPECT_EQ(c.read(n, fh, 0, 1 << 20).text(), "hello, virtiofs\n");  // clamped to the buffer
  Reply cr = c.create(1, "out.txt", O_WRONLY | O_CREAT, 0644);
  ASSERT_EQ(cr.error(), 0);
  ASSERT_EQ(c.write(cr.as<fuse_entry_out>().nodeid, cr.as<fuse_open_out>(sizeof(fuse_entry_out)).fh,
                    0, "from the queue")
                .error(),
            0);
  EXPECT_EQ(slurp(share / "out.txt"), "from the queue");
}

TEST_F(FuseDeviceFixture, ForgetsOnTheHiprioQueueAreReturnedWithoutAReply) {
  boot(true);
  Client c = make_client();
  ASSERT_EQ(c.init().error(), 0);
  const auto n = c.node(1, "hello.txt");
  fuse_forget_in f{1};
  auto msg = fuse_request(FUSE_FORGET, n, &f, sizeof f);
  const std::uint64_t in = ram.alloc(msg.size());
  ram.write(in, msg);
  const std::uint16_t head =
      hiprio.add_chain({{in, static_cast<std::uint32_t>(msg.size()), false}});
  driver->notify(kHiprioQueue);
  auto used = next_used(hiprio);
  ASSERT_TRUE(used);
  EXPECT_EQ(used->id, head);
  EXPECT_EQ(used->len, 0u);
  EXPECT_EQ(c.getattr(n).error(), ENOENT);
}

TEST_F(FuseDeviceFixture, SlowReadCompletesAfterALaterGetattr) {
  ASSERT_EQ(::mkfifo((share / "fifo").c_str(), 0644), 0);
  const int writer = ::open((share / "fifo").c_str(), O_RDWR | O_NONBLOCK);
  ASSERT_GE(writer, 0);
  boot(true);
  Client c = make_client();
  ASSERT_EQ(c.init().error(), 0);
  const auto n = c.node(1, "fifo");
  const auto fh = c.fh(n, O_RDONLY);
  ASSERT_NE(fh, 0u);
  fuse_read_in rd{};
  rd.fh = fh;
  rd.size = 16;
  auto [read_head, read_out] = submit(fuse_request(FUSE_READ, n, &rd, sizeof rd));
  fuse_getattr_in ga{};
  auto [stat_head, stat_out] = submit(fuse_request(FUSE_GETATTR, 1, &ga, sizeof ga));
  auto first = next_used(requests);
  ASSERT_TRUE(first) << "the getattr is stuck behind the blocked read";
  EXPECT_EQ(first->id, stat_head);
  EXPECT_EQ(Reply{ram.read(stat_out, first->len)}.error(), 0);
  ASSERT_EQ(::write(writer, "data", 4), 4);
  auto second = next_used(requests);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->id, read_head);
  EXPECT_EQ(Reply{ram.read(read_out, second->len)}.text(), "data");
  ::close(writer);
}

TEST_F(FuseDeviceFixture, ResetDropsTheReplyOfABlockedRequest) {
  ASSERT_EQ(::mkfifo((share / "fifo").c_str(), 0644), 0);
  const int writer = ::open((share / "fifo").c_str(), O_RDWR | O_NONBLOCK);
  ASSERT_GE(writer, 0);
  boot(true);
  Client c = make_client();
  ASSERT_EQ(c.init().error(), 0);
  const auto n = c.node(1, "fifo");
  fuse_read_in rd{};
  rd.fh = c.fh(n, O_RDONLY);
  rd.size = 16;
  submit(fuse_request(FUSE_READ, n, &rd, sizeof rd));
  const std::uint16_t used_before = requests.used_idx();
  driver->write32(virtio::kMmioStatus, 0);  // the guest resets the device
  ASSERT_EQ(::write(writer, "data", 4), 4);
  FakeQueue* queues[] = {&hiprio, &requests};
  ASSERT_TRUE(driver->initialise(kDriverFeatures, queues));
  EXPECT_EQ(requests.used_idx(), used_before);
  ::close(writer);
}

TEST_F(FuseDeviceFixture, ChainsTooShortForAHeaderAreReturnedEmpty) {
  boot(true);
  const std::uint64_t in = ram.alloc(7), out = ram.alloc(64);
  requests.add_chain({{in, 7, false}, {out, 64, true}});
  driver->notify(kRequestQueue);
  auto used = requests.pop_used();  // returned on the notifying thread
  ASSERT_TRUE(used);
  EXPECT_EQ(used->len, 0u);
  EXPECT_EQ(driver->read32(virtio::kMmioStatus) & virtio::kStatusNeedsReset, 0u);
}

TEST_F(FuseDeviceFixture, ConfigErrorsNameTheProblem) {
  auto no_tag = VirtiofsDevice::create("{\"path\":\"/tmp\"}");
  ASSERT_FALSE(no_tag);
  EXPECT_NE(no_tag.error().find("tag"), std::string::npos);
  EXPECT_FALSE(VirtiofsDevice::create("{\"tag\":\"a b\",\"path\":\"/tmp\"}"));
  EXPECT_FALSE(
      VirtiofsDevice::create("{\"tag\":\"" + std::string(37, 'a') + "\",\"path\":\"/tmp\"}"));
  auto missing = VirtiofsDevice::create("{\"tag\":\"t\",\"path\":\"/nonexistent/share\"}");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("/nonexistent/share"), std::string::npos);
  EXPECT_FALSE(VirtiofsDevice::create("{\"tag\":\"t\",\"path\":\"share\"}"));
  EXPECT_FALSE(VirtiofsDevice::create("not json"));
  EXPECT_FALSE(VirtiofsDevice::create("{\"tag\":\"t\",\"path\":\"/tmp\",\"queue_size\":100}"));
  auto ok = VirtiofsDevice::create(
      "{\"tag\":\"t\",\"path\":\"/tmp\",\"readonly\":false,"
      "\"owner_uid\":1234}");
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_FALSE((*ok)->server().config().readonly);
  EXPECT_EQ((*ok)->server().config().owner_uid, 1234u);
}

}  // namespace
}  // namespace voidbox::virtiofs::testing
