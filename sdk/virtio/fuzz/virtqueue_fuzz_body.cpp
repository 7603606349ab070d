#include "virtqueue_fuzz_body.hpp"

#include <array>

#include "fuzz_support.hpp"
#include "voidbox/virtio/virtqueue.hpp"

namespace voidbox::virtio::fuzz {

namespace {

// Ring addresses as small offsets so the fuzzer hits RAM often, with an
// escape to arbitrary 64-bit values.
std::uint64_t address(Input& in) {
  const std::uint16_t sel = in.take<std::uint16_t>();
  if (sel == 0xffff) return in.take<std::uint64_t>();
  return kRamBase + sel;
}

bool same_state(const QueueState& a, const QueueState& b) {
  return a.config.size == b.config.size && a.config.desc_addr == b.config.desc_addr &&
         a.config.avail_addr == b.config.avail_addr && a.config.used_addr == b.config.used_addr &&
         a.max_size == b.max_size && a.next_avail == b.next_avail && a.next_used == b.next_used &&
         a.signalled_used == b.signalled_used && a.event_idx == b.event_idx &&
         a.indirect == b.indirect && a.broken == b.broken;
}

// An active queue's rings lie inside guest memory, at a valid size.
void check_active_config(const Virtqueue& q) {
  const QueueConfig& c = q.config();
  VB_FUZZ_CHECK(c.size != 0 && (c.size & (c.size - 1)) == 0 && c.size <= q.max_size());
  VB_FUZZ_CHECK(in_ram(c.desc_addr, 16ull * c.size));
  VB_FUZZ_CHECK(in_ram(c.avail_addr, 4 + 2ull * c.size));
  VB_FUZZ_CHECK(in_ram(c.used_addr, 4 + 8ull * c.size));
}

void exercise_chain(Virtqueue& q, const Ram& ram, const DescriptorChain& chain, Input& in) {
  const QueueConfig& c = q.config();
  check_chain(chain, c.size);
  std::array<std::byte, 512> buf{};
  ChainReader reader(q.memory(), chain);
  std::uint64_t read = 0;
  for (std::size_t n; (n = reader.read(buf)) > 0;) read += n;
  VB_FUZZ_CHECK(read == chain.readable_bytes());
  ChainWriter writer(q.memory(), chain);
  const std::size_t n = in.take<std::uint16_t>() % 2048;
  std::size_t done = 0;
  while (done < n) {
    const std::size_t step = std::min(buf.size(), n - done);
    if (writer.write(std::span(buf.data(), step)) == 0) break;
    done += step;
  }
  VB_FUZZ_CHECK(writer.written() <= chain.writable_bytes() && writer.written() <= n);
  const auto len = static_cast<std::uint32_t>(writer.written());
  // A chain the queue handed out can always be returned, and the used ring
  // then holds exactly it, with the index advanced by one.
  VB_FUZZ_CHECK(q.add_used(chain.head(), len).has_value());
  const QueueState s = q.save();
  VB_FUZZ_CHECK(ram.load<std::uint16_t>(c.used_addr + 2) == s.next_used);
  const std::uint64_t elem = c.used_addr + 4 + 8ull * ((s.next_used - 1u) & (c.size - 1u));
  VB_FUZZ_CHECK(ram.load<std::uint32_t>(elem) == chain.head());
  VB_FUZZ_CHECK(ram.load<std::uint32_t>(elem + 4) == len);
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
  if (!q.activate(memory, features)) {
    VB_FUZZ_CHECK(!q.active());
    return 0;
  }
  check_active_config(q);
  for (int round = 0; round < 64 && in.remaining() > 0; ++round) {
    // The guest rewrites part of its memory between notifications.
    const std::uint16_t offset = in.take<std::uint16_t>();
    const std::uint8_t len = in.take<std::uint8_t>();
    for (std::size_t i = 0; i < len && in.remaining() > 0; ++i) {
      ram.bytes[(offset + i) % kRamSize] = std::byte{in.take<std::uint8_t>()};
    }
    for (int pops = 0; pops < 64; ++pops) {
      auto popped = q.pop();
      if (!popped) {
        VB_FUZZ_CHECK(q.broken());
        break;
      }
      if (!*popped) break;
      exercise_chain(q, ram, **popped, in);
    }
    // Every chain taken went back (malformed ones by the queue itself).
    const QueueState s = q.save();
    VB_FUZZ_CHECK(s.next_avail == s.next_used);
    (void)q.needs_notification();
    if (in.take<std::uint8_t>() == 0xa5) {
      // The same memory and a state it produced: restoring must succeed and
      // give that state back.
      const QueueState saved = q.save();
      VB_FUZZ_CHECK(q.restore(memory, saved).has_value());
      VB_FUZZ_CHECK(same_state(q.save(), saved));
      check_active_config(q);
    }
  }
  q.reset();
  VB_FUZZ_CHECK(!q.active() && !q.broken() && q.config().size == 0);
  auto after = q.pop();
  VB_FUZZ_CHECK(!after && after.error() == QueueError::kNotActive);
  auto used = q.add_used(0, 0);
  VB_FUZZ_CHECK(!used && used.error() == QueueError::kNotActive);
  VB_FUZZ_CHECK(!q.needs_notification());
  return 0;
}

}  // namespace voidbox::virtio::fuzz
