// virtio-blk on voidbox-vmm's event path, without KVM: a DeviceThread woken
// through a real eventfd (where KVM's ioeventfd would be) serves a read
// request off the test thread, updates the used ring and raises the
// interrupt through another eventfd (where the irqfd would be).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "blk_device.hpp"
#include "voidbox/virtio/device_thread.hpp"
#include "voidbox/virtio/mmio_transport.hpp"
#include "voidbox/virtio/testing/fake_driver.hpp"
#include "voidbox/virtio/testing/mmio_driver.hpp"

namespace voidbox::blk {
namespace {

using virtio::testing::FakeGuestRam;
using virtio::testing::FakeQueue;
using virtio::testing::MmioDriver;

TEST(BlkEventPathTest, NotifyEventfdServesTheReadOnTheDeviceThread) {
  char tmpl[] = "/tmp/blk-event-test-XXXXXX";
  const int file = ::mkstemp(tmpl);
  ASSERT_GE(file, 0);
  std::vector<std::byte> data(16 * 512);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 3);
  ASSERT_EQ(::write(file, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(file);

  auto dev = BlkDevice::create(std::string("{\"path\":\"") + tmpl + "\"}");
  ::unlink(tmpl);  // the device holds it open
  ASSERT_TRUE(dev) << dev.error();

  FakeGuestRam ram{1 << 20};
  FakeQueue q{ram, 16};
  const int notify_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  const int irq_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  std::thread::id served_on;
  virtio::MmioTransport transport(
      std::move(*dev), ram.memory(),
      virtio::MmioTransport::IrqCallbacks{[&] {
                                            served_on = std::this_thread::get_id();
                                            const std::uint64_t one = 1;
                                            [[maybe_unused]] auto n = ::write(irq_fd, &one, 8);
                                          },
                                          {}});
  MmioDriver driver(transport);
  FakeQueue* queues[] = {&q};
  ASSERT_TRUE(driver.initialise(virtio::kFeatureVersion1, queues));
  virtio::DeviceThread::Options o;
  o.queue_notify_fds = {notify_fd};
  auto thread = virtio::DeviceThread::start(transport, std::move(o));
  ASSERT_TRUE(thread) << thread.error();

  // A 2-sector read at sector 4 into two scattered buffers.
  const std::uint64_t hdr = ram.alloc(16), a = ram.alloc(700), b = ram.alloc(324),
                      status = ram.alloc(1);
  ram.put<std::uint32_t>(hdr, 0);  // VIRTIO_BLK_T_IN
  ram.put<std::uint64_t>(hdr + 8, 4);
  ram.put<std::uint8_t>(status, 0xff);
  const std::uint16_t head =
      q.add_chain({{hdr, 16, false}, {a, 700, true}, {b, 324, true}, {status, 1, true}});
  const std::uint64_t one = 1;
  ASSERT_EQ(::write(notify_fd, &one, 8), 8);

  pollfd p{irq_fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10'000), 1) << "no interrupt within the hang guard";
  EXPECT_NE(served_on, std::this_thread::get_id());
  auto used = q.pop_used();
  ASSERT_TRUE(used);
  EXPECT_EQ(used->id, head);
  EXPECT_EQ(used->len, 1025u);
  EXPECT_EQ(ram.get<std::uint8_t>(status), 0);
  auto got = ram.read(a, 700);
  auto rest = ram.read(b, 324);
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got, std::vector<std::byte>(data.begin() + 4 * 512, data.begin() + 6 * 512));
  EXPECT_EQ(driver.read32(virtio::kMmioInterruptStatus), virtio::kInterruptUsedRing);

  ASSERT_TRUE((*thread)->stop(std::chrono::milliseconds(10'000)));
  ::close(notify_fd);
  ::close(irq_fd);
}

}  // namespace
}  // namespace voidbox::blk
