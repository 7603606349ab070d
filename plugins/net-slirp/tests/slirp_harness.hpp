// Drives a real SlirpTransport the way the VMM would, with a fake device on
// the guest side (it collects what the transport sends and answers ARP for
// the guest's address) and a tiny DNS server on the host's loopback.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "filter/bytes.hpp"
#include "filter/frame_parser.hpp"
#include "test_frames.hpp"
#include "transport/slirp_transport.hpp"
#include "voidbox/sdk/unique_fd.hpp"

namespace voidbox::net::testing {

// Every wait in these tests gives up after this long: a hang guard, not a
// performance bound.
inline constexpr std::chrono::seconds kHangGuard{10};

class FakeDevice {
 public:
  vb_frame_port port{sizeof(vb_frame_port), this, &FakeDevice::receive};
  std::atomic<const vb_frame_port*> transport{nullptr};  // set to answer slirp's ARP
  std::atomic<bool> closed{false};                       // set after destroy: no frame may come
  std::atomic<int> after_close{0};

  // The first frame (in arrival order, from the first not yet consumed)
  // matching `match`, consumed; empty if none came within the hang guard.
  Bytes wait_for(const std::function<bool(const Bytes&)>& match) {
    std::unique_lock lock(mutex_);
    Bytes found;
    cv_.wait_for(lock, kHangGuard, [&] {
      for (auto it = frames_.begin(); it != frames_.end(); ++it) {
        if (match(*it)) {
          found = std::move(*it);
          frames_.erase(it);
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return frames_.size();
  }

 private:
  static vb_status receive(void* ctx, const std::uint8_t* frame, size_t len) {
    auto* self = static_cast<FakeDevice*>(ctx);
    if (self->closed.load()) ++self->after_close;
    Bytes bytes(frame, frame + len);
    // libslirp asks who 10.0.2.15 is before it sends the guest anything
    // new; a guest would answer.
    if (bytes.size() >= 42 && get16(bytes, 12) == 0x0806 && get16(bytes, 20) == 1 &&
        get32(bytes, 38) == kGuestIp) {
      if (const vb_frame_port* peer = self->transport.load()) {
        Bytes reply = arp_reply(bytes);
        peer->send(peer->ctx, reply.data(), reply.size());
      }
    }
    std::lock_guard lock(self->mutex_);
    self->frames_.push_back(std::move(bytes));
    self->cv_.notify_all();
    return VB_OK;
  }
  static Bytes arp_reply(const Bytes& request) {
    Bytes arp(28);
    put16(arp, 0, 1);
    put16(arp, 2, 0x0800);
    arp[4] = 6;
    arp[5] = 4;
    put16(arp, 6, 2);
    std::copy(kGuestMac.begin(), kGuestMac.end(), arp.begin() + 8);
    put32(arp, 14, kGuestIp);
    std::copy(request.begin() + 22, request.begin() + 28, arp.begin() + 18);  // sender MAC
    std::copy(request.begin() + 28, request.begin() + 32, arp.begin() + 24);  // sender IP
    Bytes frame = ethernet(0x0806, arp);
    std::copy(request.begin() + 6, request.begin() + 12, frame.begin());
    return frame;
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Bytes> frames_;
};

// Frame predicates, on frames as the guest receives them.
inline std::optional<ParsedFrame> parsed(const Bytes& frame) {
  auto p = parse_frame(frame);
  if (!p) return std::nullopt;
  return *p;
}
inline bool is_tcp(const Bytes& f, std::uint32_t from, std::uint16_t sport, std::uint16_t dport,
                   std::uint8_t flags) {
  auto p = parsed(f);
  return p && p->tcp && p->ip->source == from && p->tcp->source_port == sport &&
         p->tcp->destination_port == dport && (p->tcp->flags & flags) == flags;
}
inline bool is_udp_from(const Bytes& f, std::uint32_t from, std::uint16_t sport) {
  auto p = parsed(f);
  return p && p->udp && p->ip->source == from && p->udp->source_port == sport;
}

// A tiny authoritative DNS server on 127.0.0.1: "silent.*" gets no answer,
// "gone.*" NXDOMAIN, anything else one A record; "liar.*" first gets a
// forged answer with another query id.
class TinyDnsServer {
 public:
  static constexpr Ipv4 kAnswer = ipv4(203, 0, 113, 7);

  TinyDnsServer() {
    socket_.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(socket_.get(), reinterpret_cast<sockaddr*>(&in), sizeof in);
    socklen_t len = sizeof in;
    ::getsockname(socket_.get(), reinterpret_cast<sockaddr*>(&in), &len);
    port = ntohs(in.sin_port);
    stop_.reset(::eventfd(0, EFD_CLOEXEC));
    thread_ = std::thread([this] { run(); });
  }
  ~TinyDnsServer() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stop_.get(), &one, sizeof one);
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }

  std::uint16_t port = 0;
  std::atomic<int> queries{0};
  std::mutex names_mutex;
  std::vector<std::string> names;

 private:
  void run() {
    pollfd fds[2] = {{socket_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    while (::poll(fds, 2, -1) > 0 && fds[1].revents == 0) {
      std::uint8_t buf[1500];
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      const ssize_t n =
          ::recvfrom(socket_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len);
      if (n < 12) continue;
      ++queries;
      // The question: labels from offset 12 up to the zero byte, plus 4.
      std::size_t at = 12;
      std::string name;
      while (at < static_cast<std::size_t>(n) && buf[at] != 0) {
        if (!name.empty()) name += '.';
        name.append(reinterpret_cast<const char*>(buf + at + 1), buf[at]);
        at += 1 + buf[at];
      }
      at += 5;
      {
        std::lock_guard lock(names_mutex);
        names.push_back(name);
      }
      if (name.starts_with("silent.")) continue;
      Bytes reply(buf, buf + at);
      const bool gone = name.starts_with("gone.");
      put16(reply, 2, 0x8180 | (gone ? 3 : 0));
      put16(reply, 6, gone ? 0 : 1);
      put16(reply, 8, 0);
      put16(reply, 10, 0);
      if (!gone)
        reply.insert(reply.end(), {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, 7});
      ::sendto(socket_.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer),
               len);
    }
  }
  sdk::UniqueFd socket_;
  sdk::UniqueFd stop_;
  std::thread thread_;
};

// A listening TCP socket on 127.0.0.1 with a free port.
struct HostListener {
  sdk::UniqueFd fd;
  std::uint16_t port = 0;
  HostListener() {
    fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd.get(), reinterpret_cast<sockaddr*>(&in), sizeof in);
    ::listen(fd.get(), 4);
    socklen_t len = sizeof in;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&in), &len);
    port = ntohs(in.sin_port);
  }
  // True if a connection arrived within the hang guard.
  bool accept_one() {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(kHangGuard.count() * 1000)) != 1) return false;
    sdk::UniqueFd conn(::accept4(fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    return conn.valid();
  }
};

struct TransportHarness {
  FakeDevice device;
  std::unique_ptr<SlirpTransport> transport;

  // Creates and starts; the test fails (and `transport` stays null) on error.
  void start(const std::string& config) {
    auto made = SlirpTransport::create(config, device.port);
    ASSERT_TRUE(made) << made.error().message;
    transport = std::move(*made);
    device.transport = transport->port();
    auto started = transport->start();
    ASSERT_TRUE(started) << started.error().message;
  }
  vb_status send(const Bytes& frame) {
    const vb_frame_port* p = transport->port();
    return p->send(p->ctx, frame.data(), frame.size());
  }
  boost::json::object describe() { return boost::json::parse(transport->describe()).as_object(); }
  std::uint64_t counter(const char* name) {
    return describe().at("counters").at(name).to_number<std::uint64_t>();
  }
  // Waits until `done` holds for describe(), or the hang guard runs out.
  bool wait_describe(const std::function<bool(const boost::json::object&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + kHangGuard;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done(describe())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  // The guest announces itself, as its first ARP request would.
  void introduce_guest() {
    ASSERT_EQ(send(arp_request_frame(kGatewayAddress)), VB_OK);
    Bytes reply = device.wait_for([](const Bytes& f) {
      return f.size() >= 42 && get16(f, 12) == 0x0806 && get16(f, 20) == 2;
    });
    ASSERT_FALSE(reply.empty()) << "no ARP reply for 10.0.2.2";
  }
};

}  // namespace voidbox::net::testing
