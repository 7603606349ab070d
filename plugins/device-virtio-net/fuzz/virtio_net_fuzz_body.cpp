#include "virtio_net_fuzz_body.hpp"

#include <array>

#include "fuzz_support.hpp"
#include "net_device.hpp"

namespace voidbox::net::fuzz {

namespace {

using virtio::fuzz::Input;
using virtio::fuzz::kRamBase;
using virtio::fuzz::kRamSize;
using virtio::fuzz::Ram;

class CountingInterrupt final : public virtio::Interrupt {
 public:
  void signal_used_queue(std::uint16_t queue) override { VB_FUZZ_CHECK(queue < 2); }
  void signal_config_change() override {}
  void signal_needs_reset() override {}
};

// A peer that checks what the device may hand to a wire.
struct CheckingPeer {
  std::size_t max_frame = 0;
  std::uint64_t frames = 0;
  vb_frame_port port{sizeof(vb_frame_port), this, &CheckingPeer::send};
  static vb_status send(void* ctx, const std::uint8_t* frame, std::size_t len) {
    auto* self = static_cast<CheckingPeer*>(ctx);
    VB_FUZZ_CHECK(frame != nullptr);
    VB_FUZZ_CHECK(len >= kEthHeader && len <= self->max_frame);
    ++self->frames;
    return VB_OK;
  }
};

// Where a queue's rings go: anywhere in RAM, aligned as activate() wants
// (misaligned ones are covered by the virtqueue fuzzer).
virtio::QueueConfig queue_from(Input& in) {
  virtio::QueueConfig q;
  q.size = static_cast<std::uint16_t>(1u << (in.take<std::uint8_t>() % 9));
  q.ready = true;
  q.desc_addr = kRamBase + (in.take<std::uint16_t>() % kRamSize & ~15ull);
  q.avail_addr = kRamBase + (in.take<std::uint16_t>() % kRamSize & ~1ull);
  q.used_addr = kRamBase + (in.take<std::uint16_t>() % kRamSize & ~3ull);
  return q;
}

struct Harness {
  Ram ram;
  std::array<virtio::QueueConfig, 2> queues{};
  std::array<std::uint16_t, 2> avail_idx{};
  std::uint64_t features = 0;
  CountingInterrupt irq;

  template <typename T>
  void put(std::uint64_t gpa, T v) {
    if (virtio::fuzz::in_ram(gpa, sizeof v)) std::memcpy(&ram.bytes[gpa - kRamBase], &v, sizeof v);
  }
  void activate(NetDevice& dev) {
    const virtio::GuestMemory mem = ram.memory();
    dev.ack_features(features);
    avail_idx = {};
    (void)dev.activate({mem, queues, features, irq});
  }
  // A one-descriptor chain the way a driver posts it.
  void post(std::uint16_t q, std::uint16_t slot, std::uint64_t gpa, std::uint32_t len, bool write) {
    const virtio::QueueConfig& c = queues[q];
    slot = static_cast<std::uint16_t>(slot % c.size);
    put<std::uint64_t>(c.desc_addr + 16ull * slot, gpa);
    put<std::uint32_t>(c.desc_addr + 16ull * slot + 8, len);
    put<std::uint16_t>(c.desc_addr + 16ull * slot + 12, write ? virtio::kDescFlagWrite : 0);
    put<std::uint16_t>(c.avail_addr + 4 + 2ull * (avail_idx[q] % c.size), slot);
    put<std::uint16_t>(c.avail_addr + 2, ++avail_idx[q]);
  }
};

// A virtio-net header with fields from the input, then an Ethernet/IPv4/TCP
// packet whose header fields are plausible but whose lengths come from it.
void write_tx_packet(Harness& h, Input& in, std::uint64_t gpa, std::uint32_t len) {
  std::array<std::byte, kNetHdrSize + 54> p{};
  NetHdr hdr;
  hdr.flags = in.take<std::uint8_t>() & 3;
  hdr.gso_type = in.take<std::uint8_t>();
  hdr.gso_size = in.take<std::uint16_t>();
  hdr.csum_start = in.take<std::uint8_t>();
  hdr.csum_offset = in.take<std::uint8_t>();
  encode_hdr(hdr, std::span<std::byte, kNetHdrSize>(p.data(), kNetHdrSize));
  std::byte* eth = p.data() + kNetHdrSize;
  eth[12] = std::byte{0x08};
  eth[14] = std::byte{static_cast<std::uint8_t>(0x45 + (in.take<std::uint8_t>() & 1))};
  const std::uint16_t ip_len = in.take<std::uint16_t>();
  eth[16] = static_cast<std::byte>(ip_len >> 8);
  eth[17] = static_cast<std::byte>(ip_len);
  eth[23] = std::byte{6};
  eth[46] = std::byte{static_cast<std::uint8_t>(in.take<std::uint8_t>() & 0xf0)};
  eth[47] = std::byte{in.take<std::uint8_t>()};
  for (std::size_t i = 0; i < p.size() && i < len; ++i) {
    if (virtio::fuzz::in_ram(gpa + i, 1)) h.ram.bytes[gpa + i - kRamBase] = p[i];
  }
}

}  // namespace

int run_virtio_net(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  NetConfig cfg;
  static constexpr std::uint16_t kMtus[] = {1500, 576, 68, 9000};
  cfg.mtu = kMtus[in.take<std::uint8_t>() % 4];
  cfg.rx_backlog_frames = in.take<std::uint8_t>() % 8;
  NetDevice dev(cfg);
  CheckingPeer peer;
  peer.max_frame = std::size_t{cfg.mtu} + kEthHeader + kVlanTag;

  Harness h;
  h.features = in.take<std::uint64_t>() & dev.device_features();
  h.queues = {queue_from(in), queue_from(in)};
  h.ram.fill(in, in.take<std::uint16_t>());
  dev.set_peer(&peer.port);
  h.activate(dev);

  std::uint64_t injected = 0;
  std::array<std::byte, 9100> frame{};
  for (int ops = 0; in.remaining() > 0 && ops < 512; ++ops) {
    switch (in.take<std::uint8_t>() % 9) {
      case 0:
        dev.queue_notify(kTxQueue);
        break;
      case 1:
        dev.queue_notify(kRxQueue);
        break;
      case 2: {
        const std::size_t len = in.take<std::uint16_t>() % frame.size();
        const std::size_t n = std::min(len, in.remaining());
        if (n > 0) std::memcpy(frame.data(), in.here(), n);
        in.skip(n);
        const vb_frame_port* port = dev.frame_port();
        injected += port->send(port->ctx, reinterpret_cast<const std::uint8_t*>(frame.data()),
                               len) == VB_OK;
        break;
      }
      case 3: {
        const std::size_t at = in.take<std::uint16_t>() % kRamSize;
        const std::size_t want = in.take<std::uint8_t>();
        const std::size_t n = std::min({want, in.remaining(), kRamSize - at});
        if (n > 0) std::memcpy(&h.ram.bytes[at], in.here(), n);
        in.skip(n);
        break;
      }
      case 4:
        dev.set_peer(in.take<std::uint8_t>() & 1 ? &peer.port : nullptr);
        break;
      case 5:
        dev.reset();
        h.activate(dev);
        break;
      case 6: {  // an rx buffer
        const std::uint64_t gpa = kRamBase + in.take<std::uint16_t>() % kRamSize;
        const auto slot = in.take<std::uint8_t>();
        const auto len = in.take<std::uint16_t>();
        h.post(kRxQueue, slot, gpa, len, true);
        break;
      }
      case 7: {  // a tx packet with a hostile header, then a notify
        const std::uint64_t gpa = kRamBase + in.take<std::uint16_t>() % kRamSize;
        const std::uint32_t len = in.take<std::uint16_t>();
        write_tx_packet(h, in, gpa, len);
        h.post(kTxQueue, in.take<std::uint8_t>(), gpa, len, false);
        dev.queue_notify(kTxQueue);
        break;
      }
      case 8:
        const auto q = in.take<std::uint8_t>() & 1;
        h.avail_idx[q] = in.take<std::uint16_t>();
        break;
    }
  }
  const NetCounters c = dev.counters();
  VB_FUZZ_CHECK(c.tx_frames == peer.frames);
  VB_FUZZ_CHECK(c.rx_frames <= injected);
  VB_FUZZ_CHECK(c.rx_bytes <= c.rx_frames * peer.max_frame);
  dev.set_peer(nullptr);
  return 0;
}

}  // namespace voidbox::net::fuzz
