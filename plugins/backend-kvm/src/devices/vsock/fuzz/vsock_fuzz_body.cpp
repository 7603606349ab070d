#include "vsock_fuzz_body.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "vsock/vsock_muxer.hpp"

namespace voidbox::kvm::vsock::fuzz {

namespace {

constexpr std::uint64_t kGuestCid = 3;
constexpr int kHostPorts = 4;

// Host listeners at <base>_1 .. <base>_4 so guest REQUESTs can succeed.
struct HostSide {
  std::string base;
  std::array<int, kHostPorts> listeners{};
  HostSide() {
    char tmpl[] = "/tmp/vsock-fuzz-XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    base = std::string(dir ? dir : "/tmp") + "/v.sock";
    for (int i = 0; i < kHostPorts; ++i) {
      const std::string path = base + "_" + std::to_string(i + 1);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::memcpy(addr.sun_path, path.data(), path.size());
      listeners[i] = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      ::bind(listeners[i], reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      ::listen(listeners[i], 64);
    }
  }
  ~HostSide() {
    for (int i = 0; i < kHostPorts; ++i) {
      ::close(listeners[i]);
      ::unlink((base + "_" + std::to_string(i + 1)).c_str());
    }
    ::rmdir(base.substr(0, base.rfind('/')).c_str());
  }
  HostSide(const HostSide&) = delete;
  HostSide& operator=(const HostSide&) = delete;
  // Accepts and closes what connected, so the backlogs never fill up.
  void drain() {
    for (int fd : listeners) {
      for (int c; (c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) ::close(c);
    }
  }
};

HostSide& host() {
  static HostSide h;
  return h;
}

class Input {
 public:
  Input(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  std::size_t remaining() const { return n_ - pos_; }
  std::span<const std::byte> take(std::size_t n) {
    n = std::min(n, remaining());
    auto s = std::as_bytes(std::span(d_ + pos_, n));
    pos_ += n;
    return s;
  }
  std::uint8_t byte() {
    auto s = take(1);
    return s.empty() ? 0 : static_cast<std::uint8_t>(s[0]);
  }

 private:
  const std::uint8_t* d_;
  std::size_t n_;
  std::size_t pos_ = 0;
};

void check(bool ok) {
  if (!ok) std::abort();
}

bool same_header(const Header& a, const Header& b) {
  return a.src_cid == b.src_cid && a.dst_cid == b.dst_cid && a.src_port == b.src_port &&
         a.dst_port == b.dst_port && a.len == b.len && a.type == b.type && a.op == b.op &&
         a.flags == b.flags && a.buf_alloc == b.buf_alloc && a.fwd_cnt == b.fwd_cnt;
}

}  // namespace

int run_packets(const std::uint8_t* data, std::size_t size) {
  HostSide& h = host();
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  Limits limits;
  limits.buf_alloc = 8192;
  limits.max_connections = 8;
  {
    Muxer mux(kGuestCid, -1, h.base, ep, limits);
    Input in(data, size);
    std::vector<std::byte> rx(kHeaderSize + 1024);
    for (int record = 0; record < 256 && in.remaining() >= 1; ++record) {
      const std::uint8_t ctl = in.byte();
      std::array<std::byte, kHeaderSize> raw{};
      auto hdr_bytes = in.take(kHeaderSize);
      std::copy(hdr_bytes.begin(), hdr_bytes.end(), raw.begin());
      Header hdr = decode_header(raw);
      const std::size_t want = in.byte() * 16u;
      auto payload = in.take(want);
      if (ctl & 1) {
        hdr.src_cid = kGuestCid;
        hdr.dst_cid = kHostCid;
        hdr.type = kTypeStream;
      }
      if (ctl & 2) hdr.dst_port = 1 + hdr.dst_port % kHostPorts;
      if (ctl & 4) hdr.src_port %= 4;
      if (ctl & 8) hdr.len = static_cast<std::uint32_t>(payload.size());
      if (ctl & 16) hdr.op = static_cast<std::uint16_t>(hdr.op % 8);
      // The round trip through the codec must be exact.
      std::array<std::byte, kHeaderSize> again{};
      encode_header(hdr, again);
      check(same_header(decode_header(again), hdr));
      mux.handle_guest_packet(hdr, payload);
      if (ctl & 32) h.drain();
      for (int i = 0; i < 4 && mux.has_rx_work(); ++i) {
        const std::size_t n = mux.fill_rx(rx);
        check(n <= rx.size());
        if (n == 0) continue;
        // Whatever the guest sent, what goes back is a well-formed packet
        // from the host to this guest whose length covers its payload.
        check(n >= kHeaderSize);
        const Header out =
            decode_header(std::span<const std::byte, kHeaderSize>(rx.data(), kHeaderSize));
        check(out.src_cid == kHostCid && out.dst_cid == kGuestCid && out.type == kTypeStream);
        check(kHeaderSize + std::size_t{out.len} == n);
      }
      epoll_event events[8];
      const int ready = ::epoll_wait(ep, events, 8, 0);
      for (int i = 0; i < ready; ++i) mux.handle_event(events[i].data.u64, events[i].events);
      (void)mux.handle_timeouts();
      check(mux.connection_count() <= limits.max_connections);
    }
    // A device reset forgets every connection.
    mux.clear();
    check(mux.connection_count() == 0 && !mux.has_rx_work() && mux.save().empty());
  }
  h.drain();
  ::close(ep);
  return 0;
}

}  // namespace voidbox::kvm::vsock::fuzz
