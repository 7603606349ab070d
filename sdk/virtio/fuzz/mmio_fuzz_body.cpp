#include <algorithm>
#include <array>
#include <cstring>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "virtqueue_fuzz_body.hpp"
#include "voidbox/virtio/mmio_transport.hpp"

namespace voidbox::virtio::fuzz {

namespace {

// A two-queue device that echoes readable bytes into writable ones, and
// checks what the transport may hand it: config accesses inside its config
// space, notifications only for queues it activated, valid chains.
class EchoDevice final : public Device {
 public:
  std::uint32_t device_type() const override { return 0x7f; }
  std::span<const std::uint16_t> queue_max_sizes() const override { return sizes_; }
  std::uint64_t device_features() const override {
    return kFeatureVersion1 | kFeatureEventIdx | kFeatureIndirectDesc;
  }
  void ack_features(std::uint64_t) override {}
  std::uint32_t config_size() const override { return 16; }
  void read_config(std::uint32_t offset, std::span<std::byte> out) const override {
    VB_FUZZ_CHECK(offset <= config_.size() && out.size() <= config_.size() - offset);
    std::memcpy(out.data(), config_.data() + offset, out.size());
  }
  void write_config(std::uint32_t offset, std::span<const std::byte> in) override {
    VB_FUZZ_CHECK(offset <= config_.size() && in.size() <= config_.size() - offset);
    std::memcpy(config_.data() + offset, in.data(), in.size());
  }
  std::expected<void, std::string> activate(const ActivateParams& p) override {
    queues_.clear();
    VB_FUZZ_CHECK(p.queues.size() == sizes_.size());
    for (std::size_t i = 0; i < p.queues.size(); ++i) {
      Virtqueue q(sizes_[i]);
      q.set_config(p.queues[i]);
      if (!q.activate(p.memory, p.driver_features)) {
        queues_.clear();
        return std::unexpected(std::string("queue"));
      }
      queues_.push_back(std::move(q));
    }
    irq_ = &p.interrupt;
    return {};
  }
  void queue_notify(std::uint16_t index) override {
    VB_FUZZ_CHECK(index < queues_.size() && irq_ != nullptr);
    Virtqueue& q = queues_[index];
    for (int i = 0; i < 64; ++i) {
      auto popped = q.pop();
      if (!popped) return irq_->signal_needs_reset();
      if (!*popped) break;
      const DescriptorChain& chain = **popped;
      check_chain(chain, q.config().size);
      std::array<std::byte, 256> buf{};
      ChainReader r(q.memory(), chain);
      ChainWriter w(q.memory(), chain);
      const std::size_t n = r.read(buf);
      w.write(std::span(buf.data(), n));
      VB_FUZZ_CHECK(w.written() <= n && w.written() <= chain.writable_bytes());
      VB_FUZZ_CHECK(q.add_used(chain.head(), static_cast<std::uint32_t>(w.written())));
    }
    if (q.needs_notification()) irq_->signal_used_queue(index);
  }
  void reset() override {
    queues_.clear();
    irq_ = nullptr;
  }
  bool active() const { return !queues_.empty(); }

 private:
  std::array<std::uint16_t, 2> sizes_{64, 8};
  std::array<std::byte, 16> config_{};
  std::vector<Virtqueue> queues_;
  Interrupt* irq_ = nullptr;
};

std::uint32_t read32(MmioTransport& t, std::uint64_t offset) {
  std::array<std::byte, 4> b{};
  t.read(offset, b);
  std::uint32_t v;
  std::memcpy(&v, b.data(), 4);
  return v;
}

void write32(MmioTransport& t, std::uint64_t offset, std::uint32_t v) {
  std::array<std::byte, 4> b{};
  std::memcpy(b.data(), &v, 4);
  t.write(offset, b);
}

// After the driver writes status 0 the device is back to its power-on state.
void check_reset(MmioTransport& t, const EchoDevice& device) {
  VB_FUZZ_CHECK(t.status() == 0 && !t.activated() && t.interrupt_status() == 0);
  VB_FUZZ_CHECK(!device.active());
  for (std::uint32_t sel : {1u, 0u}) {
    write32(t, kMmioQueueSel, sel);
    VB_FUZZ_CHECK(read32(t, kMmioQueueReady) == 0 && read32(t, kMmioQueueNum) == 0);
    VB_FUZZ_CHECK(read32(t, kMmioQueueDescLow) == 0 && read32(t, kMmioQueueAvailLow) == 0 &&
                  read32(t, kMmioQueueUsedLow) == 0);
  }
}

}  // namespace

int run_mmio(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  Ram ram;
  ram.fill(in, in.take<std::uint16_t>());
  auto owned = std::make_unique<EchoDevice>();
  const EchoDevice& device = *owned;
  MmioTransport t(std::move(owned), ram.memory(), {[] {}, [] {}});
  for (int op = 0; op < 512 && in.remaining() > 0; ++op) {
    const std::uint8_t kind = in.take<std::uint8_t>();
    const std::uint64_t offset = in.take<std::uint16_t>() % 0x200;
    const std::size_t width = std::size_t{1} << (kind >> 6);  // 1, 2, 4, 8
    std::array<std::byte, 8> buf{};
    if (kind & 1) {
      const std::uint64_t v = in.take<std::uint64_t>();
      std::memcpy(buf.data(), &v, 8);
      t.write(offset, std::span(buf.data(), width));
      if (offset == kMmioStatus && width == 4 && static_cast<std::uint32_t>(v) == 0) {
        check_reset(t, device);
      }
    } else {
      t.read(offset, std::span(buf.data(), width));
      std::uint32_t v = 0;
      std::memcpy(&v, buf.data(), 4);
      if (offset < kMmioConfig && (width != 4 || offset % 4 != 0)) {
        // Registers are 32-bit and aligned; anything else reads as zeros.
        VB_FUZZ_CHECK(
            std::all_of(buf.begin(), buf.end(), [](std::byte b) { return b == std::byte{0}; }));
      } else if (offset == kMmioMagic) {
        VB_FUZZ_CHECK(v == kMmioMagicValue);
      } else if (offset == kMmioVersion) {
        VB_FUZZ_CHECK(v == 2);
      } else if (offset == kMmioVendorId) {
        VB_FUZZ_CHECK(v == kMmioVendorValue);
      }
    }
    if (kind & 2) t.handle_notify(in.take<std::uint8_t>() % 4);
    // Live only after a successful activation, and only with DRIVER_OK.
    if (t.activated()) {
      VB_FUZZ_CHECK((t.status() & kStatusDriverOk) && (t.status() & kStatusFeaturesOk));
      VB_FUZZ_CHECK(device.active());
    }
  }
  return 0;
}

}  // namespace voidbox::virtio::fuzz
