// Plays the guest's virtio-vsock driver against a VsockDevice, over fake
// guest RAM, and the host's Unix-socket clients.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "voidbox/virtio/testing/fake_driver.hpp"
#include "vsock/vsock_device.hpp"

namespace voidbox::kvm::vsock::testing {

using virtio::testing::FakeGuestRam;
using virtio::testing::FakeQueue;

inline constexpr std::uint64_t kGuestCid = 3;
inline constexpr std::uint32_t kRxBufSize = kHeaderSize + 4096;
inline constexpr std::uint32_t kTxSlotSize = kHeaderSize + 4096;

struct CountingInterrupt final : virtio::Interrupt {
  std::mutex m;
  std::condition_variable cv;
  int used = 0;
  int needs_reset = 0;
  void signal_used_queue(std::uint16_t) override {
    std::lock_guard l(m);
    ++used;
    cv.notify_all();
  }
  void signal_config_change() override {}
  void signal_needs_reset() override {
    std::lock_guard l(m);
    ++needs_reset;
    cv.notify_all();
  }
};

struct Packet {
  Header header;
  std::vector<std::byte> payload;
  std::string text() const {
    return {reinterpret_cast<const char*>(payload.data()), payload.size()};
  }
};

inline std::string make_temp_dir() {
  char tmpl[] = "/tmp/vsock-test-XXXXXX";
  const char* dir = ::mkdtemp(tmpl);
  return dir ? dir : "/tmp";
}

inline int connect_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline int listen_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::listen(fd, 8);
  return fd;
}

// Reads until `n` bytes or EOF, with a receive timeout.
inline std::string read_exact(int fd, std::size_t n, int timeout_ms = 3000) {
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string out;
  char buf[65536];
  while (out.size() < n) {
    const ssize_t r = ::read(fd, buf, std::min(sizeof(buf), n - out.size()));
    if (r <= 0) break;
    out.append(buf, static_cast<std::size_t>(r));
  }
  return out;
}

inline std::string read_line(int fd) {
  std::string line;
  while (line.empty() || line.back() != '\n') {
    const std::string c = read_exact(fd, 1);
    if (c.empty()) break;
    line += c;
  }
  return line;
}

class VsockHarness {
 public:
  explicit VsockHarness(Limits limits = {}, std::uint64_t features = virtio::kFeatureVersion1)
      : dir_(make_temp_dir()), ram_(8 << 20), rxq_(ram_, 256), txq_(ram_, 256), evq_(ram_, 4) {
    path_ = dir_ + "/v.sock";
    auto dev = VsockDevice::create({kGuestCid, path_, limits, 256});
    if (!dev) throw std::runtime_error(dev.error());
    dev_ = std::move(*dev);
    tx_slots_ = ram_.alloc(std::uint64_t{kTxSlotSize} * 256);
    for (int i = 0; i < 64; ++i) give_rx_buffer(ram_.alloc(kRxBufSize));
    memory_ = ram_.memory();
    virtio::QueueConfig qs[] = {rxq_.config(), txq_.config(), evq_.config()};
    dev_->ack_features(features);
    auto r = dev_->activate({memory_, qs, features, irq_});
    if (!r) throw std::runtime_error(r.error());
  }
  ~VsockHarness() {
    dev_.reset();
    std::string cmd = "rm -rf " + dir_;
    [[maybe_unused]] int rc = std::system(cmd.c_str());
  }

  VsockDevice& device() { return *dev_; }
  const std::string& path() const { return path_; }
  CountingInterrupt& irq() { return irq_; }

  void give_rx_buffer(std::uint64_t gpa) {
    const std::uint16_t head = rxq_.add_chain({{gpa, kRxBufSize, true}});
    rx_bufs_[head] = gpa;
  }

  void send(Header h, std::string_view payload = {}) {
    h.len = static_cast<std::uint32_t>(payload.size());
    send_raw(h, payload);
  }
  // Sends h as is (len not fixed up) followed by `payload`.
  void send_raw(const Header& h, std::string_view payload) {
    // Never overwrite descriptors the device has not returned yet.
    for (int i = 0;
         i < 10000 && static_cast<std::uint16_t>(txq_.avail_idx() - txq_.used_idx()) >= 100; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const std::uint64_t slot = tx_slots_ + std::uint64_t{kTxSlotSize} * (tx_count_++ % 256);
    std::byte raw[kHeaderSize];
    encode_header(h, raw);
    ram_.write(slot, raw);
    ram_.write(slot + kHeaderSize, std::as_bytes(std::span(payload.data(), payload.size())));
    txq_.add_chain({{slot, static_cast<std::uint32_t>(kHeaderSize), false},
                    {slot + kHeaderSize, static_cast<std::uint32_t>(payload.size()), false}});
    dev_->queue_notify(VsockDevice::kTxQueue);
    // Reclaim TX descriptors as the device returns them.
    while (txq_.pop_used()) {
    }
  }

  Header header(Op op, std::uint32_t src_port, std::uint32_t dst_port) const {
    Header h;
    h.src_cid = kGuestCid;
    h.dst_cid = kHostCid;
    h.src_port = src_port;
    h.dst_port = dst_port;
    h.op = static_cast<std::uint16_t>(op);
    h.buf_alloc = guest_buf_alloc;
    h.fwd_cnt = guest_fwd_cnt;
    return h;
  }

  // The next packet the device put on the RX queue, waiting up to `timeout`.
  std::optional<Packet> recv(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto used = rxq_.pop_used()) {
        const std::uint64_t gpa = rx_bufs_.at(static_cast<std::uint16_t>(used->id));
        Packet p;
        std::vector<std::byte> raw = ram_.read(gpa, used->len);
        p.header = decode_header(std::span<const std::byte, kHeaderSize>(raw.data(), kHeaderSize));
        p.payload.assign(raw.begin() + kHeaderSize, raw.end());
        rx_bufs_.erase(static_cast<std::uint16_t>(used->id));
        give_rx_buffer(gpa);
        dev_->queue_notify(VsockDevice::kRxQueue);
        return p;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::unique_lock l(irq_.m);
      irq_.cv.wait_for(l, std::chrono::milliseconds(5));
    }
  }

  // Receives packets until one with `op` arrives (others are returned too).
  std::optional<Packet> recv_op(Op op) {
    while (auto p = recv()) {
      if (p->header.op == static_cast<std::uint16_t>(op)) return p;
    }
    return std::nullopt;
  }

  std::uint32_t guest_buf_alloc = 256 * 1024;
  std::uint32_t guest_fwd_cnt = 0;

 private:
  std::string dir_;
  std::string path_;
  FakeGuestRam ram_;
  FakeQueue rxq_;
  FakeQueue txq_;
  FakeQueue evq_;
  virtio::GuestMemory memory_;
  CountingInterrupt irq_;
  std::unique_ptr<VsockDevice> dev_;
  std::map<std::uint16_t, std::uint64_t> rx_bufs_;
  std::uint64_t tx_slots_ = 0;
  std::uint64_t tx_count_ = 0;
};

}  // namespace voidbox::kvm::vsock::testing
