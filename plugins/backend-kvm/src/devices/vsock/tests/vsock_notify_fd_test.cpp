// The vsock device waiting on adopted queue-notify eventfds (what voidbox-vmm
// hands it on the event path: its KVM ioeventfds) instead of queue_notify().
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vsock_harness.hpp"

namespace voidbox::kvm::vsock {
namespace {

using testing::connect_unix;
using testing::CountingInterrupt;
using testing::FakeGuestRam;
using testing::FakeQueue;
using testing::read_line;

TEST(VsockNotifyFdTest, GuestPacketIsServedWhenItsNotifyEventfdFires) {
  const std::string dir = testing::make_temp_dir();
  const std::string path = dir + "/v.sock";
  auto dev = VsockDevice::create({testing::kGuestCid, path, {}, 64});
  ASSERT_TRUE(dev) << dev.error();
  int fds[3];
  for (int& fd : fds) fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_TRUE((*dev)->adopt_notify_fds(fds));
  EXPECT_FALSE((*dev)->adopt_notify_fds(fds)) << "adopting twice must be refused";

  FakeGuestRam ram(2 << 20);
  FakeQueue rxq(ram, 64), txq(ram, 64), evq(ram, 4);
  const std::uint64_t rx_buf = ram.alloc(testing::kRxBufSize);
  rxq.add_chain({{rx_buf, testing::kRxBufSize, true}});
  CountingInterrupt irq;
  const virtio::GuestMemory memory = ram.memory();
  virtio::QueueConfig qs[] = {rxq.config(), txq.config(), evq.config()};
  ASSERT_TRUE((*dev)->activate({memory, qs, virtio::kFeatureVersion1, irq}));

  // A host client asks for guest port 1234: the device puts a REQUEST on rx
  // (socket-driven, no notify needed).
  const int client = connect_unix(path);
  ASSERT_GE(client, 0);
  const std::string hello = "CONNECT 1234\n";
  ASSERT_EQ(::write(client, hello.data(), hello.size()), static_cast<ssize_t>(hello.size()));
  std::optional<virtio::testing::UsedElem> used;
  for (int i = 0; i < 10'000 && !(used = rxq.pop_used()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(used) << "no REQUEST within the hang guard";
  std::vector<std::byte> raw = ram.read(rx_buf, kHeaderSize);
  const Header req =
      decode_header(std::span<const std::byte, kHeaderSize>(raw.data(), kHeaderSize));
  ASSERT_EQ(req.op, static_cast<std::uint16_t>(Op::kRequest));

  // The guest answers on tx and notifies through the tx eventfd only.
  Header resp;
  resp.src_cid = testing::kGuestCid;
  resp.dst_cid = kHostCid;
  resp.src_port = 1234;
  resp.dst_port = req.src_port;
  resp.op = static_cast<std::uint16_t>(Op::kResponse);
  resp.buf_alloc = 64 * 1024;
  std::byte hdr[kHeaderSize];
  encode_header(resp, hdr);
  const std::uint64_t slot = ram.alloc(kHeaderSize);
  ram.write(slot, hdr);
  txq.add_chain({{slot, static_cast<std::uint32_t>(kHeaderSize), false}});
  const std::uint64_t one = 1;
  ASSERT_EQ(::write(fds[VsockDevice::kTxQueue], &one, sizeof one), 8);
  EXPECT_EQ(read_line(client), "OK " + std::to_string(req.src_port) + "\n");

  ::close(client);
  dev->reset();
  for (int fd : fds) ::close(fd);
  std::string cmd = "rm -rf " + dir;
  [[maybe_unused]] int rc = std::system(cmd.c_str());
}

}  // namespace
}  // namespace voidbox::kvm::vsock
