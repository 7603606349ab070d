// DeviceThread driven like voidbox-vmm's event path, without KVM: real
// eventfds stand in for the ioeventfd (the test writes it where the kernel
// would on a guest notify) and for the irqfd (raise_irq writes it), over the
// fake guest RAM and queue of voidbox/virtio/testing.
#include "voidbox/virtio/device_thread.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "voidbox/virtio/testing/fake_driver.hpp"
#include "voidbox/virtio/testing/mmio_driver.hpp"

namespace voidbox::virtio {
namespace {

using testing::FakeGuestRam;
using testing::FakeQueue;
using testing::MmioDriver;

constexpr int kHangGuardMs = 10'000;

struct EventFd {
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ~EventFd() { ::close(fd); }
  void signal() const {
    const std::uint64_t one = 1;
    ASSERT_EQ(::write(fd, &one, sizeof one), 8);
  }
  // Waits until readable and drains; false after the hang guard.
  bool wait() const {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kHangGuardMs) != 1) return false;
    std::uint64_t v = 0;
    return ::read(fd, &v, sizeof v) == 8;
  }
  bool readable() const {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }
};

// Fills every writable byte of a chain with 0xab; optionally blocks inside
// queue_notify until released, to play a device busy on a long request.
class FillDevice final : public Device {
 public:
  std::uint32_t device_type() const override { return 42; }
  std::span<const std::uint16_t> queue_max_sizes() const override { return {&size_, 1}; }
  std::uint64_t device_features() const override { return kFeatureVersion1; }
  void ack_features(std::uint64_t) override {}
  std::uint32_t config_size() const override { return 0; }
  void read_config(std::uint32_t, std::span<std::byte>) const override {}
  void write_config(std::uint32_t, std::span<const std::byte>) override {}
  std::expected<void, std::string> activate(const ActivateParams& p) override {
    queue_.emplace(size_);
    queue_->set_config(p.queues[0]);
    if (auto r = queue_->activate(p.memory, p.driver_features); !r) {
      return std::unexpected(std::string(to_string(r.error())));
    }
    interrupt_ = &p.interrupt;
    return {};
  }
  void queue_notify(std::uint16_t) override {
    {
      std::unique_lock lock(mu_);
      ++notifies_;
      entered_.notify_all();
      released_.wait(lock, [&] { return !hold_; });
    }
    while (auto chain = queue_->pop()) {
      if (!*chain) break;
      ChainWriter writer(queue_->memory(), **chain);
      std::vector<std::byte> fill((**chain).writable_bytes(), std::byte{0xab});
      const auto n = writer.write(fill);
      ASSERT_TRUE(queue_->add_used((**chain).head(), static_cast<std::uint32_t>(n)));
    }
    if (queue_->needs_notification()) interrupt_->signal_used_queue(0);
  }
  void reset() override {
    std::lock_guard lock(mu_);
    ++resets_;
    queue_.reset();
    interrupt_ = nullptr;
  }

  void hold() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  void release() {
    std::lock_guard lock(mu_);
    hold_ = false;
    released_.notify_all();
  }
  bool wait_entered(int count) {
    std::unique_lock lock(mu_);
    return entered_.wait_for(lock, std::chrono::milliseconds(kHangGuardMs),
                             [&] { return notifies_ >= count; });
  }
  int notifies() {
    std::lock_guard lock(mu_);
    return notifies_;
  }
  int resets() {
    std::lock_guard lock(mu_);
    return resets_;
  }

 private:
  std::uint16_t size_ = 16;
  std::optional<Virtqueue> queue_;
  Interrupt* interrupt_ = nullptr;
  std::mutex mu_;
  std::condition_variable entered_, released_;
  bool hold_ = false;
  int notifies_ = 0;
  int resets_ = 0;
};

struct DeviceThreadTest : ::testing::Test {
  FakeGuestRam ram{1 << 20};
  FakeQueue q{ram, 16};
  EventFd notify_fd, irq_fd, resample_fd;
  FillDevice* device = nullptr;
  std::unique_ptr<MmioTransport> transport;
  std::unique_ptr<DeviceThread> thread;
  std::atomic<int> resamples{0};

  void SetUp() override {
    auto dev = std::make_unique<FillDevice>();
    device = dev.get();
    transport = std::make_unique<MmioTransport>(
        std::move(dev), ram.memory(), MmioTransport::IrqCallbacks{[this] { irq_fd.signal(); }, {}});
    MmioDriver driver(*transport);
    FakeQueue* queues[] = {&q};
    ASSERT_TRUE(driver.initialise(kFeatureVersion1, queues));
    DeviceThread::Options o;
    o.queue_notify_fds = {notify_fd.fd};
    o.resample_fd = resample_fd.fd;
    o.on_resample = [this] { ++resamples; };
    o.name = "test-dev";
    auto t = DeviceThread::start(*transport, std::move(o));
    ASSERT_TRUE(t) << t.error();
    thread = std::move(*t);
  }
  void TearDown() override {
    device->release();
    thread.reset();
    transport.reset();
  }
};

TEST_F(DeviceThreadTest, NotifyIsServedAndSignalsTheInterruptEventfd) {
  const std::uint64_t buf = ram.alloc(64);
  const std::uint16_t head = q.add_chain({{buf, 64, true}});
  notify_fd.signal();  // what KVM does on the guest's QueueNotify write
  ASSERT_TRUE(irq_fd.wait()) << "no interrupt within the hang guard";
  auto used = q.pop_used();
  ASSERT_TRUE(used);
  EXPECT_EQ(used->id, head);
  EXPECT_EQ(used->len, 64u);
  EXPECT_EQ(ram.read(buf, 64), std::vector<std::byte>(64, std::byte{0xab}));
  EXPECT_EQ(transport->interrupt_status() & kInterruptUsedRing, kInterruptUsedRing);
  EXPECT_EQ(thread->notifies(), 1u);
  // The transport records the interrupt before raising it: a guest woken by
  // the irqfd always reads the bit.
  MmioDriver driver(*transport);
  EXPECT_EQ(driver.read32(kMmioInterruptStatus), kInterruptUsedRing);
  driver.write32(kMmioInterruptAck, kInterruptUsedRing);
  EXPECT_EQ(transport->interrupt_status(), 0u);
}

TEST_F(DeviceThreadTest, InterruptRegistersDoNotWaitForABusyDevice) {
  device->hold();
  q.add_chain({{ram.alloc(8), 8, true}});
  notify_fd.signal();
  ASSERT_TRUE(device->wait_entered(1));
  // The device thread now holds the transport inside queue_notify; the
  // guest's interrupt handler must still get through.
  auto status = std::async(std::launch::async, [this] {
    MmioDriver driver(*transport);
    const std::uint32_t s = driver.read32(kMmioInterruptStatus);
    driver.write32(kMmioInterruptAck, s);
    return s;
  });
  ASSERT_EQ(status.wait_for(std::chrono::milliseconds(kHangGuardMs)), std::future_status::ready)
      << "INTERRUPT_STATUS read blocked behind the device";
  EXPECT_EQ(status.get(), 0u);
  device->release();
  ASSERT_TRUE(irq_fd.wait());
}

TEST_F(DeviceThreadTest, ResetWhileBusyWaitsForTheRequestThenStopsTheDevice) {
  const int resets_before = device->resets();  // initialise() starts with a reset
  device->hold();
  const std::uint64_t buf = ram.alloc(32);
  q.add_chain({{buf, 32, true}});
  notify_fd.signal();
  ASSERT_TRUE(device->wait_entered(1));
  // The guest resets the device from a vCPU while the request is in flight.
  auto reset =
      std::async(std::launch::async, [this] { MmioDriver(*transport).write32(kMmioStatus, 0); });
  EXPECT_EQ(reset.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout)
      << "reset must wait for the device call in progress";
  device->release();
  ASSERT_EQ(reset.wait_for(std::chrono::milliseconds(kHangGuardMs)), std::future_status::ready);
  EXPECT_EQ(device->resets(), resets_before + 1);
  EXPECT_EQ(q.pop_used()->len, 32u);  // the request in flight completed
  EXPECT_FALSE(transport->activated());
  // A notify after the reset reaches the loop but not the device.
  q.add_chain({{ram.alloc(8), 8, true}});
  notify_fd.signal();
  for (int i = 0; i < kHangGuardMs && thread->notifies() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(thread->notifies(), 2u);
  ASSERT_TRUE(thread->stop(std::chrono::milliseconds(kHangGuardMs)));
  EXPECT_EQ(device->notifies(), 1);
  EXPECT_FALSE(q.pop_used());
}

TEST_F(DeviceThreadTest, ResampleEventRunsTheCallbackOnTheLoop) {
  resample_fd.signal();
  for (int i = 0; i < kHangGuardMs && resamples.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(resamples.load(), 1);
  EXPECT_FALSE(resample_fd.readable()) << "the loop must drain the resample eventfd";
}

TEST_F(DeviceThreadTest, StopIsBoundedWhileTheDeviceIsStuck) {
  device->hold();
  q.add_chain({{ram.alloc(8), 8, true}});
  notify_fd.signal();
  ASSERT_TRUE(device->wait_entered(1));
  EXPECT_FALSE(thread->stop(std::chrono::milliseconds(20)));
  device->release();
  EXPECT_TRUE(thread->stop(std::chrono::milliseconds(kHangGuardMs)));
}

TEST(DeviceThreadStartTest, RefusesAnUnwatchableFd) {
  FakeGuestRam ram{1 << 16};
  MmioTransport transport(std::make_unique<FillDevice>(), ram.memory(),
                          MmioTransport::IrqCallbacks{[] {}, {}});
  DeviceThread::Options o;
  o.queue_notify_fds = {987654};  // not an open fd
  EXPECT_FALSE(DeviceThread::start(transport, std::move(o)).has_value());
}

}  // namespace
}  // namespace voidbox::virtio
