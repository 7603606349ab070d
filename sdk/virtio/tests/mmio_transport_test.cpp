#include "voidbox/virtio/mmio_transport.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <stdexcept>

#include "voidbox/virtio/testing/fake_driver.hpp"

namespace voidbox::virtio {
namespace {

using testing::FakeGuestRam;
using testing::FakeQueue;

constexpr std::uint64_t kFeatureDeviceSpecific = 1ull << 3;

// Records what the transport asks of it.
class RecordingDevice final : public Device {
 public:
  std::uint32_t device_type() const override { return 42; }
  std::span<const std::uint16_t> queue_max_sizes() const override { return sizes_; }
  std::uint64_t device_features() const override {
    return kFeatureVersion1 | kFeatureEventIdx | kFeatureDeviceSpecific;
  }
  void ack_features(std::uint64_t f) override { acked = f; }
  std::uint32_t config_size() const override { return 12; }
  void read_config(std::uint32_t offset, std::span<std::byte> out) const override {
    std::memcpy(out.data(), config.data() + offset, out.size());
  }
  void write_config(std::uint32_t offset, std::span<const std::byte> in) override {
    std::memcpy(config.data() + offset, in.data(), in.size());
  }
  std::expected<void, std::string> activate(const ActivateParams& p) override {
    ++activations;
    queues.assign(p.queues.begin(), p.queues.end());
    interrupt = &p.interrupt;
    for (const auto& q : p.queues) {
      Virtqueue vq(256);
      vq.set_config(q);
      if (auto r = vq.activate(p.memory, p.driver_features); !r) {
        return std::unexpected(std::string(to_string(r.error())));
      }
    }
    return {};
  }
  void queue_notify(std::uint16_t q) override {
    if (throw_on_notify) throw std::runtime_error("boom");
    notified.push_back(q);
  }
  void reset() override {
    ++resets;
    interrupt = nullptr;
  }

  std::array<std::uint16_t, 2> sizes_{256, 64};
  std::array<std::byte, 12> config{};
  std::uint64_t acked = 0;
  int activations = 0;
  int resets = 0;
  bool throw_on_notify = false;
  std::vector<QueueConfig> queues;
  std::vector<std::uint16_t> notified;
  Interrupt* interrupt = nullptr;
};

struct MmioFixture : ::testing::Test {
  FakeGuestRam ram;
  FakeQueue q0{ram, 256};
  FakeQueue q1{ram, 64};
  RecordingDevice* dev = nullptr;
  int raised = 0;
  int lowered = 0;
  std::unique_ptr<MmioTransport> t;

  void SetUp() override {
    auto d = std::make_unique<RecordingDevice>();
    dev = d.get();
    t = std::make_unique<MmioTransport>(
        std::move(d), ram.memory(),
        MmioTransport::IrqCallbacks{[this] { ++raised; }, [this] { ++lowered; }});
  }

  std::uint32_t rd(std::uint64_t off) {
    std::uint32_t v = 0xdeadbeef;
    t->read(off, std::as_writable_bytes(std::span(&v, 1)));
    return v;
  }
  void wr(std::uint64_t off, std::uint32_t v) { t->write(off, std::as_bytes(std::span(&v, 1))); }

  void setup_queue(std::uint32_t index, const FakeQueue& q) {
    wr(kMmioQueueSel, index);
    wr(kMmioQueueNum, q.size());
    wr(kMmioQueueDescLow, static_cast<std::uint32_t>(q.desc_addr()));
    wr(kMmioQueueDescHigh, static_cast<std::uint32_t>(q.desc_addr() >> 32));
    wr(kMmioQueueAvailLow, static_cast<std::uint32_t>(q.avail_addr()));
    wr(kMmioQueueAvailHigh, 0);
    wr(kMmioQueueUsedLow, static_cast<std::uint32_t>(q.used_addr()));
    wr(kMmioQueueUsedHigh, 0);
    wr(kMmioQueueReady, 1);
  }

  // The Linux virtio-mmio probe sequence, up to DRIVER_OK.
  void initialise(std::uint64_t features) {
    wr(kMmioStatus, 0);
    wr(kMmioStatus, kStatusAcknowledge);
    wr(kMmioStatus, kStatusAcknowledge | kStatusDriver);
    wr(kMmioDriverFeaturesSel, 0);
    wr(kMmioDriverFeatures, static_cast<std::uint32_t>(features));
    wr(kMmioDriverFeaturesSel, 1);
    wr(kMmioDriverFeatures, static_cast<std::uint32_t>(features >> 32));
    wr(kMmioStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
    ASSERT_TRUE(rd(kMmioStatus) & kStatusFeaturesOk);
    setup_queue(0, q0);
    setup_queue(1, q1);
    wr(kMmioStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  }
};

TEST_F(MmioFixture, IdentityRegisters) {
  EXPECT_EQ(rd(kMmioMagic), 0x74726976u);
  EXPECT_EQ(rd(kMmioVersion), 2u);
  EXPECT_EQ(rd(kMmioDeviceId), 42u);
  EXPECT_EQ(rd(kMmioVendorId), kMmioVendorValue);
  wr(kMmioDeviceFeaturesSel, 0);
  EXPECT_EQ(rd(kMmioDeviceFeatures), (1u << 29) | (1u << 3));
  wr(kMmioDeviceFeaturesSel, 1);
  EXPECT_EQ(rd(kMmioDeviceFeatures), 1u);  // VERSION_1 is bit 32
  wr(kMmioDeviceFeaturesSel, 2);
  EXPECT_EQ(rd(kMmioDeviceFeatures), 0u);
  wr(kMmioQueueSel, 1);
  EXPECT_EQ(rd(kMmioQueueNumMax), 64u);
  wr(kMmioQueueSel, 2);  // no such queue
  EXPECT_EQ(rd(kMmioQueueNumMax), 0u);
}

TEST_F(MmioFixture, NoSharedMemoryRegionReadsAsAllOnes) {
  // virtio-fs probes region 0 (its DAX window): a length of all ones says
  // there is none, anything else is a region the driver tries to claim.
  for (std::uint32_t id : {0u, 1u, 255u}) {
    wr(kMmioShmSel, id);
    EXPECT_EQ(rd(kMmioShmLenLow), 0xffffffffu);
    EXPECT_EQ(rd(kMmioShmLenHigh), 0xffffffffu);
    EXPECT_EQ(rd(kMmioShmBaseLow), 0xffffffffu);
    EXPECT_EQ(rd(kMmioShmBaseHigh), 0xffffffffu);
  }
}

TEST_F(MmioFixture, HandshakeActivatesDeviceWithQueues) {
  initialise(kFeatureVersion1 | kFeatureEventIdx);
  EXPECT_EQ(dev->acked, kFeatureVersion1 | kFeatureEventIdx);
  EXPECT_EQ(dev->activations, 1);
  ASSERT_EQ(dev->queues.size(), 2u);
  EXPECT_EQ(dev->queues[0].size, 256);
  EXPECT_EQ(dev->queues[0].desc_addr, q0.desc_addr());
  EXPECT_EQ(dev->queues[1].used_addr, q1.used_addr());
  EXPECT_TRUE(dev->queues[1].ready);
  EXPECT_TRUE(t->activated());
  EXPECT_EQ(rd(kMmioStatus) & kStatusNeedsReset, 0u);
  // Queue layout is frozen after DRIVER_OK.
  wr(kMmioQueueSel, 0);
  wr(kMmioQueueNum, 16);
  EXPECT_EQ(rd(kMmioQueueNum), 256u);
}

TEST_F(MmioFixture, FeaturesOkRefusedForUnofferedOrLegacyFeatures) {
  wr(kMmioStatus, kStatusAcknowledge);
  wr(kMmioStatus, kStatusAcknowledge | kStatusDriver);
  wr(kMmioDriverFeaturesSel, 0);
  wr(kMmioDriverFeatures, 1u << 5);  // not offered
  wr(kMmioDriverFeaturesSel, 1);
  wr(kMmioDriverFeatures, 1);
  wr(kMmioStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
  EXPECT_EQ(rd(kMmioStatus) & kStatusFeaturesOk, 0u);

  wr(kMmioStatus, 0);
  wr(kMmioStatus, kStatusAcknowledge);
  wr(kMmioStatus, kStatusAcknowledge | kStatusDriver);
  wr(kMmioDriverFeaturesSel, 0);
  wr(kMmioDriverFeatures, 1u << 3);  // offered, but no VERSION_1
  wr(kMmioStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
  EXPECT_EQ(rd(kMmioStatus) & kStatusFeaturesOk, 0u);
  // DRIVER_OK without FEATURES_OK does not activate.
  wr(kMmioStatus, kStatusAcknowledge | kStatusDriver | kStatusDriverOk);
  EXPECT_EQ(dev->activations, 0);
}

TEST_F(MmioFixture, DriverFeaturesIgnoredBeforeDriverBit) {
  wr(kMmioDriverFeaturesSel, 1);
  wr(kMmioDriverFeatures, 1);
  wr(kMmioStatus, kStatusAcknowledge);
  wr(kMmioStatus, kStatusAcknowledge | kStatusDriver);
  wr(kMmioStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
  EXPECT_EQ(rd(kMmioStatus) & kStatusFeaturesOk, 0u);  // VERSION_1 never accepted
}

TEST_F(MmioFixture, OversizedQueueFailsActivationWithNeedsReset) {
  wr(kMmioStatus, kStatusAcknowledge);
  wr(kMmioStatus, kStatusAcknowledge | kStatusDriver);
  wr(kMmioDriverFeaturesSel, 1);
  wr(kMmioDriverFeatures, 1);
  wr(kMmioStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
  setup_queue(0, q0);
  wr(kMmioQueueSel, 1);
  wr(kMmioQueueNum, 1024);  // max is 64
  EXPECT_EQ(rd(kMmioQueueNum), 0u);
  wr(kMmioStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  EXPECT_FALSE(t->activated());
  EXPECT_TRUE(rd(kMmioStatus) & kStatusNeedsReset);
  EXPECT_TRUE(rd(kMmioInterruptStatus) & kInterruptConfigChange);
  EXPECT_GE(raised, 1);
  // Reset clears everything, and the device can be brought up again.
  wr(kMmioStatus, 0);
  EXPECT_EQ(rd(kMmioStatus), 0u);
  EXPECT_EQ(rd(kMmioInterruptStatus), 0u);
  initialise(kFeatureVersion1);
  EXPECT_TRUE(t->activated());
}

TEST_F(MmioFixture, NotifyReachesDeviceAndInterruptsAreAcked) {
  initialise(kFeatureVersion1);
  wr(kMmioQueueNotify, 1);
  wr(kMmioQueueNotify, 7);  // no such queue: ignored
  t->handle_notify(0);
  EXPECT_EQ(dev->notified, (std::vector<std::uint16_t>{1, 0}));

  ASSERT_NE(dev->interrupt, nullptr);
  dev->interrupt->signal_used_queue(0);
  EXPECT_EQ(raised, 1);
  EXPECT_EQ(rd(kMmioInterruptStatus), kInterruptUsedRing);
  dev->interrupt->signal_config_change();
  EXPECT_EQ(rd(kMmioInterruptStatus), kInterruptUsedRing | kInterruptConfigChange);
  EXPECT_EQ(rd(kMmioConfigGeneration), 1u);
  wr(kMmioInterruptAck, kInterruptUsedRing);
  EXPECT_EQ(lowered, 0);
  wr(kMmioInterruptAck, kInterruptConfigChange);
  EXPECT_EQ(lowered, 1);
  EXPECT_EQ(rd(kMmioInterruptStatus), 0u);
}

TEST_F(MmioFixture, ThrowingDeviceIsMarkedNeedsReset) {
  initialise(kFeatureVersion1);
  dev->throw_on_notify = true;
  wr(kMmioQueueNotify, 0);
  EXPECT_TRUE(rd(kMmioStatus) & kStatusNeedsReset);
  EXPECT_FALSE(t->activated());
  EXPECT_GE(dev->resets, 1);
}

TEST_F(MmioFixture, ResetCallsDeviceReset) {
  initialise(kFeatureVersion1);
  const int before = dev->resets;
  wr(kMmioStatus, 0);
  EXPECT_EQ(dev->resets, before + 1);
  EXPECT_FALSE(t->activated());
  wr(kMmioQueueSel, 0);
  EXPECT_EQ(rd(kMmioQueueNum), 0u);
  EXPECT_EQ(rd(kMmioQueueReady), 0u);
}

TEST_F(MmioFixture, ConfigSpaceIsBoundsChecked) {
  dev->config[0] = std::byte{0x11};
  dev->config[11] = std::byte{0xcc};
  std::uint8_t b = 0;
  t->read(kMmioConfig, std::as_writable_bytes(std::span(&b, 1)));
  EXPECT_EQ(b, 0x11);
  std::uint32_t w = 0;
  t->read(kMmioConfig + 8, std::as_writable_bytes(std::span(&w, 1)));
  EXPECT_EQ(w >> 24, 0xccu);
  w = 0xffffffff;
  t->read(kMmioConfig + 10, std::as_writable_bytes(std::span(&w, 1)));  // runs past the end
  EXPECT_EQ(w, 0u);
  std::uint64_t q = ~0ull;
  t->read(kMmioConfig + 0xf8, std::as_writable_bytes(std::span(&q, 1)));
  EXPECT_EQ(q, 0u);
  std::array<std::byte, 3> odd{};  // 3-byte accesses are not allowed
  odd.fill(std::byte{0xff});
  t->read(kMmioConfig, odd);
  EXPECT_EQ(odd[0], std::byte{0});
  const std::uint32_t v = 0xa5a5a5a5;
  t->write(kMmioConfig + 10, std::as_bytes(std::span(&v, 1)));  // ignored
  EXPECT_EQ(dev->config[10], std::byte{0});
  t->write(kMmioConfig + 4, std::as_bytes(std::span(&v, 1)));
  EXPECT_EQ(dev->config[4], std::byte{0xa5});
  t->write(~0ull, std::as_bytes(std::span(&v, 1)));  // absurd offset: ignored
}

TEST_F(MmioFixture, MisalignedOrNarrowRegisterAccessIsIgnored) {
  std::uint16_t half = 0xffff;
  t->read(kMmioMagic, std::as_writable_bytes(std::span(&half, 1)));
  EXPECT_EQ(half, 0);
  std::uint32_t v = 0xffffffff;
  t->read(kMmioMagic + 1, std::as_writable_bytes(std::span(&v, 1)));
  EXPECT_EQ(v, 0u);
  const std::uint16_t status = kStatusAcknowledge;
  t->write(kMmioStatus, std::as_bytes(std::span(&status, 1)));
  EXPECT_EQ(rd(kMmioStatus), 0u);
}

}  // namespace
}  // namespace voidbox::virtio
