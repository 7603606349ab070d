#include "vsock/vsock_device.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <string>
#include <thread>

#include "vsock_harness.hpp"

namespace voidbox::kvm::vsock {
namespace {

using testing::connect_unix;
using testing::listen_unix;
using testing::read_exact;
using testing::read_line;
using testing::VsockHarness;

constexpr std::uint32_t kGuestPort = 1234;

// Host client connects to guest port 1234; returns the client fd and the
// host port the device chose.
std::pair<int, std::uint32_t> open_host_connection(VsockHarness& h) {
  const int fd = connect_unix(h.path());
  EXPECT_GE(fd, 0);
  const std::string line = "CONNECT " + std::to_string(kGuestPort) + "\n";
  EXPECT_EQ(::write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  auto req = h.recv_op(Op::kRequest);
  EXPECT_TRUE(req);
  if (!req) return {fd, 0};
  EXPECT_EQ(req->header.src_cid, kHostCid);
  EXPECT_EQ(req->header.dst_cid, testing::kGuestCid);
  EXPECT_EQ(req->header.dst_port, kGuestPort);
  const std::uint32_t host_port = req->header.src_port;
  h.send(h.header(Op::kResponse, kGuestPort, host_port));
  EXPECT_EQ(read_line(fd), "OK " + std::to_string(host_port) + "\n");
  return {fd, host_port};
}

TEST(VsockDeviceTest, HostInitiatedConnectionCarriesDataBothWays) {
  VsockHarness h;
  auto [fd, port] = open_host_connection(h);
  ASSERT_NE(port, 0u);

  ASSERT_EQ(::write(fd, "ping", 4), 4);
  auto data = h.recv_op(Op::kRw);
  ASSERT_TRUE(data);
  EXPECT_EQ(data->text(), "ping");
  EXPECT_EQ(data->header.len, 4u);
  EXPECT_EQ(data->header.buf_alloc, 256u * 1024);

  h.send(h.header(Op::kRw, kGuestPort, port), "pong");
  EXPECT_EQ(read_exact(fd, 4), "pong");
  ::close(fd);
}

TEST(VsockDeviceTest, GuestInitiatedConnectionReachesHostListener) {
  VsockHarness h;
  const int listener = listen_unix(h.path() + "_5000");
  h.send(h.header(Op::kRequest, 40000, 5000));
  auto resp = h.recv();
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->header.op, static_cast<std::uint16_t>(Op::kResponse));
  EXPECT_EQ(resp->header.src_port, 5000u);
  EXPECT_EQ(resp->header.dst_port, 40000u);
  const int fd = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(fd, 0);

  h.send(h.header(Op::kRw, 40000, 5000), "hello host");
  EXPECT_EQ(read_exact(fd, 10), "hello host");
  ASSERT_EQ(::write(fd, "hi guest", 8), 8);
  auto data = h.recv_op(Op::kRw);
  ASSERT_TRUE(data);
  EXPECT_EQ(data->text(), "hi guest");

  // The guest closes both ways: the device answers RST and closes the host side.
  auto shut = h.header(Op::kShutdown, 40000, 5000);
  shut.flags = kShutdownRcv | kShutdownSend;
  h.send(shut);
  auto rst = h.recv_op(Op::kRst);
  ASSERT_TRUE(rst);
  EXPECT_EQ(read_exact(fd, 1), "");  // EOF
  ::close(fd);
  ::close(listener);
}

TEST(VsockDeviceTest, GuestConnectToClosedHostPortIsReset) {
  VsockHarness h;
  h.send(h.header(Op::kRequest, 40001, 6000));
  auto p = h.recv();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->header.op, static_cast<std::uint16_t>(Op::kRst));
  EXPECT_EQ(p->header.dst_port, 40001u);
}

TEST(VsockDeviceTest, GuestRefusingHostConnectionClosesClient) {
  VsockHarness h;
  const int fd = connect_unix(h.path());
  ASSERT_EQ(::write(fd, "CONNECT 99\n", 11), 11);
  auto req = h.recv_op(Op::kRequest);
  ASSERT_TRUE(req);
  h.send(h.header(Op::kRst, 99, req->header.src_port));
  EXPECT_EQ(read_exact(fd, 1), "");
  ::close(fd);
}

TEST(VsockDeviceTest, BadConnectLineClosesClient) {
  VsockHarness h;
  const int fd = connect_unix(h.path());
  ASSERT_EQ(::write(fd, "HELLO 1\n", 8), 8);
  EXPECT_EQ(read_exact(fd, 1), "");
  ::close(fd);
  EXPECT_FALSE(h.recv(std::chrono::milliseconds(100)));
}

TEST(VsockDeviceTest, HostDataRespectsGuestCredit) {
  VsockHarness h;
  h.guest_buf_alloc = 8192;
  auto [fd, port] = open_host_connection(h);
  const std::string blob(20000, 'x');
  ASSERT_EQ(::write(fd, blob.data(), blob.size()), static_cast<ssize_t>(blob.size()));
  std::size_t received = 0;
  // Wait for the credit's worth, then make sure nothing more follows.
  auto drain = [&](std::size_t want) {
    while (received < want) {
      auto p = h.recv();
      if (!p) break;
      if (p->header.op == static_cast<std::uint16_t>(Op::kRw)) received += p->payload.size();
    }
    while (auto p = h.recv(std::chrono::milliseconds(300))) {
      if (p->header.op == static_cast<std::uint16_t>(Op::kRw)) received += p->payload.size();
    }
  };
  drain(8192);
  EXPECT_EQ(received, 8192u);  // exactly the credit, no more

  h.guest_fwd_cnt = 8192;  // the guest consumed it all
  h.send(h.header(Op::kCreditUpdate, kGuestPort, port));
  drain(16384);
  EXPECT_EQ(received, 16384u);
  ::close(fd);
}

TEST(VsockDeviceTest, CreditRequestGetsCreditUpdate) {
  VsockHarness h;
  auto [fd, port] = open_host_connection(h);
  h.send(h.header(Op::kCreditRequest, kGuestPort, port));
  auto p = h.recv_op(Op::kCreditUpdate);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->header.buf_alloc, 256u * 1024);
  EXPECT_EQ(p->header.fwd_cnt, 0u);
  ::close(fd);
}

TEST(VsockDeviceTest, GuestIgnoringCreditIsReset) {
  Limits limits;
  limits.buf_alloc = 16 * 1024;
  VsockHarness h(limits);
  auto [fd, port] = open_host_connection(h);
  // The host client never reads; the guest keeps sending regardless of credit.
  const std::string chunk(4096, 'y');
  bool reset = false;
  for (int i = 0; i < 1024 && !reset; ++i) {
    h.send(h.header(Op::kRw, kGuestPort, port), chunk);
    while (auto p = h.recv(std::chrono::milliseconds(0))) {
      if (p->header.op == static_cast<std::uint16_t>(Op::kRst)) reset = true;
    }
  }
  if (!reset) reset = h.recv_op(Op::kRst).has_value();
  EXPECT_TRUE(reset);
  EXPECT_EQ(h.device().stats().muxer.credit_violations, 1u);
  EXPECT_EQ(h.device().save_state().connections.size(), 0u);
  ::close(fd);
}

TEST(VsockDeviceTest, HostCloseSendsRst) {
  VsockHarness h;
  auto [fd, port] = open_host_connection(h);
  ::close(fd);
  auto p = h.recv_op(Op::kRst);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->header.src_port, port);
  EXPECT_EQ(p->header.dst_port, kGuestPort);
}

TEST(VsockDeviceTest, HostHalfCloseSendsShutdownAndStillDelivers) {
  VsockHarness h;
  auto [fd, port] = open_host_connection(h);
  ::shutdown(fd, SHUT_WR);
  auto p = h.recv_op(Op::kShutdown);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->header.flags, kShutdownSend);
  h.send(h.header(Op::kRw, kGuestPort, port), "still here");
  EXPECT_EQ(read_exact(fd, 10), "still here");
  ::close(fd);
}

TEST(VsockDeviceTest, MalformedPacketsAreDropped) {
  VsockHarness h;
  auto [fd, port] = open_host_connection(h);
  auto wrong_dst = h.header(Op::kRw, kGuestPort, port);
  wrong_dst.dst_cid = 7;
  h.send(wrong_dst, "a");
  auto wrong_src = h.header(Op::kRw, kGuestPort, port);
  wrong_src.src_cid = 4;
  h.send(wrong_src, "b");
  auto bad_op = h.header(Op::kRw, kGuestPort, port);
  bad_op.op = 99;
  h.send(bad_op, "c");
  auto bad_type = h.header(Op::kRw, kGuestPort, port);
  bad_type.type = 2;
  h.send(bad_type, "d");
  auto long_len = h.header(Op::kRw, kGuestPort, port);
  long_len.len = 1000;  // more than the chain carries
  h.send_raw(long_len, "e");
  auto huge_len = h.header(Op::kRw, kGuestPort, port);
  huge_len.len = 0xffffffff;
  h.send_raw(huge_len, "f");
  EXPECT_FALSE(h.recv(std::chrono::milliseconds(200)));
  const auto stats = h.device().stats();
  EXPECT_EQ(stats.muxer.malformed_dropped, 4u);
  EXPECT_EQ(stats.tx_malformed, 2u);
  EXPECT_EQ(h.irq().needs_reset, 0);
  // The connection still works and none of the dropped bytes reached the host.
  h.send(h.header(Op::kRw, kGuestPort, port), "ok");
  EXPECT_EQ(read_exact(fd, 2), "ok");
  ::close(fd);
}

TEST(VsockDeviceTest, DataToUnknownConnectionGetsRst) {
  VsockHarness h;
  h.send(h.header(Op::kRw, 1, 2), "zzz");
  auto p = h.recv();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->header.op, static_cast<std::uint16_t>(Op::kRst));
}

TEST(VsockDeviceTest, BulkTransferBothWaysWithCreditUpdates) {
  VsockHarness h;
  auto [fd, port] = open_host_connection(h);
  std::mt19937 rng(42);
  std::string out(2 << 20, '\0');
  for (auto& c : out) c = static_cast<char>(rng());

  // Host -> guest: the guest returns credit as it consumes.
  std::thread writer([&, fd = fd] {
    std::size_t off = 0;
    while (off < out.size()) {
      const ssize_t n = ::write(fd, out.data() + off, out.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
  });
  std::string got;
  while (got.size() < out.size()) {
    auto p = h.recv();
    if (!p) break;
    if (p->header.op != static_cast<std::uint16_t>(Op::kRw)) continue;
    EXPECT_LE(p->payload.size(), 4096u);
    got.append(p->text());
    h.guest_fwd_cnt += static_cast<std::uint32_t>(p->payload.size());
    if (h.guest_fwd_cnt % (64 * 1024) < 4096) h.send(h.header(Op::kCreditUpdate, kGuestPort, port));
  }
  writer.join();
  EXPECT_TRUE(got == out);

  // Guest -> host, honouring the host's credit.
  std::string echoed;
  std::thread reader([&, fd = fd] { echoed = read_exact(fd, out.size(), 10000); });
  std::uint32_t host_buf = 256 * 1024, host_fwd = 0, sent = 0;
  std::size_t off = 0;
  while (off < out.size()) {
    const std::uint32_t credit = host_buf - (sent - host_fwd);
    if (credit == 0) {
      h.send(h.header(Op::kCreditRequest, kGuestPort, port));
      auto p = h.recv_op(Op::kCreditUpdate);
      ASSERT_TRUE(p);
      host_buf = p->header.buf_alloc;
      host_fwd = p->header.fwd_cnt;
      continue;
    }
    const std::size_t n = std::min<std::size_t>({4096, credit, out.size() - off});
    h.send(h.header(Op::kRw, kGuestPort, port), std::string_view(out).substr(off, n));
    off += n;
    sent += static_cast<std::uint32_t>(n);
    while (auto p = h.recv(std::chrono::milliseconds(0))) {
      host_buf = p->header.buf_alloc;
      host_fwd = p->header.fwd_cnt;
    }
  }
  reader.join();
  EXPECT_TRUE(echoed == out);
  EXPECT_EQ(h.device().stats().muxer.credit_violations, 0u);
  ::close(fd);
}

TEST(VsockDeviceTest, ResetClosesHostConnections) {
  VsockHarness h;
  auto [fd, port] = open_host_connection(h);
  EXPECT_EQ(h.device().save_state().connections.size(), 1u);
  h.device().reset();
  EXPECT_EQ(read_exact(fd, 1), "");
  ::close(fd);
}

TEST(VsockDeviceTest, ConfigSpaceHoldsGuestCid) {
  VsockHarness h;
  std::byte cid[8];
  h.device().read_config(0, cid);
  EXPECT_EQ(virtio::GuestMemory::load_le<std::uint64_t>(cid), testing::kGuestCid);
  EXPECT_EQ(h.device().device_type(), 19u);
  EXPECT_EQ(h.device().queue_max_sizes().size(), 3u);
}

}  // namespace
}  // namespace voidbox::kvm::vsock
