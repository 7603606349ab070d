#include "voidbox/virtio/virtqueue.hpp"

#include <atomic>
#include <bit>

namespace voidbox::virtio {

// Ring fields are accessed in place with atomics, which reads them in host
// byte order; virtio 1.x rings are little-endian.
static_assert(std::endian::native == std::endian::little);

namespace {

constexpr std::uint64_t kDescSize = 16;

std::uint16_t load16(const std::byte* p) {
  return GuestMemory::load_le<std::uint16_t>(p);
}

std::uint16_t load16_acquire(const std::byte* p) {
  return __atomic_load_n(reinterpret_cast<const std::uint16_t*>(p), __ATOMIC_ACQUIRE);
}

void store16_release(std::byte* p, std::uint16_t v) {
  __atomic_store_n(reinterpret_cast<std::uint16_t*>(p), v, __ATOMIC_RELEASE);
}

struct RawDesc {
  std::uint64_t addr;
  std::uint32_t len;
  std::uint16_t flags;
  std::uint16_t next;
};

RawDesc load_desc(const std::byte* p) {
  return {GuestMemory::load_le<std::uint64_t>(p), GuestMemory::load_le<std::uint32_t>(p + 8),
          GuestMemory::load_le<std::uint16_t>(p + 12), GuestMemory::load_le<std::uint16_t>(p + 14)};
}

}  // namespace

const char* to_string(QueueError e) {
  switch (e) {
    case QueueError::kNotActive:
      return "queue not active";
    case QueueError::kBadSize:
      return "invalid queue size";
    case QueueError::kBadRing:
      return "queue ring outside guest memory or misaligned";
    case QueueError::kBadAvailIdx:
      return "avail index ran ahead of the queue size";
    case QueueError::kBadUsedId:
      return "used id out of range";
    case QueueError::kBroken:
      return "queue broken";
  }
  return "queue error";
}

Virtqueue::Virtqueue(std::uint16_t max_size)
    : max_size_(std::has_single_bit(max_size) && max_size <= kMaxQueueSize ? max_size : 256) {}

std::expected<void, QueueError> Virtqueue::activate(const GuestMemory& memory,
                                                    std::uint64_t driver_features) {
  active_ = false;
  broken_ = false;
  const std::uint64_t size = config_.size;
  if (size == 0 || size > max_size_ || !std::has_single_bit(size)) {
    return std::unexpected(QueueError::kBadSize);
  }
  if (config_.desc_addr % 16 != 0 || config_.avail_addr % 2 != 0 || config_.used_addr % 4 != 0) {
    return std::unexpected(QueueError::kBadRing);
  }
  // Sizes include the trailing event-idx words whether or not negotiated.
  auto desc = memory.slice(config_.desc_addr, kDescSize * size);
  auto avail = memory.slice(config_.avail_addr, 6 + 2 * size);
  auto used = memory.slice(config_.used_addr, 6 + 8 * size);
  if (!desc || !avail || !used) return std::unexpected(QueueError::kBadRing);
  memory_ = memory;
  desc_ = desc->data();
  avail_ = avail->data();
  used_ = used->data();
  event_idx_ = (driver_features & (1ull << 29)) != 0;
  indirect_ = (driver_features & (1ull << 28)) != 0;
  active_ = true;
  return {};
}

void Virtqueue::reset() {
  config_ = {};
  memory_ = {};
  active_ = broken_ = event_idx_ = indirect_ = false;
  desc_ = avail_ = used_ = nullptr;
  next_avail_ = next_used_ = signalled_used_ = 0;
  stats_ = {};
}

std::expected<void, QueueError> Virtqueue::fail(QueueError e) {
  broken_ = true;
  return std::unexpected(e);
}

std::uint16_t Virtqueue::load_avail_idx() const {
  return load16_acquire(avail_ + 2);
}

void Virtqueue::publish_avail_event() {
  if (!event_idx_) return;
  store16_release(used_ + 4 + 8 * std::size_t{config_.size}, next_avail_);
  // The driver must see the new avail_event before we look at avail->idx
  // again, or a notification could be suppressed while we go idle.
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

std::expected<bool, QueueError> Virtqueue::has_available() {
  if (!active_) return std::unexpected(QueueError::kNotActive);
  if (broken_) return std::unexpected(QueueError::kBroken);
  const std::uint16_t pending = load_avail_idx() - next_avail_;
  if (pending > config_.size) {
    auto r = fail(QueueError::kBadAvailIdx);
    return std::unexpected(r.error());
  }
  return pending != 0;
}

std::expected<std::optional<DescriptorChain>, QueueError> Virtqueue::pop() {
  DescriptorChain chain;
  auto popped = pop_into(chain);
  if (!popped) return std::unexpected(popped.error());
  if (!*popped) return std::optional<DescriptorChain>{};
  return std::optional<DescriptorChain>(std::move(chain));
}

std::expected<bool, QueueError> Virtqueue::pop_into(DescriptorChain& chain) {
  for (;;) {
    chain.segments_.clear();
    chain.readable_bytes_ = chain.writable_bytes_ = 0;
    auto available = has_available();
    if (!available) return std::unexpected(available.error());
    if (!*available) return false;
    const std::size_t slot = next_avail_ & (config_.size - 1u);
    const std::uint16_t head = load16(avail_ + 4 + 2 * slot);
    ++next_avail_;
    publish_avail_event();

    chain.head_ = head;
    if (walk_chain(head, chain) == Walk::kOk) {
      ++stats_.chains_popped;
      return true;
    }
    // Malformed: hand the head back so the driver is not left waiting on it.
    ++stats_.chains_dropped;
    const std::size_t used_slot = next_used_ & (config_.size - 1u);
    std::byte* elem = used_ + 4 + 8 * used_slot;
    GuestMemory::store_le<std::uint32_t>(elem, head);
    GuestMemory::store_le<std::uint32_t>(elem + 4, 0);
    ++next_used_;
    store16_release(used_ + 2, next_used_);
  }
}

void Virtqueue::undo_pop() {
  if (!active_) return;
  --next_avail_;
  publish_avail_event();
}

Virtqueue::Walk Virtqueue::push_segment(std::uint64_t gpa, std::uint32_t len, bool writable,
                                        DescriptorChain& chain) const {
  if (!writable && chain.writable_bytes_ != 0) return Walk::kMalformed;
  if (len == 0) return Walk::kOk;
  if (!memory_.contains(gpa, len)) return Walk::kMalformed;
  chain.segments_.push_back({gpa, len, writable});
  (writable ? chain.writable_bytes_ : chain.readable_bytes_) += len;
  return Walk::kOk;
}

Virtqueue::Walk Virtqueue::walk_indirect(std::uint64_t table, std::uint32_t len,
                                         DescriptorChain& chain) const {
  if (len == 0 || len % kDescSize != 0) return Walk::kMalformed;
  const std::uint32_t entries = len / kDescSize;
  if (entries > kMaxIndirectEntries) return Walk::kMalformed;
  if (table % 16 != 0) return Walk::kMalformed;
  auto view = memory_.slice(table, len);
  if (!view) return Walk::kMalformed;
  std::uint32_t index = 0;
  for (std::uint32_t steps = 0;; ++steps) {
    if (index >= entries || steps >= entries) return Walk::kMalformed;
    const RawDesc d = load_desc(view->data() + kDescSize * index);
    if (d.flags & kDescFlagIndirect) return Walk::kMalformed;
    if (push_segment(d.addr, d.len, (d.flags & kDescFlagWrite) != 0, chain) != Walk::kOk) {
      return Walk::kMalformed;
    }
    if (!(d.flags & kDescFlagNext)) return Walk::kOk;
    index = d.next;
  }
}

Virtqueue::Walk Virtqueue::walk_chain(std::uint16_t head, DescriptorChain& chain) const {
  const std::uint32_t size = config_.size;
  std::uint32_t index = head;
  for (std::uint32_t steps = 0;; ++steps) {
    if (index >= size || steps >= size) return Walk::kMalformed;
    const RawDesc d = load_desc(desc_ + kDescSize * index);
    if (d.flags & kDescFlagIndirect) {
      if (!indirect_ || (d.flags & kDescFlagNext)) return Walk::kMalformed;
      return walk_indirect(d.addr, d.len, chain);
    }
    if (push_segment(d.addr, d.len, (d.flags & kDescFlagWrite) != 0, chain) != Walk::kOk) {
      return Walk::kMalformed;
    }
    if (!(d.flags & kDescFlagNext)) return Walk::kOk;
    index = d.next;
  }
}

std::expected<void, QueueError> Virtqueue::add_used(std::uint16_t head, std::uint32_t len) {
  if (!active_) return std::unexpected(QueueError::kNotActive);
  if (broken_) return std::unexpected(QueueError::kBroken);
  if (head >= config_.size) return std::unexpected(QueueError::kBadUsedId);
  const std::size_t slot = next_used_ & (config_.size - 1u);
  std::byte* elem = used_ + 4 + 8 * slot;
  GuestMemory::store_le<std::uint32_t>(elem, head);
  GuestMemory::store_le<std::uint32_t>(elem + 4, len);
  ++next_used_;
  // Release: the element (and the buffer contents) before the index.
  store16_release(used_ + 2, next_used_);
  return {};
}

bool Virtqueue::needs_notification() {
  if (!active_ || broken_) return false;
  // Our used->idx store must be visible before we read the driver's wishes.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const std::uint16_t new_used = next_used_;
  const std::uint16_t old_used = signalled_used_;
  signalled_used_ = new_used;
  if (event_idx_) {
    const std::uint16_t used_event = load16(avail_ + 4 + 2 * std::size_t{config_.size});
    return static_cast<std::uint16_t>(new_used - used_event - 1) <
           static_cast<std::uint16_t>(new_used - old_used);
  }
  if (new_used == old_used) return false;
  return (load16(avail_) & kAvailFlagNoInterrupt) == 0;
}

QueueState Virtqueue::save() const {
  return {config_,         max_size_,  next_avail_, next_used_,
          signalled_used_, event_idx_, indirect_,   broken_};
}

std::expected<void, QueueError> Virtqueue::restore(const GuestMemory& memory,
                                                   const QueueState& state) {
  reset();
  config_ = state.config;
  std::uint64_t features = 0;
  if (state.event_idx) features |= 1ull << 29;
  if (state.indirect) features |= 1ull << 28;
  auto r = activate(memory, features);
  if (!r) return r;
  next_avail_ = state.next_avail;
  next_used_ = state.next_used;
  signalled_used_ = state.signalled_used;
  broken_ = state.broken;
  return {};
}

ChainReader::ChainReader(const GuestMemory& memory, const DescriptorChain& chain)
    : memory_(memory), segments_(chain.segments()), remaining_(chain.readable_bytes()) {}

std::size_t ChainReader::read(std::span<std::byte> out) {
  std::size_t done = 0;
  while (done < out.size() && index_ < segments_.size() && !segments_[index_].writable) {
    const Segment& s = segments_[index_];
    const std::size_t n = std::min<std::size_t>(s.len - offset_, out.size() - done);
    if (!memory_.read(s.gpa + offset_, out.subspan(done, n))) break;
    done += n;
    offset_ += static_cast<std::uint32_t>(n);
    remaining_ -= n;
    if (offset_ == s.len) {
      ++index_;
      offset_ = 0;
    }
  }
  return done;
}

std::size_t ChainReader::skip(std::size_t n) {
  std::size_t done = 0;
  while (done < n && index_ < segments_.size() && !segments_[index_].writable) {
    const Segment& s = segments_[index_];
    const std::size_t step = std::min<std::size_t>(s.len - offset_, n - done);
    done += step;
    offset_ += static_cast<std::uint32_t>(step);
    remaining_ -= step;
    if (offset_ == s.len) {
      ++index_;
      offset_ = 0;
    }
  }
  return done;
}

ChainWriter::ChainWriter(const GuestMemory& memory, const DescriptorChain& chain)
    : memory_(memory), segments_(chain.segments()), remaining_(chain.writable_bytes()) {
  while (index_ < segments_.size() && !segments_[index_].writable) ++index_;
}

std::size_t ChainWriter::write(std::span<const std::byte> in) {
  std::size_t done = 0;
  while (done < in.size() && index_ < segments_.size()) {
    const Segment& s = segments_[index_];
    const std::size_t n = std::min<std::size_t>(s.len - offset_, in.size() - done);
    if (!memory_.write(s.gpa + offset_, in.subspan(done, n))) break;
    done += n;
    offset_ += static_cast<std::uint32_t>(n);
    remaining_ -= n;
    written_ += n;
    if (offset_ == s.len) {
      ++index_;
      offset_ = 0;
    }
  }
  return done;
}

}  // namespace voidbox::virtio
