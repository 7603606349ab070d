#include "virtqueue_fuzz_body.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <vector>

#include "voidbox/virtio/mmio_transport.hpp"
#include "voidbox/virtio/virtqueue.hpp"

namespace voidbox::virtio::fuzz {

namespace {

constexpr std::size_t kRamSize = 64 * 1024;
constexpr std::uint64_t kRamBase = 0x10000;

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  template <typename T>
  T take() {
    T v{};
    const std::size_t n = std::min(sizeof(T), size_ - pos_);
    std::memcpy(&v, data_ + pos_, n);
    pos_ += n;
    return v;
  }
  std::size_t remaining() const { return size_ - pos_; }
  const std::uint8_t* here() const { return data_ + pos_; }
  void skip(std::size_t n) { pos_ += std::min(n, remaining()); }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

struct Ram {
  std::vector<std::byte> bytes = std::vector<std::byte>(kRamSize);
  GuestMemory memory() {
    MemoryRegion r{kRamBase, kRamSize, bytes.data()};
    return GuestMemory(std::span<const MemoryRegion>(&r, 1));
  }
  // Fills RAM from the input (what the guest wrote before notifying).
  void fill(Input& in, std::size_t n) {
    n = std::min({n, in.remaining(), kRamSize});
    std::memcpy(bytes.data(), in.here(), n);
    in.skip(n);
  }
};

// Ring addresses as small offsets so the fuzzer hits RAM often, with an
// escape to arbitrary 64-bit values.
std::uint64_t address(Input& in) {
  const std::uint16_t sel = in.take<std::uint16_t>();
  if (sel == 0xffff) return in.take<std::uint64_t>();
  return kRamBase + sel;
}

void exercise_chain(Virtqueue& q, const DescriptorChain& chain, Input& in) {
  std::array<std::byte, 512> buf{};
  ChainReader reader(q.memory(), chain);
  while (reader.read(buf) == buf.size()) {
  }
  ChainWriter writer(q.memory(), chain);
  const std::size_t n = in.take<std::uint16_t>() % 2048;
  std::size_t done = 0;
  while (done < n) {
    const std::size_t step = std::min(buf.size(), n - done);
    if (writer.write(std::span(buf.data(), step)) == 0) break;
    done += step;
  }
  (void)q.add_used(chain.head(), static_cast<std::uint32_t>(writer.written()));
}

}  // namespace

int run_virtqueue(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  Ram ram;
  QueueConfig c;
  c.size = in.take<std::uint16_t>();
  c.desc_addr = address(in);
  c.avail_addr = address(in);
  c.used_addr = address(in);
  const std::uint8_t flags = in.take<std::uint8_t>();
  std::uint64_t features = 0;
  if (flags & 1) features |= 1ull << 29;
  if (flags & 2) features |= 1ull << 28;
  const std::uint16_t max = static_cast<std::uint16_t>(1u << (in.take<std::uint8_t>() % 16));
  ram.fill(in, in.take<std::uint16_t>());
  GuestMemory memory = ram.memory();

  Virtqueue q(max);
  q.set_config(c);
  if (!q.activate(memory, features)) return 0;
  for (int round = 0; round < 64 && in.remaining() > 0; ++round) {
    // The guest rewrites part of its memory between notifications.
    const std::uint16_t offset = in.take<std::uint16_t>();
    const std::uint8_t len = in.take<std::uint8_t>();
    for (std::size_t i = 0; i < len && in.remaining() > 0; ++i) {
      ram.bytes[(offset + i) % kRamSize] = std::byte{in.take<std::uint8_t>()};
    }
    for (int pops = 0; pops < 64; ++pops) {
      auto popped = q.pop();
      if (!popped || !*popped) break;
      exercise_chain(q, **popped, in);
    }
    (void)q.needs_notification();
    if (in.take<std::uint8_t>() == 0xa5) {
      QueueState s = q.save();
      (void)q.restore(memory, s);
    }
  }
  return 0;
}

namespace {

// A two-queue device that echoes readable bytes into writable ones.
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
    std::memcpy(out.data(), config_.data() + offset, out.size());
  }
  void write_config(std::uint32_t offset, std::span<const std::byte> in) override {
    std::memcpy(config_.data() + offset, in.data(), in.size());
  }
  std::expected<void, std::string> activate(const ActivateParams& p) override {
    queues_.clear();
    for (std::size_t i = 0; i < p.queues.size(); ++i) {
      Virtqueue q(sizes_[i]);
      q.set_config(p.queues[i]);
      if (!q.activate(p.memory, p.driver_features)) return std::unexpected(std::string("queue"));
      queues_.push_back(std::move(q));
    }
    irq_ = &p.interrupt;
    return {};
  }
  void queue_notify(std::uint16_t index) override {
    Virtqueue& q = queues_.at(index);
    for (int i = 0; i < 64; ++i) {
      auto popped = q.pop();
      if (!popped) return irq_->signal_needs_reset();
      if (!*popped) break;
      std::array<std::byte, 256> buf{};
      ChainReader r(q.memory(), **popped);
      ChainWriter w(q.memory(), **popped);
      const std::size_t n = r.read(buf);
      w.write(std::span(buf.data(), n));
      (void)q.add_used((**popped).head(), static_cast<std::uint32_t>(w.written()));
    }
    if (q.needs_notification()) irq_->signal_used_queue(index);
  }
  void reset() override {
    queues_.clear();
    irq_ = nullptr;
  }

 private:
  std::array<std::uint16_t, 2> sizes_{64, 8};
  std::array<std::byte, 16> config_{};
  std::vector<Virtqueue> queues_;
  Interrupt* irq_ = nullptr;
};

}  // namespace

int run_mmio(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  Ram ram;
  ram.fill(in, in.take<std::uint16_t>());
  MmioTransport t(std::make_unique<EchoDevice>(), ram.memory(), {[] {}, [] {}});
  for (int op = 0; op < 512 && in.remaining() > 0; ++op) {
    const std::uint8_t kind = in.take<std::uint8_t>();
    const std::uint64_t offset = in.take<std::uint16_t>() % 0x200;
    const std::size_t width = std::size_t{1} << (kind >> 6);  // 1, 2, 4, 8
    std::array<std::byte, 8> buf{};
    if (kind & 1) {
      const std::uint64_t v = in.take<std::uint64_t>();
      std::memcpy(buf.data(), &v, 8);
      t.write(offset, std::span(buf.data(), width));
    } else {
      t.read(offset, std::span(buf.data(), width));
    }
    if (kind & 2) t.handle_notify(in.take<std::uint8_t>() % 4);
  }
  return 0;
}

}  // namespace voidbox::virtio::fuzz
