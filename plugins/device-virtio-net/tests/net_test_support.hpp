// What the virtio-net tests share: a fake peer (a transport's port), a
// driver-side harness (fake guest RAM, rx and tx queues, the MMIO transport
// around a NetDevice), and frame builders whose checksums come from an
// independent byte-wise one's-complement sum.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "net_device.hpp"
#include "voidbox/virtio/mmio_transport.hpp"
#include "voidbox/virtio/testing/fake_driver.hpp"
#include "voidbox/virtio/testing/mmio_driver.hpp"

namespace voidbox::net::testing {

using Bytes = std::vector<std::byte>;
using virtio::testing::FakeBuffer;
using virtio::testing::FakeGuestRam;
using virtio::testing::FakeQueue;
using virtio::testing::MmioDriver;

// Collects what the device sends; `refuse` makes it act like a full wire.
class FakePeer {
 public:
  FakePeer() : port_{sizeof(vb_frame_port), this, &FakePeer::send} {}
  const vb_frame_port* port() const { return &port_; }
  std::vector<Bytes> frames() {
    std::lock_guard lock(mutex_);
    return frames_;
  }
  bool refuse = false;

 private:
  static vb_status send(void* ctx, const std::uint8_t* frame, std::size_t len) {
    auto* self = static_cast<FakePeer*>(ctx);
    std::lock_guard lock(self->mutex_);
    if (self->refuse) return VB_ERR_IO;
    const auto* p = reinterpret_cast<const std::byte*>(frame);
    self->frames_.emplace_back(p, p + len);
    return VB_OK;
  }
  vb_frame_port port_;
  std::mutex mutex_;
  std::vector<Bytes> frames_;
};

inline constexpr std::uint64_t kAllFeatures = ~0ull;

struct NetHarness {
  FakeGuestRam ram{4 << 20};
  FakeQueue rxq{ram, 256};
  FakeQueue txq{ram, 256};
  NetDevice* dev = nullptr;  // owned by the transport
  std::unique_ptr<virtio::MmioTransport> transport;
  std::unique_ptr<MmioDriver> driver;
  std::atomic<int> irqs{0};

  explicit NetHarness(const std::string& json = "{}") {
    auto made = NetDevice::create(json);
    if (!made) throw std::runtime_error(made.error());
    dev = made->get();
    transport = std::make_unique<virtio::MmioTransport>(
        std::move(*made), ram.memory(),
        virtio::MmioTransport::IrqCallbacks{[this] { ++irqs; }, {}});
    driver = std::make_unique<MmioDriver>(*transport);
  }
  // Negotiates `features` (minus EVENT_IDX unless asked: simpler to count
  // interrupts without it) and sets DRIVER_OK.
  bool start(std::uint64_t features = kAllFeatures & ~virtio::kFeatureEventIdx) {
    FakeQueue* queues[] = {&rxq, &txq};
    return driver->initialise(features, queues);
  }
  bool needs_reset() {
    return (driver->read32(virtio::kMmioStatus) & virtio::kStatusNeedsReset) != 0;
  }

  // One tx chain: the header then the frame, split into `pieces` descriptors.
  std::uint16_t send_tx(const NetHdr& hdr, std::span<const std::byte> frame, int pieces = 1) {
    const std::uint64_t h = ram.alloc(kNetHdrSize);
    std::array<std::byte, kNetHdrSize> raw;
    encode_hdr(hdr, raw);
    ram.write(h, raw);
    std::vector<FakeBuffer> bufs{{h, static_cast<std::uint32_t>(kNetHdrSize), false}};
    std::size_t at = 0;
    for (int i = 0; i < pieces; ++i) {
      const std::size_t n = i + 1 == pieces ? frame.size() - at : frame.size() / pieces;
      const std::uint64_t b = ram.alloc(std::max<std::size_t>(n, 1));
      ram.write(b, frame.subspan(at, n));
      bufs.push_back({b, static_cast<std::uint32_t>(n), false});
      at += n;
    }
    return txq.add_chain(bufs);
  }
  // Posts `count` rx buffers of `size` writable bytes; returns their addresses.
  std::vector<std::uint64_t> post_rx(int count, std::uint32_t size) {
    std::vector<std::uint64_t> out;
    for (int i = 0; i < count; ++i) {
      out.push_back(ram.alloc(size));
      rxq.add_chain({{out.back(), size, true}});
    }
    return out;
  }
  vb_status inject(std::span<const std::byte> frame) {
    const vb_frame_port* port = dev->frame_port();
    return port->send(port->ctx, reinterpret_cast<const std::uint8_t*>(frame.data()), frame.size());
  }
};

// Byte-wise, big-endian one's-complement sum (RFC 1071's definition).
inline std::uint32_t ref_sum(std::span<const std::byte> d, std::uint32_t acc = 0) {
  for (std::size_t i = 0; i < d.size(); i += 2) {
    const unsigned hi = std::to_integer<unsigned>(d[i]);
    const unsigned lo = i + 1 < d.size() ? std::to_integer<unsigned>(d[i + 1]) : 0;
    acc += (hi << 8) | lo;
    acc = (acc & 0xffff) + (acc >> 16);
  }
  return acc;
}
inline std::uint16_t ref_fold(std::uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<std::uint16_t>(acc);
}
inline std::uint16_t get_be16(const Bytes& b, std::size_t at) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(b[at]) << 8) |
                                    std::to_integer<unsigned>(b[at + 1]));
}
inline std::uint32_t get_be32(const Bytes& b, std::size_t at) {
  return (std::uint32_t{get_be16(b, at)} << 16) | get_be16(b, at + 2);
}
inline void set_be16(Bytes& b, std::size_t at, std::uint32_t v) {
  b[at] = static_cast<std::byte>(v >> 8);
  b[at + 1] = static_cast<std::byte>(v);
}

inline Bytes pattern(std::size_t n, unsigned seed = 1) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i * 131 + seed * 7) >> 1);
  return out;
}

// Ethernet + IPv4 (no options) + a transport header of `l4_len` bytes, then
// `payload`. Checksums are left zero.
inline Bytes ipv4_frame(std::uint8_t proto, std::size_t l4_len,
                        std::span<const std::byte> payload) {
  Bytes f(14 + 20 + l4_len);
  const std::uint8_t head[] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x52,
                               0x55, 0x0a, 0x00, 0x02, 0x02, 0x08, 0x00};
  for (std::size_t i = 0; i < sizeof head; ++i) f[i] = std::byte{head[i]};
  f[14] = std::byte{0x45};
  set_be16(f, 16, static_cast<std::uint32_t>(20 + l4_len + payload.size()));
  set_be16(f, 18, 0x1234);  // id
  set_be16(f, 20, 0x4000);  // DF
  f[22] = std::byte{64};
  f[23] = std::byte{proto};
  const std::uint8_t addrs[] = {10, 0, 2, 15, 93, 184, 216, 34};
  for (std::size_t i = 0; i < sizeof addrs; ++i) f[26 + i] = std::byte{addrs[i]};
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

// The pseudo-header sum of an IPv4 frame's transport segment.
inline std::uint32_t pseudo_sum(const Bytes& f) {
  const std::size_t l4_len = get_be16(f, 16) - 20u;
  Bytes ph(f.begin() + 26, f.begin() + 34);
  ph.push_back(std::byte{0});
  ph.push_back(f[23]);
  ph.push_back(static_cast<std::byte>(l4_len >> 8));
  ph.push_back(static_cast<std::byte>(l4_len));
  return ref_sum(ph);
}

// Whether the transport checksum of an IPv4 frame verifies.
inline bool l4_csum_ok(const Bytes& f) {
  const std::size_t l4_len = get_be16(f, 16) - 20u;
  return ref_fold(ref_sum({f.data() + 34, l4_len}, pseudo_sum(f))) == 0xffff;
}
inline bool ip_csum_ok(const Bytes& f) {
  return ref_fold(ref_sum({f.data() + 14, 20})) == 0xffff;
}

}  // namespace voidbox::net::testing
