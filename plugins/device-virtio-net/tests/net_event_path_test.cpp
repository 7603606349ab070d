// virtio-net on voidbox-vmm's event path, without KVM: a DeviceThread woken
// through real eventfds (where KVM's ioeventfds would be) runs TX on its own
// thread into the peer, and frames a "transport thread" hands in while the
// ring is empty are delivered from the backlog when the guest's rx notify
// arrives; each interrupt comes through an eventfd (where the irqfd would be).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <thread>

#include "net_test_support.hpp"
#include "voidbox/virtio/device_thread.hpp"

namespace voidbox::net {
namespace {

using namespace testing;

class EventFd {
 public:
  EventFd() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~EventFd() { ::close(fd_); }
  int fd() const { return fd_; }
  void signal() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd_, &one, 8);
  }
  // Waits (10 s hang guard) and drains the counter.
  bool wait() const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 10'000) != 1) return false;
    std::uint64_t v;
    return ::read(fd_, &v, 8) == 8;
  }

 private:
  int fd_;
};

TEST(NetEventPathTest, TxOnTheDeviceThreadAndRxFromAnotherThread) {
  auto made = NetDevice::create("{}");
  ASSERT_TRUE(made) << made.error();
  NetDevice* dev = made->get();
  FakePeer peer;
  dev->set_peer(peer.port());
  FakeGuestRam ram{1 << 20};
  FakeQueue rxq{ram, 64}, txq{ram, 64};
  EventFd notify_rx, notify_tx, irq;
  virtio::MmioTransport transport(std::move(*made), ram.memory(),
                                  virtio::MmioTransport::IrqCallbacks{[&] { irq.signal(); }, {}});
  MmioDriver driver(transport);
  FakeQueue* queues[] = {&rxq, &txq};
  ASSERT_TRUE(driver.initialise(kAllFeatures, queues));
  virtio::DeviceThread::Options o;
  o.queue_notify_fds = {notify_rx.fd(), notify_tx.fd()};
  o.name = "dev-net";
  auto thread = virtio::DeviceThread::start(transport, std::move(o));
  ASSERT_TRUE(thread) << thread.error();

  const Bytes out = pattern(900);
  const std::uint64_t h = ram.alloc(kNetHdrSize), b = ram.alloc(out.size());
  ram.write(b, out);
  txq.add_chain({{h, static_cast<std::uint32_t>(kNetHdrSize), false},
                 {b, static_cast<std::uint32_t>(out.size()), false}});
  notify_tx.signal();
  ASSERT_TRUE(irq.wait()) << "no tx interrupt within the hang guard";
  EXPECT_EQ(peer.frames(), std::vector<Bytes>{out});
  ASSERT_TRUE(txq.pop_used());

  // No rx buffer yet: the frame waits in the backlog.
  const Bytes in = pattern(400, 6);
  vb_status sent = VB_ERR_INTERNAL;
  std::thread transport_thread([&] {
    const vb_frame_port* port = dev->frame_port();
    sent = port->send(port->ctx, reinterpret_cast<const std::uint8_t*>(in.data()), in.size());
  });
  transport_thread.join();
  EXPECT_EQ(sent, VB_OK);
  EXPECT_EQ(dev->counters().rx_backlogged, 1u);
  const std::uint64_t rb = ram.alloc(2048);
  rxq.add_chain({{rb, 2048, true}});
  notify_rx.signal();
  ASSERT_TRUE(irq.wait()) << "no rx interrupt within the hang guard";
  auto used = rxq.pop_used();
  ASSERT_TRUE(used);
  EXPECT_EQ(used->len, kNetHdrSize + in.size());
  EXPECT_EQ(ram.read(rb + kNetHdrSize, in.size()), in);

  ASSERT_TRUE((*thread)->stop(std::chrono::milliseconds(10'000)));
  dev->set_peer(nullptr);
}

}  // namespace
}  // namespace voidbox::net
